//! The embedded default: one SQLite file (WAL, `synchronous=FULL`), one
//! connection used from blocking tasks. SQLite has one writer at a time, so
//! counters taken inside a write transaction are in commit order.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use hearth_protocol::{Envelope, Receipt};
use rusqlite::{Connection, OptionalExtension, Row, Transaction, TransactionBehavior, params};

use super::*;

const MIGRATIONS: &[&str] = &[
    include_str!("../../../../migrations/server/sqlite/0001_init.sql"),
    include_str!("../../../../migrations/server/sqlite/0002_review.sql"),
    include_str!("../../../../migrations/server/sqlite/0003_blob_ref.sql"),
    include_str!("../../../../migrations/server/sqlite/0004_rule_set_version.sql"),
    include_str!("../../../../migrations/server/sqlite/0005_operator_accounts.sql"),
    include_str!("../../../../migrations/server/sqlite/0006_revocation.sql"),
    include_str!("../../../../migrations/server/sqlite/0007_record_search.sql"),
    include_str!("../../../../migrations/server/sqlite/0008_work_order_board.sql"),
    include_str!("../../../../migrations/server/sqlite/0009_audit_before_after.sql"),
    include_str!("../../../../migrations/server/sqlite/0010_board_search.sql"),
];

#[derive(Debug, Clone)]
pub struct SqliteStorage {
    conn: Arc<Mutex<Connection>>,
}

fn backend(e: impl std::fmt::Display) -> StorageError {
    StorageError::Backend(e.to_string())
}

fn from_sqlite(e: rusqlite::Error) -> StorageError {
    match &e {
        rusqlite::Error::SqliteFailure(f, msg) if f.code == rusqlite::ErrorCode::ConstraintViolation => {
            StorageError::Exists(msg.clone().unwrap_or_else(|| "constraint".into()))
        }
        _ => backend(e),
    }
}

fn u(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

fn i(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn key32(bytes: Vec<u8>) -> rusqlite::Result<[u8; 32]> {
    bytes.try_into().map_err(|_| rusqlite::Error::InvalidQuery)
}

fn json_col<T: serde::de::DeserializeOwned>(row: &Row<'_>, idx: usize) -> rusqlite::Result<T> {
    let text: String = row.get(idx)?;
    serde_json::from_str(&text)
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(idx, rusqlite::types::Type::Text, Box::new(e)))
}

fn to_json<T: serde::Serialize>(value: &T) -> StorageResult<String> {
    serde_json::to_string(value).map_err(backend)
}

const ENTRY_COLUMNS: &str = "device_id, seq, record_id, entry_hash, content_hash, schema, work_order_id, envelope, \
     receipt, receipt_sig, flags, boot_id, device_time_ms, monotonic_ms";

fn entry_row(row: &Row<'_>) -> rusqlite::Result<StoredEntry> {
    Ok(StoredEntry {
        device_id: row.get(0)?,
        seq: u(row.get(1)?),
        record_id: row.get(2)?,
        entry_hash: row.get(3)?,
        content_hash: row.get(4)?,
        schema: row.get(5)?,
        work_order_id: row.get(6)?,
        envelope: json_col::<Envelope>(row, 7)?,
        receipt: json_col::<Receipt>(row, 8)?,
        receipt_sig: row.get(9)?,
        flags: json_col(row, 10)?,
        boot_id: row.get(11)?,
        device_time_ms: row.get(12)?,
        monotonic_ms: row.get(13)?,
    })
}

fn device_row(row: &Row<'_>) -> rusqlite::Result<DeviceRow> {
    Ok(DeviceRow {
        device_id: row.get(0)?,
        name: row.get(1)?,
        public_key: key32(row.get(2)?)?,
        kid: row.get(3)?,
        enrolled_at_ms: row.get(4)?,
        revoked_at_ms: row.get(5)?,
    })
}

fn tech_key_row(row: &Row<'_>) -> rusqlite::Result<TechnicianKeyRow> {
    Ok(TechnicianKeyRow {
        kid: row.get(0)?,
        tech_id: row.get(1)?,
        device_id: row.get(2)?,
        public_key: key32(row.get(3)?)?,
        bound_at_ms: row.get(4)?,
        revoked_at_ms: row.get(5)?,
    })
}

fn snapshot_row(row: &Row<'_>, at: usize) -> rusqlite::Result<Snapshot> {
    let kind: String = row.get(at)?;
    Ok(Snapshot {
        kind: SnapshotKind::parse(&kind).ok_or(rusqlite::Error::InvalidQuery)?,
        id: row.get(at + 1)?,
        rev: u(row.get(at + 2)?),
        body: json_col(row, at + 3)?,
        scope: json_col(row, at + 4)?,
        updated_at_ms: row.get(at + 5)?,
    })
}

/// Takes the next value of a counter inside the caller's transaction.
fn next(tx: &Transaction<'_>, counter: &str) -> rusqlite::Result<u64> {
    tx.query_row("UPDATE counter SET value = value + 1 WHERE name = ?1 RETURNING value", [counter], |r| {
        r.get(0)
    })
    .map(u)
}

/// Consumes a one-time code of the given purpose, or says it is rejected.
fn consume_code(
    tx: &Transaction<'_>,
    code_hash: &str,
    purpose: &str,
    tech_id: Option<&str>,
    now_ms: i64,
) -> StorageResult<()> {
    let n = tx
        .execute(
            "UPDATE enrol_code SET used_at_ms = ?2
             WHERE code_hash = ?1 AND used_at_ms IS NULL AND expires_at_ms > ?2 AND purpose = ?3
               AND (?4 IS NULL OR tech_id = ?4)",
            params![code_hash, now_ms, purpose, tech_id],
        )
        .map_err(from_sqlite)?;
    if n == 1 { Ok(()) } else { Err(StorageError::CodeRejected) }
}

fn current_rev(tx: &Transaction<'_>, kind: &str, id: &str) -> StorageResult<u64> {
    let current: Option<i64> = tx
        .query_row("SELECT rev FROM snapshot WHERE kind = ?1 AND id = ?2", params![kind, id], |r| r.get(0))
        .optional()
        .map_err(backend)?;
    Ok(current.map(u).unwrap_or(0))
}

/// Writes a snapshot, bumps its rev and moves it to the feed's end, inside the caller's transaction.
fn write_snapshot(tx: &Transaction<'_>, put: PutSnapshot) -> StorageResult<Snapshot> {
    let kind = put.kind.as_str();
    let current = current_rev(tx, kind, &put.id)?;
    if let Some(expected) = put.expected_rev
        && expected != current
    {
        return Err(StorageError::StaleRevision { current });
    }
    let rev = current + 1;
    let body = to_json(&put.body)?;
    let scope = to_json(&put.scope)?;
    tx.execute(
        "INSERT INTO snapshot (kind, id, rev, body, scope, updated_at_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (kind, id) DO UPDATE SET rev = excluded.rev, body = excluded.body,
             scope = excluded.scope, updated_at_ms = excluded.updated_at_ms",
        params![kind, put.id, i(rev), body, scope, put.now_ms],
    )
    .map_err(from_sqlite)?;
    let feed_seq = next(tx, "feed_seq").map_err(backend)?;
    tx.execute("DELETE FROM feed WHERE kind = ?1 AND id = ?2", params![kind, put.id]).map_err(backend)?;
    tx.execute(
        "INSERT INTO feed (feed_seq, kind, id) VALUES (?1, ?2, ?3)",
        params![i(feed_seq), kind, put.id],
    )
    .map_err(from_sqlite)?;
    Ok(Snapshot {
        kind: put.kind,
        id: put.id,
        rev,
        body: put.body,
        scope: put.scope,
        updated_at_ms: put.now_ms,
    })
}

fn insert_conflict(tx: &Transaction<'_>, conflict: &NewConflict) -> StorageResult<()> {
    tx.execute(
        "INSERT INTO conflict (device_id, seq, kind, envelope, received_at_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            conflict.device_id,
            i(conflict.seq),
            conflict.kind,
            to_json(&conflict.envelope)?,
            conflict.received_at_ms
        ],
    )
    .map_err(from_sqlite)?;
    Ok(())
}

/// Takes the next server_seq, signs the receipt and inserts one entry.
fn insert_entry(tx: &Transaction<'_>, entry: NewEntry, sign: &ReceiptSigner) -> StorageResult<StoredEntry> {
    let server_seq = next(tx, "server_seq").map_err(backend)?;
    let (receipt, receipt_sig) = entry.signed_receipt(server_seq, sign)?;
    tx.prepare_cached(
        "INSERT INTO entry (device_id, seq, server_seq, record_id, entry_hash, content_hash, schema, work_order_id,
                            envelope, receipt, receipt_sig, flags, boot_id, device_time_ms, monotonic_ms, received_at_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
    )
    .map_err(backend)?
    .execute(params![
        entry.device_id,
        i(entry.seq),
        i(server_seq),
        entry.record_id,
        entry.entry_hash,
        entry.content_hash,
        entry.schema,
        entry.work_order_id,
        to_json(&entry.envelope)?,
        to_json(&receipt)?,
        receipt_sig,
        to_json(&entry.flags)?,
        entry.boot_id,
        entry.device_time_ms,
        entry.monotonic_ms,
        entry.received_at_ms,
    ])
    .map_err(from_sqlite)?;
    Ok(entry.stored(receipt, receipt_sig))
}

impl SqliteStorage {
    /// Opens (creating if needed) the database at `path` and migrates it.
    pub fn open(path: &Path) -> StorageResult<Self> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(backend)?;
        }
        // The database holds customers' names, phones and addresses: readable
        // by the server's user alone from its first byte (SQLite gives its
        // -wal and -shm files the same mode).
        if !path.exists() {
            use std::os::unix::fs::OpenOptionsExt;
            match std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path) {
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(backend(format!("creating {}: {e}", path.display()))),
            }
        }
        let mut conn = Connection::open(path).map_err(backend)?;
        conn.busy_timeout(Duration::from_secs(10)).map_err(backend)?;
        conn.query_row("PRAGMA journal_mode=WAL", [], |_| Ok(())).map_err(backend)?;
        conn.pragma_update(None, "synchronous", "FULL").map_err(backend)?;
        conn.pragma_update(None, "foreign_keys", true).map_err(backend)?;
        let applied: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).map_err(backend)?;
        let applied = usize::try_from(applied).unwrap_or(0);
        if applied > MIGRATIONS.len() {
            return Err(StorageError::Backend(format!(
                "the database has {applied} migrations; this server knows {}",
                MIGRATIONS.len()
            )));
        }
        for (n, sql) in MIGRATIONS.iter().enumerate().skip(applied) {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(backend)?;
            tx.execute_batch(sql).map_err(backend)?;
            tx.pragma_update(None, "user_version", (n + 1) as i64).map_err(backend)?;
            tx.commit().map_err(backend)?;
        }
        Ok(Self { conn: Arc::new(Mutex::new(conn)) })
    }

    async fn run<T, F>(&self, f: F) -> StorageResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> StorageResult<T> + Send + 'static,
    {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard =
                conn.lock().map_err(|_| StorageError::Backend("connection lock poisoned".into()))?;
            f(&mut guard)
        })
        .await
        .map_err(backend)?
    }
}

#[async_trait]
impl Storage for SqliteStorage {
    async fn server_secret(&self, fresh: [u8; 32]) -> StorageResult<[u8; 32]> {
        self.run(move |c| {
            c.execute(
                "INSERT OR IGNORE INTO meta (key, value) VALUES ('server_secret', ?1)",
                [hex::encode(fresh)],
            )
            .map_err(backend)?;
            let text: String = c
                .query_row("SELECT value FROM meta WHERE key = 'server_secret'", [], |r| r.get(0))
                .map_err(backend)?;
            let mut out = [0u8; 32];
            hex::decode_to_slice(text, &mut out).map_err(backend)?;
            Ok(out)
        })
        .await
    }

    async fn stored_server_secret(&self) -> StorageResult<Option<[u8; 32]>> {
        self.run(move |c| {
            let text: Option<String> = c
                .query_row("SELECT value FROM meta WHERE key = 'server_secret'", [], |r| r.get(0))
                .optional()
                .map_err(backend)?;
            text.map(|t| {
                let mut out = [0u8; 32];
                hex::decode_to_slice(t, &mut out).map_err(backend)?;
                Ok(out)
            })
            .transpose()
        })
        .await
    }

    async fn database_epoch(&self, fresh: String) -> StorageResult<String> {
        self.run(move |c| {
            c.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('epoch', ?1)", [fresh])
                .map_err(backend)?;
            c.query_row("SELECT value FROM meta WHERE key = 'epoch'", [], |r| r.get(0)).map_err(backend)
        })
        .await
    }

    async fn add_named_operator_token(&self, token_hash: &str, name: &str, now_ms: i64) -> StorageResult<()> {
        let (token_hash, name) = (token_hash.to_owned(), name.to_owned());
        self.run(move |c| {
            c.execute(
                "INSERT INTO operator_token (token_hash, name, created_at_ms) VALUES (?1, ?2, ?3)",
                params![token_hash, name, now_ms],
            )
            .map_err(from_sqlite)?;
            Ok(())
        })
        .await
    }

    async fn operator_name(&self, token_hash: &str) -> StorageResult<Option<String>> {
        let token_hash = token_hash.to_owned();
        self.run(move |c| {
            c.query_row("SELECT name FROM operator_token WHERE token_hash = ?1", [token_hash], |r| r.get(0))
                .optional()
                .map_err(backend)
        })
        .await
    }

    async fn add_enrol_code(&self, code: NewEnrolCode) -> StorageResult<()> {
        self.run(move |c| {
            let (purpose, tech_id) = match &code.purpose {
                CodePurpose::Device => ("device", None),
                CodePurpose::Technician { tech_id } => ("technician", Some(tech_id.clone())),
            };
            c.execute(
                "INSERT INTO enrol_code (code_hash, purpose, tech_id, created_at_ms, expires_at_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![code.code_hash, purpose, tech_id, code.created_at_ms, code.expires_at_ms],
            )
            .map_err(from_sqlite)?;
            Ok(())
        })
        .await
    }

    async fn enrol_device(&self, code_hash: &str, device: NewDevice, now_ms: i64) -> StorageResult<()> {
        let code_hash = code_hash.to_owned();
        self.run(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate).map_err(backend)?;
            consume_code(&tx, &code_hash, "device", None, now_ms)?;
            tx.execute(
                "INSERT INTO device (device_id, name, public_key, kid, token_hash, enrolled_at_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![device.device_id, device.name, device.public_key.to_vec(), device.kid, device.token_hash, now_ms],
            )
            .map_err(from_sqlite)?;
            tx.commit().map_err(backend)
        })
        .await
    }

    async fn device_by_token(&self, token_hash: &str) -> StorageResult<Option<DeviceRow>> {
        let token_hash = token_hash.to_owned();
        self.run(move |c| {
            c.query_row(
                "SELECT device_id, name, public_key, kid, enrolled_at_ms, revoked_at_ms FROM device WHERE token_hash = ?1",
                [token_hash],
                device_row,
            )
            .optional()
            .map_err(backend)
        })
        .await
    }

    async fn enrol_technician_key(
        &self,
        code_hash: &str,
        key: TechnicianKeyRow,
        now_ms: i64,
    ) -> StorageResult<()> {
        let code_hash = code_hash.to_owned();
        self.run(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate).map_err(backend)?;
            consume_code(&tx, &code_hash, "technician", Some(&key.tech_id), now_ms)?;
            tx.execute(
                "INSERT INTO technician_key (kid, tech_id, device_id, public_key, bound_at_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![key.kid, key.tech_id, key.device_id, key.public_key.to_vec(), now_ms],
            )
            .map_err(from_sqlite)?;
            tx.commit().map_err(backend)
        })
        .await
    }

    async fn device_keys(&self, device_id: &str) -> StorageResult<Option<DeviceKeys>> {
        let device_id = device_id.to_owned();
        self.run(move |c| {
            let device = c
                .query_row(
                    "SELECT device_id, name, public_key, kid, enrolled_at_ms, revoked_at_ms FROM device WHERE device_id = ?1",
                    [&device_id],
                    device_row,
                )
                .optional()
                .map_err(backend)?;
            let Some(device) = device else { return Ok(None) };
            let mut stmt = c
                .prepare(
                    "SELECT kid, tech_id, device_id, public_key, bound_at_ms, revoked_at_ms
                     FROM technician_key WHERE device_id = ?1 ORDER BY bound_at_ms, kid",
                )
                .map_err(backend)?;
            let technicians =
                stmt.query_map([&device_id], tech_key_row).map_err(backend)?.collect::<Result<_, _>>().map_err(backend)?;
            Ok(Some(DeviceKeys { device, technicians }))
        })
        .await
    }

    async fn technician_key(&self, kid: &str) -> StorageResult<Option<TechnicianKeyRow>> {
        let kid = kid.to_owned();
        self.run(move |c| {
            c.query_row(
                "SELECT kid, tech_id, device_id, public_key, bound_at_ms, revoked_at_ms FROM technician_key WHERE kid = ?1",
                [kid],
                tech_key_row,
            )
            .optional()
            .map_err(backend)
        })
        .await
    }

    async fn revoke_device(&self, device_id: &str, effective_at_ms: i64) -> StorageResult<bool> {
        let device_id = device_id.to_owned();
        self.run(move |c| {
            let n = c
                .execute(
                    "UPDATE device SET revoked_at_ms = coalesce(revoked_at_ms, ?2) WHERE device_id = ?1",
                    params![device_id, effective_at_ms],
                )
                .map_err(backend)?;
            Ok(n == 1)
        })
        .await
    }

    async fn revoke_technician_key(
        &self,
        kid: &str,
        effective_at_ms: i64,
    ) -> StorageResult<Option<TechnicianKeyRow>> {
        let kid = kid.to_owned();
        self.run(move |c| {
            c.execute(
                "UPDATE technician_key SET revoked_at_ms = coalesce(revoked_at_ms, ?2) WHERE kid = ?1",
                params![kid, effective_at_ms],
            )
            .map_err(backend)?;
            c.query_row(
                "SELECT kid, tech_id, device_id, public_key, bound_at_ms, revoked_at_ms FROM technician_key WHERE kid = ?1",
                [kid],
                tech_key_row,
            )
            .optional()
            .map_err(backend)
        })
        .await
    }

    async fn put_snapshot(&self, put: PutSnapshot) -> StorageResult<Snapshot> {
        self.run(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate).map_err(backend)?;
            let snapshot = write_snapshot(&tx, put)?;
            tx.commit().map_err(backend)?;
            Ok(snapshot)
        })
        .await
    }

    async fn snapshot(&self, kind: SnapshotKind, id: &str) -> StorageResult<Option<Snapshot>> {
        let id = id.to_owned();
        self.run(move |c| {
            c.query_row(
                "SELECT kind, id, rev, body, scope, updated_at_ms FROM snapshot WHERE kind = ?1 AND id = ?2",
                params![kind.as_str(), id],
                |r| snapshot_row(r, 0),
            )
            .optional()
            .map_err(backend)
        })
        .await
    }

    async fn snapshots(&self, kind: SnapshotKind) -> StorageResult<Vec<Snapshot>> {
        self.run(move |c| {
            let mut stmt = c
                .prepare("SELECT kind, id, rev, body, scope, updated_at_ms FROM snapshot WHERE kind = ?1 ORDER BY id")
                .map_err(backend)?;
            let rows = stmt.query_map([kind.as_str()], |r| snapshot_row(r, 0)).map_err(backend)?;
            rows.collect::<Result<_, _>>().map_err(backend)
        })
        .await
    }

    async fn feed_after(&self, after: u64, limit: usize) -> StorageResult<Vec<FeedRow>> {
        self.run(move |c| {
            let mut stmt = c
                .prepare(
                    "SELECT f.feed_seq, s.kind, s.id, s.rev, s.body, s.scope, s.updated_at_ms
                     FROM feed f JOIN snapshot s ON s.kind = f.kind AND s.id = f.id
                     WHERE f.feed_seq > ?1 ORDER BY f.feed_seq LIMIT ?2",
                )
                .map_err(backend)?;
            let rows = stmt
                .query_map(params![i(after), limit as i64], |r| {
                    Ok(FeedRow { feed_seq: u(r.get(0)?), snapshot: snapshot_row(r, 1)? })
                })
                .map_err(backend)?;
            rows.collect::<Result<_, _>>().map_err(backend)
        })
        .await
    }

    async fn head(&self, device_id: &str) -> StorageResult<(u64, Option<String>)> {
        let device_id = device_id.to_owned();
        self.run(move |c| {
            let row: Option<(i64, String)> = c
                .query_row(
                    "SELECT seq, entry_hash FROM entry WHERE device_id = ?1 ORDER BY seq DESC LIMIT 1",
                    [device_id],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()
                .map_err(backend)?;
            Ok(row.map(|(s, h)| (u(s), Some(h))).unwrap_or((0, None)))
        })
        .await
    }

    async fn entry_at(&self, device_id: &str, seq: u64) -> StorageResult<Option<StoredEntry>> {
        let device_id = device_id.to_owned();
        self.run(move |c| {
            c.query_row(
                &format!("SELECT {ENTRY_COLUMNS} FROM entry WHERE device_id = ?1 AND seq = ?2"),
                params![device_id, i(seq)],
                entry_row,
            )
            .optional()
            .map_err(backend)
        })
        .await
    }

    async fn entry_by_record_id(&self, record_id: &str) -> StorageResult<Option<StoredEntry>> {
        let record_id = record_id.to_owned();
        self.run(move |c| {
            c.query_row(
                &format!("SELECT {ENTRY_COLUMNS} FROM entry WHERE record_id = ?1"),
                [record_id],
                entry_row,
            )
            .optional()
            .map_err(backend)
        })
        .await
    }

    async fn append_entry(&self, entry: NewEntry, sign: ReceiptSigner) -> StorageResult<StoredEntry> {
        let batch = BatchWrite { entries: vec![entry], ..BatchWrite::default() };
        let mut stored = self.append_batch(batch, sign).await?;
        stored.pop().ok_or_else(|| StorageError::Backend("append stored nothing".into()))
    }

    async fn append_batch(&self, batch: BatchWrite, sign: ReceiptSigner) -> StorageResult<Vec<StoredEntry>> {
        self.run(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate).map_err(backend)?;
            let mut out = Vec::with_capacity(batch.entries.len());
            for entry in batch.entries {
                out.push(insert_entry(&tx, entry, &sign)?);
            }
            for conflict in &batch.conflicts {
                insert_conflict(&tx, conflict)?;
            }
            for put in batch.snapshots {
                write_snapshot(&tx, put)?;
            }
            for put in batch.new_snapshots {
                if current_rev(&tx, put.kind.as_str(), &put.id)? == 0 {
                    write_snapshot(&tx, put)?;
                }
            }
            for (device_id, sha256) in &batch.blob_refs {
                tx.prepare_cached("INSERT OR IGNORE INTO blob_ref (device_id, sha256) VALUES (?1, ?2)")
                    .map_err(backend)?
                    .execute(params![device_id, sha256])
                    .map_err(from_sqlite)?;
            }
            tx.commit().map_err(backend)?;
            Ok(out)
        })
        .await
    }

    async fn record_conflict(&self, conflict: NewConflict) -> StorageResult<()> {
        self.run(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate).map_err(backend)?;
            insert_conflict(&tx, &conflict)?;
            tx.commit().map_err(backend)
        })
        .await
    }

    async fn conflicts(&self, device_id: &str) -> StorageResult<Vec<NewConflict>> {
        let device_id = device_id.to_owned();
        self.run(move |c| {
            let mut stmt = c
                .prepare("SELECT device_id, seq, kind, envelope, received_at_ms FROM conflict WHERE device_id = ?1 ORDER BY id")
                .map_err(backend)?;
            let rows = stmt
                .query_map([device_id], |r| {
                    Ok(NewConflict {
                        device_id: r.get(0)?,
                        seq: u(r.get(1)?),
                        kind: r.get(2)?,
                        envelope: json_col(r, 3)?,
                        received_at_ms: r.get(4)?,
                    })
                })
                .map_err(backend)?;
            rows.collect::<Result<_, _>>().map_err(backend)
        })
        .await
    }

    async fn entries_from(
        &self,
        device_id: &str,
        from_seq: u64,
        limit: usize,
    ) -> StorageResult<Vec<StoredEntry>> {
        let device_id = device_id.to_owned();
        self.run(move |c| {
            let mut stmt = c
                .prepare(&format!(
                    "SELECT {ENTRY_COLUMNS} FROM entry WHERE device_id = ?1 AND seq >= ?2 ORDER BY seq LIMIT ?3"
                ))
                .map_err(backend)?;
            let rows = stmt.query_map(params![device_id, i(from_seq), limit as i64], entry_row).map_err(backend)?;
            rows.collect::<Result<_, _>>().map_err(backend)
        })
        .await
    }

    async fn received_at_of_server_seq(
        &self,
        device_id: &str,
        server_seq: u64,
    ) -> StorageResult<Option<i64>> {
        let device_id = device_id.to_owned();
        self.run(move |c| {
            c.query_row(
                "SELECT received_at_ms FROM entry WHERE device_id = ?1 AND server_seq = ?2",
                params![device_id, i(server_seq)],
                |r| r.get(0),
            )
            .optional()
            .map_err(backend)
        })
        .await
    }

    async fn last_entry_of_boot(&self, device_id: &str, boot_id: &str) -> StorageResult<Option<StoredEntry>> {
        let (device_id, boot_id) = (device_id.to_owned(), boot_id.to_owned());
        self.run(move |c| {
            c.query_row(
                &format!(
                    "SELECT {ENTRY_COLUMNS} FROM entry WHERE device_id = ?1 AND boot_id = ?2 ORDER BY seq DESC LIMIT 1"
                ),
                params![device_id, boot_id],
                entry_row,
            )
            .optional()
            .map_err(backend)
        })
        .await
    }

    async fn entries_for_work_order(&self, work_order_id: &str) -> StorageResult<Vec<StoredEntry>> {
        let work_order_id = work_order_id.to_owned();
        self.run(move |c| {
            let mut stmt = c
                .prepare(&format!(
                    "SELECT {ENTRY_COLUMNS} FROM entry WHERE work_order_id = ?1 ORDER BY server_seq"
                ))
                .map_err(backend)?;
            let rows = stmt.query_map([work_order_id], entry_row).map_err(backend)?;
            rows.collect::<Result<_, _>>().map_err(backend)
        })
        .await
    }

    async fn add_operator_account(&self, a: OperatorAccount) -> StorageResult<()> {
        self.run(move |c| {
            c.execute(
                "INSERT INTO operator_account (username, name, password_hash, roles, disabled, created_at_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    a.username,
                    a.name,
                    a.password_hash,
                    a.roles.join(","),
                    i64::from(a.disabled),
                    a.created_at_ms
                ],
            )
            .map_err(from_sqlite)?;
            Ok(())
        })
        .await
    }

    async fn operator_account(&self, username: &str) -> StorageResult<Option<OperatorAccount>> {
        let username = username.to_owned();
        self.run(move |c| {
            c.query_row(
                "SELECT username, name, password_hash, roles, disabled, created_at_ms
                 FROM operator_account WHERE username = ?1",
                [username],
                |r| {
                    let roles: String = r.get(3)?;
                    Ok(OperatorAccount {
                        username: r.get(0)?,
                        name: r.get(1)?,
                        password_hash: r.get(2)?,
                        roles: roles.split(',').filter(|x| !x.is_empty()).map(str::to_owned).collect(),
                        disabled: r.get::<_, i64>(4)? != 0,
                        created_at_ms: r.get(5)?,
                    })
                },
            )
            .optional()
            .map_err(backend)
        })
        .await
    }

    async fn set_operator_disabled(&self, username: &str, disabled: bool) -> StorageResult<bool> {
        let username = username.to_owned();
        self.run(move |c| {
            let tx = c.transaction().map_err(backend)?;
            let n = tx
                .execute(
                    "UPDATE operator_account SET disabled = ?2 WHERE username = ?1",
                    params![username, i64::from(disabled)],
                )
                .map_err(backend)?;
            if disabled {
                tx.execute("DELETE FROM operator_session WHERE username = ?1", [&username])
                    .map_err(backend)?;
            }
            tx.commit().map_err(backend)?;
            Ok(n > 0)
        })
        .await
    }

    async fn add_operator_session(&self, s: OperatorSession) -> StorageResult<()> {
        self.run(move |c| {
            c.execute(
                "INSERT INTO operator_session (session_hash, username, csrf_hash, created_at_ms, last_seen_ms, expires_at_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![s.session_hash, s.username, s.csrf_hash, s.created_at_ms, s.last_seen_ms, s.expires_at_ms],
            )
            .map_err(from_sqlite)?;
            Ok(())
        })
        .await
    }

    async fn operator_session(&self, session_hash: &str) -> StorageResult<Option<OperatorSession>> {
        let session_hash = session_hash.to_owned();
        self.run(move |c| {
            c.query_row(
                "SELECT session_hash, username, csrf_hash, created_at_ms, last_seen_ms, expires_at_ms
                 FROM operator_session WHERE session_hash = ?1",
                [session_hash],
                |r| {
                    Ok(OperatorSession {
                        session_hash: r.get(0)?,
                        username: r.get(1)?,
                        csrf_hash: r.get(2)?,
                        created_at_ms: r.get(3)?,
                        last_seen_ms: r.get(4)?,
                        expires_at_ms: r.get(5)?,
                    })
                },
            )
            .optional()
            .map_err(backend)
        })
        .await
    }

    async fn touch_operator_session(&self, session_hash: &str, last_seen_ms: i64) -> StorageResult<()> {
        let session_hash = session_hash.to_owned();
        self.run(move |c| {
            c.execute(
                "UPDATE operator_session SET last_seen_ms = MAX(last_seen_ms, ?2) WHERE session_hash = ?1",
                params![session_hash, last_seen_ms],
            )
            .map_err(backend)?;
            Ok(())
        })
        .await
    }

    async fn delete_operator_session(&self, session_hash: &str) -> StorageResult<()> {
        let session_hash = session_hash.to_owned();
        self.run(move |c| {
            c.execute("DELETE FROM operator_session WHERE session_hash = ?1", [session_hash])
                .map_err(backend)?;
            Ok(())
        })
        .await
    }

    async fn append_audit(&self, e: AuditEntry) -> StorageResult<()> {
        self.run(move |c| {
            c.execute(
                "INSERT INTO office_audit (at_ms, actor, role, method, path, target, status, before_state, after_state)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![
                    e.at_ms,
                    e.actor,
                    e.role,
                    e.method,
                    e.path,
                    e.target,
                    i64::from(e.status),
                    e.before.as_ref().map(Value::to_string),
                    e.after.as_ref().map(Value::to_string)
                ],
            )
            .map_err(backend)?;
            Ok(())
        })
        .await
    }

    async fn audit_after(&self, after: i64, limit: usize) -> StorageResult<Vec<AuditEntry>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.run(move |c| {
            let mut stmt = c
                .prepare(
                    "SELECT id, at_ms, actor, role, method, path, target, status, before_state, after_state
                     FROM office_audit WHERE id > ?1 ORDER BY id LIMIT ?2",
                )
                .map_err(backend)?;
            let rows = stmt
                .query_map(params![after, limit], |r| {
                    Ok(AuditEntry {
                        id: r.get(0)?,
                        at_ms: r.get(1)?,
                        actor: r.get(2)?,
                        role: r.get(3)?,
                        method: r.get(4)?,
                        path: r.get(5)?,
                        target: r.get(6)?,
                        status: u16::try_from(r.get::<_, i64>(7)?).unwrap_or(0),
                        before: audit_state(r.get(8)?),
                        after: audit_state(r.get(9)?),
                    })
                })
                .map_err(backend)?;
            rows.collect::<Result<_, _>>().map_err(backend)
        })
        .await
    }

    async fn add_review_decision(&self, d: ReviewDecision) -> StorageResult<()> {
        self.run(move |c| {
            c.execute(
                "INSERT INTO review_decision (record_id, decision, note, operator, decided_at_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![d.record_id, d.decision.as_str(), d.note, d.operator, d.decided_at_ms],
            )
            .map_err(from_sqlite)?;
            Ok(())
        })
        .await
    }

    async fn blobs_named_by(&self, device_id: &str, sha256s: &[String]) -> StorageResult<Vec<String>> {
        let (device_id, sha256s) = (device_id.to_owned(), sha256s.to_vec());
        self.run(move |c| {
            let mut stmt = c
                .prepare_cached("SELECT 1 FROM blob_ref WHERE device_id = ?1 AND sha256 = ?2")
                .map_err(backend)?;
            let mut named = Vec::new();
            for sha in sha256s {
                if stmt.exists(params![device_id, sha]).map_err(backend)? {
                    named.push(sha);
                }
            }
            Ok(named)
        })
        .await
    }

    async fn add_rule_set_version(
        &self,
        body: Value,
        effective_at_ms: i64,
        set_by: &str,
    ) -> StorageResult<u64> {
        let set_by = set_by.to_owned();
        self.run(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate).map_err(backend)?;
            let version: i64 = tx
                .query_row("SELECT COALESCE(MAX(version), 0) + 1 FROM rule_set_version", [], |r| r.get(0))
                .map_err(backend)?;
            tx.execute(
                "INSERT INTO rule_set_version (version, effective_at_ms, body, set_by) VALUES (?1, ?2, ?3, ?4)",
                params![version, effective_at_ms, to_json(&body)?, set_by],
            )
            .map_err(from_sqlite)?;
            tx.commit().map_err(backend)?;
            Ok(u(version))
        })
        .await
    }

    async fn rule_set_versions(&self) -> StorageResult<Vec<RuleSetVersionRow>> {
        self.run(move |c| {
            let mut stmt = c
                .prepare_cached(
                    "SELECT version, effective_at_ms, body, set_by FROM rule_set_version ORDER BY version",
                )
                .map_err(backend)?;
            let rows = stmt
                .query_map([], |r| {
                    Ok(RuleSetVersionRow {
                        version: u(r.get(0)?),
                        effective_at_ms: r.get(1)?,
                        body: json_col(r, 2)?,
                        set_by: r.get(3)?,
                    })
                })
                .map_err(backend)?;
            rows.collect::<Result<Vec<_>, _>>().map_err(backend)
        })
        .await
    }

    async fn review_decisions(&self, record_id: &str) -> StorageResult<Vec<ReviewDecision>> {
        let record_id = record_id.to_owned();
        self.run(move |c| {
            let mut stmt = c
                .prepare_cached(
                    "SELECT record_id, decision, note, operator, decided_at_ms FROM review_decision
                     WHERE record_id = ?1 ORDER BY id",
                )
                .map_err(backend)?;
            let rows = stmt
                .query_map([record_id], |r| {
                    let decision: String = r.get(1)?;
                    Ok(ReviewDecision {
                        record_id: r.get(0)?,
                        decision: ReviewVerdict::parse(&decision).unwrap_or(ReviewVerdict::Reject),
                        note: r.get(2)?,
                        operator: r.get(3)?,
                        decided_at_ms: r.get(4)?,
                    })
                })
                .map_err(backend)?;
            rows.collect::<Result<Vec<_>, _>>().map_err(backend)
        })
        .await
    }

    async fn entry_count(&self) -> StorageResult<u64> {
        self.run(|c| {
            c.query_row("SELECT count(*) FROM entry", [], |r| r.get::<_, i64>(0)).map(u).map_err(backend)
        })
        .await
    }

    async fn all_device_keys(&self) -> StorageResult<Vec<DeviceKeys>> {
        self.run(move |c| {
            let mut stmt = c
                .prepare(
                    "SELECT device_id, name, public_key, kid, enrolled_at_ms, revoked_at_ms FROM device
                     ORDER BY enrolled_at_ms, device_id",
                )
                .map_err(backend)?;
            let devices: Vec<DeviceRow> = stmt
                .query_map([], device_row)
                .map_err(backend)?
                .collect::<Result<_, _>>()
                .map_err(backend)?;
            let mut stmt = c
                .prepare(
                    "SELECT kid, tech_id, device_id, public_key, bound_at_ms, revoked_at_ms
                     FROM technician_key ORDER BY bound_at_ms, kid",
                )
                .map_err(backend)?;
            let keys: Vec<TechnicianKeyRow> = stmt
                .query_map([], tech_key_row)
                .map_err(backend)?
                .collect::<Result<_, _>>()
                .map_err(backend)?;
            Ok(devices
                .into_iter()
                .map(|device| {
                    let technicians =
                        keys.iter().filter(|k| k.device_id == device.device_id).cloned().collect();
                    DeviceKeys { device, technicians }
                })
                .collect())
        })
        .await
    }

    async fn last_received_by_device(&self) -> StorageResult<Vec<(String, i64)>> {
        self.run(move |c| {
            let mut stmt = c
                .prepare("SELECT device_id, max(received_at_ms) FROM entry GROUP BY device_id")
                .map_err(backend)?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).map_err(backend)?;
            rows.collect::<Result<_, _>>().map_err(backend)
        })
        .await
    }

    async fn operator_accounts(&self) -> StorageResult<Vec<OperatorAccount>> {
        self.run(move |c| {
            let mut stmt = c
                .prepare(
                    "SELECT username, name, password_hash, roles, disabled, created_at_ms
                     FROM operator_account ORDER BY username",
                )
                .map_err(backend)?;
            let rows = stmt
                .query_map([], |r| {
                    let roles: String = r.get(3)?;
                    Ok(OperatorAccount {
                        username: r.get(0)?,
                        name: r.get(1)?,
                        password_hash: r.get(2)?,
                        roles: roles.split(',').filter(|x| !x.is_empty()).map(str::to_owned).collect(),
                        disabled: r.get::<_, i64>(4)? != 0,
                        created_at_ms: r.get(5)?,
                    })
                })
                .map_err(backend)?;
            rows.collect::<Result<_, _>>().map_err(backend)
        })
        .await
    }

    async fn add_revocation_note(&self, n: RevocationNote) -> StorageResult<()> {
        self.run(move |c| {
            c.execute(
                "INSERT INTO revocation_note (subject_kind, subject, effective_at_ms, recorded_at_ms, recorded_by, reason)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![n.subject_kind, n.subject, n.effective_at_ms, n.recorded_at_ms, n.recorded_by, n.reason],
            )
            .map_err(backend)?;
            Ok(())
        })
        .await
    }

    async fn revocation_notes(&self) -> StorageResult<Vec<RevocationNote>> {
        self.run(move |c| {
            let mut stmt = c
                .prepare(
                    "SELECT subject_kind, subject, effective_at_ms, recorded_at_ms, recorded_by, reason
                     FROM revocation_note ORDER BY id",
                )
                .map_err(backend)?;
            let rows = stmt
                .query_map([], |r| {
                    Ok(RevocationNote {
                        subject_kind: r.get(0)?,
                        subject: r.get(1)?,
                        effective_at_ms: r.get(2)?,
                        recorded_at_ms: r.get(3)?,
                        recorded_by: r.get(4)?,
                        reason: r.get(5)?,
                    })
                })
                .map_err(backend)?;
            rows.collect::<Result<_, _>>().map_err(backend)
        })
        .await
    }

    async fn search_entries(
        &self,
        search: super::record_search::RecordSearch,
    ) -> StorageResult<Vec<StoredEntry>> {
        use super::record_search::{Dialect, Param, search_sql};
        let (sql, params) = search_sql(&search, ENTRY_COLUMNS, Dialect::Sqlite);
        self.run(move |c| {
            let mut stmt = c.prepare_cached(&sql).map_err(backend)?;
            let values: Vec<rusqlite::types::Value> = params
                .into_iter()
                .map(|p| match p {
                    Param::Text(t) => rusqlite::types::Value::Text(t),
                    Param::Int(i) => rusqlite::types::Value::Integer(i),
                })
                .collect();
            let rows = stmt.query_map(rusqlite::params_from_iter(values), entry_row).map_err(backend)?;
            rows.collect::<Result<_, _>>().map_err(backend)
        })
        .await
    }

    async fn board_stale(&self, limit: usize) -> StorageResult<Vec<(String, i64)>> {
        self.run(move |c| {
            let mut stmt = c
                .prepare_cached("SELECT id, gen FROM work_order_board WHERE gen > built_gen LIMIT ?1")
                .map_err(backend)?;
            let rows = stmt.query_map([limit as i64], |r| Ok((r.get(0)?, r.get(1)?))).map_err(backend)?;
            rows.collect::<Result<_, _>>().map_err(backend)
        })
        .await
    }

    async fn board_stale_count(&self) -> StorageResult<u64> {
        self.run(move |c| {
            let n: i64 = c
                .prepare_cached("SELECT count(*) FROM work_order_board WHERE gen > built_gen")
                .map_err(backend)?
                .query_row([], |r| r.get(0))
                .map_err(backend)?;
            Ok(u(n))
        })
        .await
    }

    async fn board_stale_among(&self, ids: &[String]) -> StorageResult<Vec<(String, i64)>> {
        let ids = ids.to_vec();
        self.run(move |c| {
            let mut stmt = c
                .prepare_cached("SELECT id, gen FROM work_order_board WHERE id = ?1 AND gen > built_gen")
                .map_err(backend)?;
            let mut out = Vec::new();
            for id in &ids {
                if let Some(found) =
                    stmt.query_row([id], |r| Ok((r.get(0)?, r.get(1)?))).optional().map_err(backend)?
                {
                    out.push(found);
                }
            }
            Ok(out)
        })
        .await
    }

    async fn board_unaddressed(&self, after: &str, limit: usize) -> StorageResult<Vec<String>> {
        let after = after.to_owned();
        self.run(move |c| {
            let mut stmt = c
                .prepare_cached(
                    "SELECT id FROM work_order_board WHERE address_key = '' AND built_gen = 0 AND id > ?1
                     ORDER BY id LIMIT ?2",
                )
                .map_err(backend)?;
            let rows = stmt.query_map(params![after, limit as i64], |r| r.get(0)).map_err(backend)?;
            rows.collect::<Result<_, _>>().map_err(backend)
        })
        .await
    }

    async fn board_set_addresses(&self, keys: Vec<(String, String)>) -> StorageResult<()> {
        self.run(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate).map_err(backend)?;
            for (id, key) in &keys {
                tx.prepare_cached(
                    "UPDATE work_order_board SET address_key = ?2 WHERE id = ?1 AND address_key = ''",
                )
                .map_err(backend)?
                .execute(params![id, key])
                .map_err(backend)?;
            }
            tx.commit().map_err(backend)
        })
        .await
    }

    async fn board_put(&self, rows: Vec<BoardRow>) -> StorageResult<()> {
        self.run(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate).map_err(backend)?;
            for r in &rows {
                tx.prepare_cached(
                    "UPDATE work_order_board SET built_gen = ?2, status = ?3, category = ?4, technicians = ?5,
                         search = ?6, address_key = ?7, received_at_ms = ?8, due_ms = ?9, late_due_ms = ?10,
                         switch_ms = ?11, is_repeat = ?12, another_visit = ?13, opened_on_site = ?14
                     WHERE id = ?1",
                )
                .map_err(backend)?
                .execute(params![
                    r.id,
                    r.built_from_gen,
                    r.status,
                    r.category,
                    r.technicians_column(),
                    r.search,
                    r.address_key,
                    r.received_at_ms,
                    r.due_ms,
                    r.late_due_ms,
                    r.switch_ms,
                    i64::from(r.repeat),
                    i64::from(r.another_visit),
                    i64::from(r.opened_on_site),
                ])
                .map_err(backend)?;
            }
            tx.commit().map_err(backend)
        })
        .await
    }

    async fn board_ids_at(&self, address_keys: &[String]) -> StorageResult<Vec<String>> {
        let keys = address_keys.to_vec();
        self.run(move |c| {
            let mut out = Vec::new();
            let mut stmt = c
                .prepare_cached("SELECT id FROM work_order_board WHERE address_key = ?1")
                .map_err(backend)?;
            for key in keys.iter().filter(|k| !k.is_empty()) {
                let rows = stmt.query_map([key], |r| r.get::<_, String>(0)).map_err(backend)?;
                for id in rows {
                    out.push(id.map_err(backend)?);
                }
            }
            Ok(out)
        })
        .await
    }

    async fn board_set_repeat(&self, flags: Vec<(String, bool)>) -> StorageResult<()> {
        self.run(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate).map_err(backend)?;
            for (id, repeat) in &flags {
                tx.prepare_cached("UPDATE work_order_board SET is_repeat = ?2 WHERE id = ?1")
                    .map_err(backend)?
                    .execute(params![id, i64::from(*repeat)])
                    .map_err(backend)?;
            }
            tx.commit().map_err(backend)
        })
        .await
    }

    async fn board_page(&self, query: &BoardQuery) -> StorageResult<Vec<(String, i64)>> {
        let (sql, binds) = query.sql(BoardDialect::Sqlite);
        self.run(move |c| {
            let values: Vec<rusqlite::types::Value> = binds
                .into_iter()
                .map(|b| match b {
                    BoardParam::Int(v) => rusqlite::types::Value::Integer(v),
                    BoardParam::Text(t) => rusqlite::types::Value::Text(t),
                })
                .collect();
            let mut stmt = c.prepare(&sql).map_err(backend)?;
            let rows = stmt
                .query_map(rusqlite::params_from_iter(values), |r| Ok((r.get(0)?, r.get(1)?)))
                .map_err(backend)?;
            rows.collect::<Result<_, _>>().map_err(backend)
        })
        .await
    }

    async fn snapshots_of(&self, kind: SnapshotKind, ids: &[String]) -> StorageResult<Vec<Snapshot>> {
        let ids = ids.to_vec();
        self.run(move |c| {
            let mut stmt = c
                .prepare_cached(
                    "SELECT kind, id, rev, body, scope, updated_at_ms FROM snapshot WHERE kind = ?1 AND id = ?2",
                )
                .map_err(backend)?;
            let mut out = Vec::with_capacity(ids.len());
            for id in &ids {
                if let Some(s) =
                    stmt.query_row(params![kind.as_str(), id], |r| snapshot_row(r, 0)).optional().map_err(backend)?
                {
                    out.push(s);
                }
            }
            Ok(out)
        })
        .await
    }

    async fn entries_for_work_orders(&self, ids: &[String]) -> StorageResult<Vec<StoredEntry>> {
        let ids = ids.to_vec();
        self.run(move |c| {
            // One statement per order on the connection held once: SQLite
            // answers each from the index without a round trip.
            let mut stmt = c
                .prepare_cached(&format!("SELECT {ENTRY_COLUMNS} FROM entry WHERE work_order_id = ?1"))
                .map_err(backend)?;
            let mut out = Vec::new();
            for id in &ids {
                let rows = stmt.query_map([id], entry_row).map_err(backend)?;
                for e in rows {
                    out.push(e.map_err(backend)?);
                }
            }
            out.sort_by_key(|e: &StoredEntry| e.receipt.server_seq);
            Ok(out)
        })
        .await
    }

    async fn received_at_of_server_seqs(
        &self,
        server_seqs: &[u64],
    ) -> StorageResult<std::collections::HashMap<u64, (String, i64)>> {
        let seqs = server_seqs.to_vec();
        self.run(move |c| {
            let mut stmt = c
                .prepare_cached("SELECT device_id, received_at_ms FROM entry WHERE server_seq = ?1")
                .map_err(backend)?;
            let mut out = std::collections::HashMap::new();
            for seq in seqs {
                if let Some(found) = stmt
                    .query_row([i(seq)], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
                    .optional()
                    .map_err(backend)?
                {
                    out.insert(seq, found);
                }
            }
            Ok(out)
        })
        .await
    }
}
