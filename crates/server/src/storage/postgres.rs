//! The PostgreSQL backend: a `deadpool-postgres` pool of plain (no TLS)
//! `tokio-postgres` connections, the same schema and the same semantics as
//! the SQLite backend (`tests/storage.rs` runs one scenario suite on both).
//!
//! Every writing transaction runs at READ COMMITTED, set explicitly so that a
//! server-wide `default_transaction_isolation` cannot change it: under
//! REPEATABLE READ or SERIALIZABLE the counter updates below would fail with
//! serialization errors instead of waiting their turn.
//!
//! Counters (`server_seq`, `feed_seq`) are rows of `counter`, not PostgreSQL
//! sequences. A transaction takes the next number with
//! `UPDATE counter SET value = value + 1 WHERE name = $1 RETURNING value`;
//! the row lock this takes is held until commit, so the next writer waits and
//! then reads the committed value. Numbers are therefore handed out in commit
//! order: when a feed reader sees `feed_seq` n committed, every smaller number
//! is already committed (or rolled back, leaving no row and no gap), so a
//! cursor never skips a row that commits late. The price is that writers of
//! one counter are serialised from the moment they take the number until they
//! commit, so the number is taken as late in the transaction as possible.
//!
//! JSON is stored as TEXT holding serde_json, exactly as on SQLite, so
//! envelopes and receipts round-trip byte for byte. Errors never carry the
//! connection string or a key's value (constraint names, not DETAIL lines).

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use deadpool_postgres::{Manager, Pool, PoolError, Runtime, Transaction};
use hearth_protocol::{Envelope, Receipt};
use tokio_postgres::error::SqlState;
use tokio_postgres::{IsolationLevel, NoTls, Row};

use super::*;

/// Numbered migrations, applied in order; never edit one that has landed.
const MIGRATIONS: &[&str] = &[
    include_str!("../../../../migrations/server/postgres/0001_init.sql"),
    include_str!("../../../../migrations/server/postgres/0002_review.sql"),
    include_str!("../../../../migrations/server/postgres/0003_blob_ref.sql"),
    include_str!("../../../../migrations/server/postgres/0004_rule_set_version.sql"),
    include_str!("../../../../migrations/server/postgres/0005_operator_accounts.sql"),
    include_str!("../../../../migrations/server/postgres/0006_revocation.sql"),
    include_str!("../../../../migrations/server/postgres/0007_record_search.sql"),
    include_str!("../../../../migrations/server/postgres/0008_work_order_board.sql"),
    include_str!("../../../../migrations/server/postgres/0009_audit_before_after.sql"),
    include_str!("../../../../migrations/server/postgres/0010_board_search.sql"),
];

/// Key of the advisory lock that serialises migrations across processes
/// ("hearthmg" in ASCII). Advisory locks are per database.
const MIGRATION_LOCK: i64 = 0x6865_6172_7468_6d67;

#[derive(Clone)]
pub struct PostgresStorage {
    pool: Pool,
}

impl fmt::Debug for PostgresStorage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let status = self.pool.status();
        f.debug_struct("PostgresStorage")
            .field("pool_size", &status.size)
            .field("pool_available", &status.available)
            .finish_non_exhaustive()
    }
}

fn backend(e: impl fmt::Display) -> StorageError {
    StorageError::Backend(e.to_string())
}

/// Maps a driver error: a unique violation is `Exists` (by constraint name);
/// anything else is `Backend` with the server's message but not its DETAIL,
/// which can quote key values.
fn from_pg(e: tokio_postgres::Error) -> StorageError {
    if let Some(db) = e.as_db_error() {
        if *db.code() == SqlState::UNIQUE_VIOLATION {
            return StorageError::Exists(db.constraint().unwrap_or("unique key").to_owned());
        }
        return StorageError::Backend(format!("{} (SQLSTATE {})", db.message(), db.code().code()));
    }
    // The driver's own Display is only its kind ("error connecting to
    // server"); the cause (e.g. "Connection refused") is what helps.
    match std::error::Error::source(&e) {
        Some(cause) => StorageError::Backend(format!("{e}: {cause}")),
        None => backend(e),
    }
}

fn from_pool(e: PoolError) -> StorageError {
    match e {
        PoolError::Backend(e) => from_pg(e),
        other => backend(other),
    }
}

fn is_unique_violation(e: &tokio_postgres::Error) -> bool {
    e.code() == Some(&SqlState::UNIQUE_VIOLATION)
}

fn u(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

fn i(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn limit(v: usize) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn get<'a, T: tokio_postgres::types::FromSql<'a>>(row: &'a Row, idx: usize) -> StorageResult<T> {
    row.try_get(idx).map_err(from_pg)
}

fn key32(row: &Row, idx: usize) -> StorageResult<[u8; 32]> {
    let bytes: &[u8] = get(row, idx)?;
    bytes.try_into().map_err(|_| StorageError::Backend(format!("column {idx}: a public key is not 32 bytes")))
}

fn json_col<T: serde::de::DeserializeOwned>(row: &Row, idx: usize) -> StorageResult<T> {
    let text: &str = get(row, idx)?;
    serde_json::from_str(text).map_err(|e| StorageError::Backend(format!("column {idx}: {e}")))
}

fn to_json<T: serde::Serialize>(value: &T) -> StorageResult<String> {
    serde_json::to_string(value).map_err(backend)
}

const ENTRY_COLUMNS: &str = "device_id, seq, record_id, entry_hash, content_hash, schema, work_order_id, envelope, \
     receipt, receipt_sig, flags, boot_id, device_time_ms, monotonic_ms";

fn entry_row(row: &Row) -> StorageResult<StoredEntry> {
    Ok(StoredEntry {
        device_id: get(row, 0)?,
        seq: u(get(row, 1)?),
        record_id: get(row, 2)?,
        entry_hash: get(row, 3)?,
        content_hash: get(row, 4)?,
        schema: get(row, 5)?,
        work_order_id: get(row, 6)?,
        envelope: json_col::<Envelope>(row, 7)?,
        receipt: json_col::<Receipt>(row, 8)?,
        receipt_sig: get(row, 9)?,
        flags: json_col(row, 10)?,
        boot_id: get(row, 11)?,
        device_time_ms: get(row, 12)?,
        monotonic_ms: get(row, 13)?,
    })
}

const DEVICE_COLUMNS: &str = "device_id, name, public_key, kid, enrolled_at_ms, revoked_at_ms";

fn device_row(row: &Row) -> StorageResult<DeviceRow> {
    Ok(DeviceRow {
        device_id: get(row, 0)?,
        name: get(row, 1)?,
        public_key: key32(row, 2)?,
        kid: get(row, 3)?,
        enrolled_at_ms: get(row, 4)?,
        revoked_at_ms: get(row, 5)?,
    })
}

const TECH_KEY_COLUMNS: &str = "kid, tech_id, device_id, public_key, bound_at_ms, revoked_at_ms";

fn tech_key_row(row: &Row) -> StorageResult<TechnicianKeyRow> {
    Ok(TechnicianKeyRow {
        kid: get(row, 0)?,
        tech_id: get(row, 1)?,
        device_id: get(row, 2)?,
        public_key: key32(row, 3)?,
        bound_at_ms: get(row, 4)?,
        revoked_at_ms: get(row, 5)?,
    })
}

fn snapshot_row(row: &Row, at: usize) -> StorageResult<Snapshot> {
    let kind: &str = get(row, at)?;
    Ok(Snapshot {
        kind: SnapshotKind::parse(kind)
            .ok_or_else(|| StorageError::Backend(format!("unknown snapshot kind {kind:?}")))?,
        id: get(row, at + 1)?,
        rev: u(get(row, at + 2)?),
        body: json_col(row, at + 3)?,
        scope: json_col(row, at + 4)?,
        updated_at_ms: get(row, at + 5)?,
    })
}

fn rows<T>(rows: Vec<Row>, f: impl Fn(&Row) -> StorageResult<T>) -> StorageResult<Vec<T>> {
    rows.iter().map(f).collect()
}

/// Starts a READ COMMITTED transaction (see the module doc).
/// A batch of entries as column arrays, for one `INSERT … SELECT * FROM unnest(…)`.
#[derive(Default)]
struct EntryColumns {
    device_id: Vec<String>,
    seq: Vec<i64>,
    server_seq: Vec<i64>,
    record_id: Vec<String>,
    entry_hash: Vec<String>,
    content_hash: Vec<String>,
    schema: Vec<String>,
    work_order_id: Vec<Option<String>>,
    envelope: Vec<String>,
    receipt: Vec<String>,
    receipt_sig: Vec<String>,
    flags: Vec<String>,
    boot_id: Vec<String>,
    device_time_ms: Vec<i64>,
    monotonic_ms: Vec<i64>,
    received_at_ms: Vec<i64>,
}

impl EntryColumns {
    fn with_capacity(n: usize) -> Self {
        Self {
            device_id: Vec::with_capacity(n),
            seq: Vec::with_capacity(n),
            server_seq: Vec::with_capacity(n),
            record_id: Vec::with_capacity(n),
            entry_hash: Vec::with_capacity(n),
            content_hash: Vec::with_capacity(n),
            schema: Vec::with_capacity(n),
            work_order_id: Vec::with_capacity(n),
            envelope: Vec::with_capacity(n),
            receipt: Vec::with_capacity(n),
            receipt_sig: Vec::with_capacity(n),
            flags: Vec::with_capacity(n),
            boot_id: Vec::with_capacity(n),
            device_time_ms: Vec::with_capacity(n),
            monotonic_ms: Vec::with_capacity(n),
            received_at_ms: Vec::with_capacity(n),
        }
    }

    fn push(
        &mut self,
        e: &NewEntry,
        server_seq: u64,
        receipt: &Receipt,
        receipt_sig: &str,
    ) -> StorageResult<()> {
        self.device_id.push(e.device_id.clone());
        self.seq.push(i(e.seq));
        self.server_seq.push(i(server_seq));
        self.record_id.push(e.record_id.clone());
        self.entry_hash.push(e.entry_hash.clone());
        self.content_hash.push(e.content_hash.clone());
        self.schema.push(e.schema.clone());
        self.work_order_id.push(e.work_order_id.clone());
        self.envelope.push(to_json(&e.envelope)?);
        self.receipt.push(to_json(receipt)?);
        self.receipt_sig.push(receipt_sig.to_owned());
        self.flags.push(to_json(&e.flags)?);
        self.boot_id.push(e.boot_id.clone());
        self.device_time_ms.push(e.device_time_ms);
        self.monotonic_ms.push(e.monotonic_ms);
        self.received_at_ms.push(e.received_at_ms);
        Ok(())
    }
}

async fn begin(client: &mut deadpool_postgres::Client) -> StorageResult<Transaction<'_>> {
    client.build_transaction().isolation_level(IsolationLevel::ReadCommitted).start().await.map_err(from_pg)
}

/// Takes the next value of a counter inside the caller's transaction. The
/// row lock is held until that transaction ends, which is what keeps the
/// numbers in commit order (module doc); take it as late as possible.
async fn next(tx: &Transaction<'_>, counter: &str) -> StorageResult<u64> {
    let stmt = tx
        .prepare_cached("UPDATE counter SET value = value + 1 WHERE name = $1 RETURNING value")
        .await
        .map_err(from_pg)?;
    let row = tx.query_one(&stmt, &[&counter]).await.map_err(from_pg)?;
    Ok(u(get(&row, 0)?))
}

async fn insert_conflict(tx: &Transaction<'_>, conflict: &NewConflict) -> StorageResult<()> {
    let stmt = tx
        .prepare_cached(
            "INSERT INTO conflict (device_id, seq, kind, envelope, received_at_ms) VALUES ($1, $2, $3, $4, $5)",
        )
        .await
        .map_err(from_pg)?;
    tx.execute(
        &stmt,
        &[
            &conflict.device_id,
            &i(conflict.seq),
            &conflict.kind,
            &to_json(&conflict.envelope)?,
            &conflict.received_at_ms,
        ],
    )
    .await
    .map_err(from_pg)?;
    Ok(())
}

/// Writes a snapshot row inside a batch's transaction (the caller appends
/// it to the feed): an upsert that bumps the rev, or with `if_absent` an
/// insert that leaves an existing row alone. Returns the key when written.
async fn upsert_snapshot(
    tx: &Transaction<'_>,
    put: PutSnapshot,
    if_absent: bool,
) -> StorageResult<Option<(&'static str, String)>> {
    let sql = if if_absent {
        "INSERT INTO snapshot (kind, id, rev, body, scope, updated_at_ms) VALUES ($1, $2, 1, $3, $4, $5)
         ON CONFLICT (kind, id) DO NOTHING RETURNING rev"
    } else {
        "INSERT INTO snapshot (kind, id, rev, body, scope, updated_at_ms) VALUES ($1, $2, 1, $3, $4, $5)
         ON CONFLICT (kind, id) DO UPDATE SET rev = snapshot.rev + 1, body = excluded.body,
             scope = excluded.scope, updated_at_ms = excluded.updated_at_ms
         RETURNING rev"
    };
    let stmt = tx.prepare_cached(sql).await.map_err(from_pg)?;
    let kind = put.kind.as_str();
    let written = tx
        .query_opt(&stmt, &[&kind, &put.id, &to_json(&put.body)?, &to_json(&put.scope)?, &put.now_ms])
        .await
        .map_err(from_pg)?;
    Ok(written.map(|_| (kind, put.id)))
}

/// Consumes a one-time code of the given purpose, or says it is rejected. A
/// concurrent second use waits for the first one's row lock, re-checks
/// `used_at_ms IS NULL` on the committed row and matches nothing.
async fn consume_code(
    tx: &Transaction<'_>,
    code_hash: &str,
    purpose: &str,
    tech_id: Option<&str>,
    now_ms: i64,
) -> StorageResult<()> {
    let stmt = tx
        .prepare_cached(
            "UPDATE enrol_code SET used_at_ms = $2
             WHERE code_hash = $1 AND used_at_ms IS NULL AND expires_at_ms > $2 AND purpose = $3
               AND ($4::TEXT IS NULL OR tech_id = $4::TEXT)
             RETURNING code_hash",
        )
        .await
        .map_err(from_pg)?;
    match tx.query_opt(&stmt, &[&code_hash, &now_ms, &purpose, &tech_id]).await.map_err(from_pg)? {
        Some(_) => Ok(()),
        None => Err(StorageError::CodeRejected),
    }
}

/// Applies the migrations the database lacks, each in its own transaction
/// that first takes a transaction-scoped advisory lock: two processes
/// starting at once apply each migration once, the second waiting for the
/// first and then finding it recorded in `schema_migrations`.
async fn migrate(client: &mut deadpool_postgres::Client) -> StorageResult<()> {
    loop {
        let tx = begin(client).await?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK]).await.map_err(from_pg)?;
        let has_table: bool = get(
            &tx.query_one("SELECT to_regclass('schema_migrations') IS NOT NULL", &[])
                .await
                .map_err(from_pg)?,
            0,
        )?;
        let applied: i32 = if has_table {
            get(
                &tx.query_one("SELECT coalesce(max(version), 0) FROM schema_migrations", &[])
                    .await
                    .map_err(from_pg)?,
                0,
            )?
        } else {
            0
        };
        let applied = usize::try_from(applied).unwrap_or(0);
        if applied > MIGRATIONS.len() {
            return Err(StorageError::Backend(format!(
                "the database has {applied} migrations; this server knows {}",
                MIGRATIONS.len()
            )));
        }
        let Some(sql) = MIGRATIONS.get(applied) else {
            return tx.commit().await.map_err(from_pg);
        };
        tx.batch_execute(sql).await.map_err(from_pg)?;
        let version = i32::try_from(applied + 1).map_err(backend)?;
        tx.execute("INSERT INTO schema_migrations (version, applied_at) VALUES ($1, now())", &[&version])
            .await
            .map_err(from_pg)?;
        tx.commit().await.map_err(from_pg)?;
    }
}

impl PostgresStorage {
    /// Connects to `url` (`postgres://user[:password]@host[:port]/database`,
    /// or the key=value form; no TLS) and migrates the database. Fails when
    /// the server cannot be reached.
    pub async fn connect(url: &str) -> StorageResult<Self> {
        let mut config: tokio_postgres::Config = url.parse().map_err(from_pg)?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        let manager = Manager::new(config, NoTls);
        let pool = Pool::builder(manager)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(Duration::from_secs(30)))
            .create_timeout(Some(Duration::from_secs(15)))
            .recycle_timeout(Some(Duration::from_secs(5)))
            .build()
            .map_err(backend)?;
        let mut client = pool.get().await.map_err(from_pool)?;
        migrate(&mut client)
            .await
            .map_err(|e| StorageError::Backend(format!("migrating the database: {e}")))?;
        drop(client);
        Ok(Self { pool })
    }

    async fn client(&self) -> StorageResult<deadpool_postgres::Client> {
        self.pool.get().await.map_err(from_pool)
    }

    /// One attempt of `put_snapshot`. `Ok(None)` when a concurrent writer
    /// inserted the first revision of the same snapshot between our
    /// `SELECT … FOR UPDATE` (which found nothing to lock) and our INSERT:
    /// the transaction is dropped (rolled back) and the caller tries again,
    /// this time finding and locking that row.
    async fn try_put_snapshot(&self, put: &PutSnapshot) -> StorageResult<Option<Snapshot>> {
        let mut client = self.client().await?;
        let tx = begin(&mut client).await?;
        let kind = put.kind.as_str();
        let stmt = tx
            .prepare_cached("SELECT rev FROM snapshot WHERE kind = $1 AND id = $2 FOR UPDATE")
            .await
            .map_err(from_pg)?;
        let current = match tx.query_opt(&stmt, &[&kind, &put.id]).await.map_err(from_pg)? {
            Some(row) => Some(u(get(&row, 0)?)),
            None => None,
        };
        let stored = current.unwrap_or(0);
        if let Some(expected) = put.expected_rev
            && expected != stored
        {
            return Err(StorageError::StaleRevision { current: stored });
        }
        let rev = stored + 1;
        let body = to_json(&put.body)?;
        let scope = to_json(&put.scope)?;
        if current.is_some() {
            let stmt = tx
                .prepare_cached(
                    "UPDATE snapshot SET rev = $3, body = $4, scope = $5, updated_at_ms = $6
                     WHERE kind = $1 AND id = $2",
                )
                .await
                .map_err(from_pg)?;
            tx.execute(&stmt, &[&kind, &put.id, &i(rev), &body, &scope, &put.now_ms])
                .await
                .map_err(from_pg)?;
        } else {
            let stmt = tx
                .prepare_cached(
                    "INSERT INTO snapshot (kind, id, rev, body, scope, updated_at_ms)
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .await
                .map_err(from_pg)?;
            match tx.execute(&stmt, &[&kind, &put.id, &i(rev), &body, &scope, &put.now_ms]).await {
                Ok(_) => {}
                Err(e) if is_unique_violation(&e) => return Ok(None),
                Err(e) => return Err(from_pg(e)),
            }
        }
        let feed_seq = next(&tx, "feed_seq").await?;
        let stmt =
            tx.prepare_cached("DELETE FROM feed WHERE kind = $1 AND id = $2").await.map_err(from_pg)?;
        tx.execute(&stmt, &[&kind, &put.id]).await.map_err(from_pg)?;
        let stmt = tx
            .prepare_cached("INSERT INTO feed (feed_seq, kind, id) VALUES ($1, $2, $3)")
            .await
            .map_err(from_pg)?;
        tx.execute(&stmt, &[&i(feed_seq), &kind, &put.id]).await.map_err(from_pg)?;
        tx.commit().await.map_err(from_pg)?;
        Ok(Some(Snapshot {
            kind: put.kind,
            id: put.id.clone(),
            rev,
            body: put.body.clone(),
            scope: put.scope.clone(),
            updated_at_ms: put.now_ms,
        }))
    }

    async fn query_entry(
        &self,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> StorageResult<Option<StoredEntry>> {
        let client = self.client().await?;
        let stmt = client.prepare_cached(sql).await.map_err(from_pg)?;
        client.query_opt(&stmt, params).await.map_err(from_pg)?.as_ref().map(entry_row).transpose()
    }

    async fn query_entries(
        &self,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> StorageResult<Vec<StoredEntry>> {
        let client = self.client().await?;
        let stmt = client.prepare_cached(sql).await.map_err(from_pg)?;
        rows(client.query(&stmt, params).await.map_err(from_pg)?, entry_row)
    }
}

#[async_trait]
impl Storage for PostgresStorage {
    async fn server_secret(&self, fresh: [u8; 32]) -> StorageResult<[u8; 32]> {
        let client = self.client().await?;
        client
            .execute(
                "INSERT INTO meta (key, value) VALUES ('server_secret', $1) ON CONFLICT (key) DO NOTHING",
                &[&hex::encode(fresh)],
            )
            .await
            .map_err(from_pg)?;
        let row = client
            .query_one("SELECT value FROM meta WHERE key = 'server_secret'", &[])
            .await
            .map_err(from_pg)?;
        let text: &str = get(&row, 0)?;
        let mut out = [0u8; 32];
        hex::decode_to_slice(text, &mut out).map_err(backend)?;
        Ok(out)
    }

    async fn stored_server_secret(&self) -> StorageResult<Option<[u8; 32]>> {
        let client = self.client().await?;
        let row = client
            .query_opt("SELECT value FROM meta WHERE key = 'server_secret'", &[])
            .await
            .map_err(from_pg)?;
        row.map(|r| {
            let text: &str = get(&r, 0)?;
            let mut out = [0u8; 32];
            hex::decode_to_slice(text, &mut out).map_err(backend)?;
            Ok(out)
        })
        .transpose()
    }

    async fn database_epoch(&self, fresh: String) -> StorageResult<String> {
        let client = self.client().await?;
        client
            .execute(
                "INSERT INTO meta (key, value) VALUES ('epoch', $1) ON CONFLICT (key) DO NOTHING",
                &[&fresh],
            )
            .await
            .map_err(from_pg)?;
        let row =
            client.query_one("SELECT value FROM meta WHERE key = 'epoch'", &[]).await.map_err(from_pg)?;
        get(&row, 0)
    }

    async fn add_named_operator_token(&self, token_hash: &str, name: &str, now_ms: i64) -> StorageResult<()> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(
                "INSERT INTO operator_token (token_hash, name, created_at_ms) VALUES ($1, $2, $3)",
            )
            .await
            .map_err(from_pg)?;
        client.execute(&stmt, &[&token_hash, &name, &now_ms]).await.map_err(from_pg)?;
        Ok(())
    }

    async fn operator_name(&self, token_hash: &str) -> StorageResult<Option<String>> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached("SELECT name FROM operator_token WHERE token_hash = $1")
            .await
            .map_err(from_pg)?;
        client
            .query_opt(&stmt, &[&token_hash])
            .await
            .map_err(from_pg)?
            .as_ref()
            .map(|r| get(r, 0))
            .transpose()
    }

    async fn add_enrol_code(&self, code: NewEnrolCode) -> StorageResult<()> {
        let (purpose, tech_id) = match &code.purpose {
            CodePurpose::Device => ("device", None),
            CodePurpose::Technician { tech_id } => ("technician", Some(tech_id.as_str())),
        };
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(
                "INSERT INTO enrol_code (code_hash, purpose, tech_id, created_at_ms, expires_at_ms)
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .await
            .map_err(from_pg)?;
        client
            .execute(&stmt, &[&code.code_hash, &purpose, &tech_id, &code.created_at_ms, &code.expires_at_ms])
            .await
            .map_err(from_pg)?;
        Ok(())
    }

    async fn enrol_device(&self, code_hash: &str, device: NewDevice, now_ms: i64) -> StorageResult<()> {
        let mut client = self.client().await?;
        let tx = begin(&mut client).await?;
        consume_code(&tx, code_hash, "device", None, now_ms).await?;
        let stmt = tx
            .prepare_cached(
                "INSERT INTO device (device_id, name, public_key, kid, token_hash, enrolled_at_ms)
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .await
            .map_err(from_pg)?;
        tx.execute(
            &stmt,
            &[
                &device.device_id,
                &device.name,
                &&device.public_key[..],
                &device.kid,
                &device.token_hash,
                &now_ms,
            ],
        )
        .await
        .map_err(from_pg)?;
        tx.commit().await.map_err(from_pg)
    }

    async fn device_by_token(&self, token_hash: &str) -> StorageResult<Option<DeviceRow>> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(&format!("SELECT {DEVICE_COLUMNS} FROM device WHERE token_hash = $1"))
            .await
            .map_err(from_pg)?;
        client.query_opt(&stmt, &[&token_hash]).await.map_err(from_pg)?.as_ref().map(device_row).transpose()
    }

    async fn enrol_technician_key(
        &self,
        code_hash: &str,
        key: TechnicianKeyRow,
        now_ms: i64,
    ) -> StorageResult<()> {
        let mut client = self.client().await?;
        let tx = begin(&mut client).await?;
        consume_code(&tx, code_hash, "technician", Some(&key.tech_id), now_ms).await?;
        let stmt = tx
            .prepare_cached(
                "INSERT INTO technician_key (kid, tech_id, device_id, public_key, bound_at_ms)
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .await
            .map_err(from_pg)?;
        tx.execute(&stmt, &[&key.kid, &key.tech_id, &key.device_id, &&key.public_key[..], &now_ms])
            .await
            .map_err(from_pg)?;
        tx.commit().await.map_err(from_pg)
    }

    async fn device_keys(&self, device_id: &str) -> StorageResult<Option<DeviceKeys>> {
        // One REPEATABLE READ, read-only transaction: the device and its keys
        // come from the same snapshot.
        let mut client = self.client().await?;
        let tx = client
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await
            .map_err(from_pg)?;
        let stmt = tx
            .prepare_cached(&format!("SELECT {DEVICE_COLUMNS} FROM device WHERE device_id = $1"))
            .await
            .map_err(from_pg)?;
        let Some(device) = tx.query_opt(&stmt, &[&device_id]).await.map_err(from_pg)? else {
            return Ok(None);
        };
        let device = device_row(&device)?;
        let stmt = tx
            .prepare_cached(&format!(
                "SELECT {TECH_KEY_COLUMNS} FROM technician_key WHERE device_id = $1 ORDER BY bound_at_ms, kid"
            ))
            .await
            .map_err(from_pg)?;
        let technicians = rows(tx.query(&stmt, &[&device_id]).await.map_err(from_pg)?, tech_key_row)?;
        tx.commit().await.map_err(from_pg)?;
        Ok(Some(DeviceKeys { device, technicians }))
    }

    async fn revoke_device(&self, device_id: &str, effective_at_ms: i64) -> StorageResult<bool> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(
                "UPDATE device SET revoked_at_ms = coalesce(revoked_at_ms, $2) WHERE device_id = $1",
            )
            .await
            .map_err(from_pg)?;
        let n = client.execute(&stmt, &[&device_id, &effective_at_ms]).await.map_err(from_pg)?;
        Ok(n == 1)
    }

    async fn revoke_technician_key(
        &self,
        kid: &str,
        effective_at_ms: i64,
    ) -> StorageResult<Option<TechnicianKeyRow>> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(&format!(
                "UPDATE technician_key SET revoked_at_ms = coalesce(revoked_at_ms, $2) WHERE kid = $1
                 RETURNING {TECH_KEY_COLUMNS}"
            ))
            .await
            .map_err(from_pg)?;
        client
            .query_opt(&stmt, &[&kid, &effective_at_ms])
            .await
            .map_err(from_pg)?
            .as_ref()
            .map(tech_key_row)
            .transpose()
    }

    async fn put_snapshot(&self, put: PutSnapshot) -> StorageResult<Snapshot> {
        // The first revision of a snapshot has no row to lock; two writers
        // can both find nothing and both INSERT. The second INSERT waits for
        // the first to commit and fails with a unique violation; it is then
        // retried once, and that attempt locks the row like any update (and
        // reports StaleRevision when it expected rev 0).
        if let Some(snapshot) = self.try_put_snapshot(&put).await? {
            return Ok(snapshot);
        }
        match self.try_put_snapshot(&put).await? {
            Some(snapshot) => Ok(snapshot),
            None => Err(StorageError::Exists(format!(
                "snapshot {}/{} (concurrent first write)",
                put.kind.as_str(),
                put.id
            ))),
        }
    }

    async fn snapshot(&self, kind: SnapshotKind, id: &str) -> StorageResult<Option<Snapshot>> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(
                "SELECT kind, id, rev, body, scope, updated_at_ms FROM snapshot WHERE kind = $1 AND id = $2",
            )
            .await
            .map_err(from_pg)?;
        client
            .query_opt(&stmt, &[&kind.as_str(), &id])
            .await
            .map_err(from_pg)?
            .as_ref()
            .map(|r| snapshot_row(r, 0))
            .transpose()
    }

    async fn snapshots(&self, kind: SnapshotKind) -> StorageResult<Vec<Snapshot>> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(
                "SELECT kind, id, rev, body, scope, updated_at_ms FROM snapshot WHERE kind = $1 ORDER BY id",
            )
            .await
            .map_err(from_pg)?;
        rows(client.query(&stmt, &[&kind.as_str()]).await.map_err(from_pg)?, |r| snapshot_row(r, 0))
    }

    async fn feed_after(&self, after: u64, max: usize) -> StorageResult<Vec<FeedRow>> {
        // One statement, so one snapshot: each feed row is read with the
        // snapshot version written in the same transaction.
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(
                "SELECT f.feed_seq, s.kind, s.id, s.rev, s.body, s.scope, s.updated_at_ms
                 FROM feed f JOIN snapshot s ON s.kind = f.kind AND s.id = f.id
                 WHERE f.feed_seq > $1 ORDER BY f.feed_seq LIMIT $2",
            )
            .await
            .map_err(from_pg)?;
        rows(client.query(&stmt, &[&i(after), &limit(max)]).await.map_err(from_pg)?, |r| {
            Ok(FeedRow { feed_seq: u(get(r, 0)?), snapshot: snapshot_row(r, 1)? })
        })
    }

    async fn head(&self, device_id: &str) -> StorageResult<(u64, Option<String>)> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(
                "SELECT seq, entry_hash FROM entry WHERE device_id = $1 ORDER BY seq DESC LIMIT 1",
            )
            .await
            .map_err(from_pg)?;
        match client.query_opt(&stmt, &[&device_id]).await.map_err(from_pg)? {
            Some(row) => Ok((u(get(&row, 0)?), Some(get(&row, 1)?))),
            None => Ok((0, None)),
        }
    }

    async fn entry_at(&self, device_id: &str, seq: u64) -> StorageResult<Option<StoredEntry>> {
        self.query_entry(
            &format!("SELECT {ENTRY_COLUMNS} FROM entry WHERE device_id = $1 AND seq = $2"),
            &[&device_id, &i(seq)],
        )
        .await
    }

    async fn entry_by_record_id(&self, record_id: &str) -> StorageResult<Option<StoredEntry>> {
        self.query_entry(&format!("SELECT {ENTRY_COLUMNS} FROM entry WHERE record_id = $1"), &[&record_id])
            .await
    }

    async fn append_entry(&self, entry: NewEntry, sign: ReceiptSigner) -> StorageResult<StoredEntry> {
        let batch = BatchWrite { entries: vec![entry], ..BatchWrite::default() };
        let mut stored = self.append_batch(batch, sign).await?;
        stored.pop().ok_or_else(|| StorageError::Backend("append stored nothing".into()))
    }

    async fn append_batch(&self, batch: BatchWrite, sign: ReceiptSigner) -> StorageResult<Vec<StoredEntry>> {
        let BatchWrite { entries, conflicts, snapshots, new_snapshots, blob_refs } = batch;
        if entries.is_empty() && conflicts.is_empty() && snapshots.is_empty() && new_snapshots.is_empty() {
            return Ok(Vec::new());
        }
        let mut client = self.client().await?;
        // The whole batch in one statement (arrays unnested): one round trip
        // instead of one per entry, which was most of PostgreSQL's ingest time.
        let stmt = client
            .prepare_cached(
                "INSERT INTO entry (device_id, seq, server_seq, record_id, entry_hash, content_hash, schema, work_order_id,
                                    envelope, receipt, receipt_sig, flags, boot_id, device_time_ms, monotonic_ms, received_at_ms)
                 SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[],
                                      $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[],
                                      $14::bigint[], $15::bigint[], $16::bigint[])",
            )
            .await
            .map_err(from_pg)?;
        let tx = begin(&mut client).await?;
        // One range of server_seq for the whole batch. The counter row stays
        // locked to commit, so numbers are handed out in commit order.
        let count = i64::try_from(entries.len()).map_err(backend)?;
        let mut out = Vec::with_capacity(entries.len());
        if count > 0 {
            let last: i64 = tx
                .query_one(
                    "UPDATE counter SET value = value + $2 WHERE name = $1 RETURNING value",
                    &[&"server_seq", &count],
                )
                .await
                .map_err(from_pg)?
                .try_get(0)
                .map_err(from_pg)?;
            let first = u64::try_from(last - count + 1).map_err(backend)?;
            let mut rows = EntryColumns::with_capacity(entries.len());
            for (k, entry) in entries.into_iter().enumerate() {
                let server_seq = first + k as u64;
                let (receipt, receipt_sig) = entry.signed_receipt(server_seq, &sign)?;
                rows.push(&entry, server_seq, &receipt, &receipt_sig)?;
                out.push(entry.stored(receipt, receipt_sig));
            }
            tx.execute(
                &stmt,
                &[
                    &rows.device_id,
                    &rows.seq,
                    &rows.server_seq,
                    &rows.record_id,
                    &rows.entry_hash,
                    &rows.content_hash,
                    &rows.schema,
                    &rows.work_order_id,
                    &rows.envelope,
                    &rows.receipt,
                    &rows.receipt_sig,
                    &rows.flags,
                    &rows.boot_id,
                    &rows.device_time_ms,
                    &rows.monotonic_ms,
                    &rows.received_at_ms,
                ],
            )
            .await
            .map_err(from_pg)?;
        }
        for conflict in &conflicts {
            insert_conflict(&tx, conflict).await?;
        }
        if !blob_refs.is_empty() {
            let (devices, shas): (Vec<&str>, Vec<&str>) =
                blob_refs.iter().map(|(d, s)| (d.as_str(), s.as_str())).unzip();
            let stmt = tx
                .prepare_cached(
                    "INSERT INTO blob_ref (device_id, sha256) SELECT * FROM unnest($1::text[], $2::text[])
                     ON CONFLICT DO NOTHING",
                )
                .await
                .map_err(from_pg)?;
            tx.execute(&stmt, &[&devices, &shas]).await.map_err(from_pg)?;
        }
        // Every snapshot row first, the feed counter last and once: an office
        // write locks one snapshot row and then the counter, so taking the
        // counter after all rows cannot deadlock with it.
        let mut fed = Vec::new();
        for put in snapshots {
            fed.push(upsert_snapshot(&tx, put, false).await?);
        }
        for put in new_snapshots {
            fed.push(upsert_snapshot(&tx, put, true).await?);
        }
        let fed: Vec<(&'static str, String)> = fed.into_iter().flatten().collect();
        if !fed.is_empty() {
            let n = i64::try_from(fed.len()).map_err(backend)?;
            let last: i64 = tx
                .query_one(
                    "UPDATE counter SET value = value + $2 WHERE name = $1 RETURNING value",
                    &[&"feed_seq", &n],
                )
                .await
                .map_err(from_pg)?
                .try_get(0)
                .map_err(from_pg)?;
            let delete =
                tx.prepare_cached("DELETE FROM feed WHERE kind = $1 AND id = $2").await.map_err(from_pg)?;
            let insert = tx
                .prepare_cached("INSERT INTO feed (feed_seq, kind, id) VALUES ($1, $2, $3)")
                .await
                .map_err(from_pg)?;
            for (k, (kind, id)) in fed.iter().enumerate() {
                let feed_seq = last - n + 1 + k as i64;
                tx.execute(&delete, &[kind, id]).await.map_err(from_pg)?;
                tx.execute(&insert, &[&feed_seq, kind, id]).await.map_err(from_pg)?;
            }
        }
        tx.commit().await.map_err(from_pg)?;
        Ok(out)
    }

    async fn technician_key(&self, kid: &str) -> StorageResult<Option<TechnicianKeyRow>> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                "SELECT kid, tech_id, device_id, public_key, bound_at_ms, revoked_at_ms FROM technician_key WHERE kid = $1",
                &[&kid],
            )
            .await
            .map_err(from_pg)?;
        row.as_ref().map(tech_key_row).transpose()
    }

    async fn record_conflict(&self, conflict: NewConflict) -> StorageResult<()> {
        let mut client = self.client().await?;
        let tx = begin(&mut client).await?;
        insert_conflict(&tx, &conflict).await?;
        tx.commit().await.map_err(from_pg)
    }

    async fn conflicts(&self, device_id: &str) -> StorageResult<Vec<NewConflict>> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(
                "SELECT device_id, seq, kind, envelope, received_at_ms FROM conflict WHERE device_id = $1 ORDER BY id",
            )
            .await
            .map_err(from_pg)?;
        rows(client.query(&stmt, &[&device_id]).await.map_err(from_pg)?, |r| {
            Ok(NewConflict {
                device_id: get(r, 0)?,
                seq: u(get(r, 1)?),
                kind: get(r, 2)?,
                envelope: json_col(r, 3)?,
                received_at_ms: get(r, 4)?,
            })
        })
    }

    async fn entries_from(
        &self,
        device_id: &str,
        from_seq: u64,
        max: usize,
    ) -> StorageResult<Vec<StoredEntry>> {
        self.query_entries(
            &format!(
                "SELECT {ENTRY_COLUMNS} FROM entry WHERE device_id = $1 AND seq >= $2 ORDER BY seq LIMIT $3"
            ),
            &[&device_id, &i(from_seq), &limit(max)],
        )
        .await
    }

    async fn received_at_of_server_seq(
        &self,
        device_id: &str,
        server_seq: u64,
    ) -> StorageResult<Option<i64>> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached("SELECT received_at_ms FROM entry WHERE device_id = $1 AND server_seq = $2")
            .await
            .map_err(from_pg)?;
        match client.query_opt(&stmt, &[&device_id, &i(server_seq)]).await.map_err(from_pg)? {
            Some(row) => Ok(Some(get(&row, 0)?)),
            None => Ok(None),
        }
    }

    async fn last_entry_of_boot(&self, device_id: &str, boot_id: &str) -> StorageResult<Option<StoredEntry>> {
        self.query_entry(
            &format!(
                "SELECT {ENTRY_COLUMNS} FROM entry WHERE device_id = $1 AND boot_id = $2 ORDER BY seq DESC LIMIT 1"
            ),
            &[&device_id, &boot_id],
        )
        .await
    }

    async fn entries_for_work_order(&self, work_order_id: &str) -> StorageResult<Vec<StoredEntry>> {
        self.query_entries(
            &format!("SELECT {ENTRY_COLUMNS} FROM entry WHERE work_order_id = $1 ORDER BY server_seq"),
            &[&work_order_id],
        )
        .await
    }

    async fn add_operator_account(&self, a: OperatorAccount) -> StorageResult<()> {
        let client = self.client().await?;
        client
            .execute(
                "INSERT INTO operator_account (username, name, password_hash, roles, disabled, created_at_ms)
                 VALUES ($1, $2, $3, $4, $5, $6)",
                &[&a.username, &a.name, &a.password_hash, &a.roles.join(","), &a.disabled, &a.created_at_ms],
            )
            .await
            .map_err(from_pg)?;
        Ok(())
    }

    async fn operator_account(&self, username: &str) -> StorageResult<Option<OperatorAccount>> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                "SELECT username, name, password_hash, roles, disabled, created_at_ms
                 FROM operator_account WHERE username = $1",
                &[&username],
            )
            .await
            .map_err(from_pg)?;
        row.map(|r| {
            let roles: String = get(&r, 3)?;
            Ok(OperatorAccount {
                username: get(&r, 0)?,
                name: get(&r, 1)?,
                password_hash: get(&r, 2)?,
                roles: roles.split(',').filter(|x| !x.is_empty()).map(str::to_owned).collect(),
                disabled: get(&r, 4)?,
                created_at_ms: get(&r, 5)?,
            })
        })
        .transpose()
    }

    async fn set_operator_disabled(&self, username: &str, disabled: bool) -> StorageResult<bool> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(from_pg)?;
        let n = tx
            .execute("UPDATE operator_account SET disabled = $2 WHERE username = $1", &[&username, &disabled])
            .await
            .map_err(from_pg)?;
        if disabled {
            tx.execute("DELETE FROM operator_session WHERE username = $1", &[&username])
                .await
                .map_err(from_pg)?;
        }
        tx.commit().await.map_err(from_pg)?;
        Ok(n > 0)
    }

    async fn add_operator_session(&self, s: OperatorSession) -> StorageResult<()> {
        let client = self.client().await?;
        client
            .execute(
                "INSERT INTO operator_session (session_hash, username, csrf_hash, created_at_ms, last_seen_ms, expires_at_ms)
                 VALUES ($1, $2, $3, $4, $5, $6)",
                &[&s.session_hash, &s.username, &s.csrf_hash, &s.created_at_ms, &s.last_seen_ms, &s.expires_at_ms],
            )
            .await
            .map_err(from_pg)?;
        Ok(())
    }

    async fn operator_session(&self, session_hash: &str) -> StorageResult<Option<OperatorSession>> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                "SELECT session_hash, username, csrf_hash, created_at_ms, last_seen_ms, expires_at_ms
                 FROM operator_session WHERE session_hash = $1",
                &[&session_hash],
            )
            .await
            .map_err(from_pg)?;
        row.map(|r| {
            Ok(OperatorSession {
                session_hash: get(&r, 0)?,
                username: get(&r, 1)?,
                csrf_hash: get(&r, 2)?,
                created_at_ms: get(&r, 3)?,
                last_seen_ms: get(&r, 4)?,
                expires_at_ms: get(&r, 5)?,
            })
        })
        .transpose()
    }

    async fn touch_operator_session(&self, session_hash: &str, last_seen_ms: i64) -> StorageResult<()> {
        let client = self.client().await?;
        client
            .execute(
                "UPDATE operator_session SET last_seen_ms = GREATEST(last_seen_ms, $2) WHERE session_hash = $1",
                &[&session_hash, &last_seen_ms],
            )
            .await
            .map_err(from_pg)?;
        Ok(())
    }

    async fn delete_operator_session(&self, session_hash: &str) -> StorageResult<()> {
        let client = self.client().await?;
        client
            .execute("DELETE FROM operator_session WHERE session_hash = $1", &[&session_hash])
            .await
            .map_err(from_pg)?;
        Ok(())
    }

    async fn append_audit(&self, e: AuditEntry) -> StorageResult<()> {
        let client = self.client().await?;
        client
            .execute(
                "INSERT INTO office_audit (at_ms, actor, role, method, path, target, status, before_state, after_state)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                &[
                    &e.at_ms,
                    &e.actor,
                    &e.role,
                    &e.method,
                    &e.path,
                    &e.target,
                    &i32::from(e.status),
                    &e.before.as_ref().map(Value::to_string),
                    &e.after.as_ref().map(Value::to_string),
                ],
            )
            .await
            .map_err(from_pg)?;
        Ok(())
    }

    async fn audit_after(&self, after: i64, limit: usize) -> StorageResult<Vec<AuditEntry>> {
        let client = self.client().await?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = client
            .query(
                "SELECT id, at_ms, actor, role, method, path, target, status, before_state, after_state
                 FROM office_audit WHERE id > $1 ORDER BY id LIMIT $2",
                &[&after, &limit],
            )
            .await
            .map_err(from_pg)?;
        rows.iter()
            .map(|r| {
                Ok(AuditEntry {
                    id: get(r, 0)?,
                    at_ms: get(r, 1)?,
                    actor: get(r, 2)?,
                    role: get(r, 3)?,
                    method: get(r, 4)?,
                    path: get(r, 5)?,
                    target: get(r, 6)?,
                    status: u16::try_from(get::<i32>(r, 7)?).unwrap_or(0),
                    before: audit_state(get(r, 8)?),
                    after: audit_state(get(r, 9)?),
                })
            })
            .collect()
    }

    async fn add_review_decision(&self, d: ReviewDecision) -> StorageResult<()> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(
                "INSERT INTO review_decision (record_id, decision, note, operator, decided_at_ms) VALUES ($1, $2, $3, $4, $5)",
            )
            .await
            .map_err(from_pg)?;
        client
            .execute(&stmt, &[&d.record_id, &d.decision.as_str(), &d.note, &d.operator, &d.decided_at_ms])
            .await
            .map_err(from_pg)?;
        Ok(())
    }

    async fn blobs_named_by(&self, device_id: &str, sha256s: &[String]) -> StorageResult<Vec<String>> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached("SELECT sha256 FROM blob_ref WHERE device_id = $1 AND sha256 = ANY($2)")
            .await
            .map_err(from_pg)?;
        rows(client.query(&stmt, &[&device_id, &sha256s]).await.map_err(from_pg)?, |r| get(r, 0))
    }

    async fn add_rule_set_version(
        &self,
        body: Value,
        effective_at_ms: i64,
        set_by: &str,
    ) -> StorageResult<u64> {
        let mut client = self.client().await?;
        let tx = begin(&mut client).await?;
        // One writer at a time picks the next number.
        tx.execute("LOCK TABLE rule_set_version IN SHARE ROW EXCLUSIVE MODE", &[]).await.map_err(from_pg)?;
        let row = tx
            .query_one("SELECT COALESCE(MAX(version), 0) + 1 FROM rule_set_version", &[])
            .await
            .map_err(from_pg)?;
        let version: i64 = get(&row, 0)?;
        tx.execute(
            "INSERT INTO rule_set_version (version, effective_at_ms, body, set_by) VALUES ($1, $2, $3, $4)",
            &[&version, &effective_at_ms, &to_json(&body)?, &set_by],
        )
        .await
        .map_err(from_pg)?;
        tx.commit().await.map_err(from_pg)?;
        Ok(u(version))
    }

    async fn rule_set_versions(&self) -> StorageResult<Vec<RuleSetVersionRow>> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(
                "SELECT version, effective_at_ms, body, set_by FROM rule_set_version ORDER BY version",
            )
            .await
            .map_err(from_pg)?;
        rows(client.query(&stmt, &[]).await.map_err(from_pg)?, |r| {
            let body: String = get(r, 2)?;
            Ok(RuleSetVersionRow {
                version: u(get(r, 0)?),
                effective_at_ms: get(r, 1)?,
                body: serde_json::from_str(&body).map_err(backend)?,
                set_by: get(r, 3)?,
            })
        })
    }

    async fn review_decisions(&self, record_id: &str) -> StorageResult<Vec<ReviewDecision>> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(
                "SELECT record_id, decision, note, operator, decided_at_ms FROM review_decision
                 WHERE record_id = $1 ORDER BY id",
            )
            .await
            .map_err(from_pg)?;
        rows(client.query(&stmt, &[&record_id]).await.map_err(from_pg)?, |r| {
            let decision: String = get(r, 1)?;
            Ok(ReviewDecision {
                record_id: get(r, 0)?,
                decision: ReviewVerdict::parse(&decision).unwrap_or(ReviewVerdict::Reject),
                note: get(r, 2)?,
                operator: get(r, 3)?,
                decided_at_ms: get(r, 4)?,
            })
        })
    }

    async fn entry_count(&self) -> StorageResult<u64> {
        let client = self.client().await?;
        let row = client.query_one("SELECT count(*) FROM entry", &[]).await.map_err(from_pg)?;
        Ok(u(get(&row, 0)?))
    }

    async fn all_device_keys(&self) -> StorageResult<Vec<DeviceKeys>> {
        let mut client = self.client().await?;
        let tx = client
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await
            .map_err(from_pg)?;
        let devices = rows(
            tx.query(&format!("SELECT {DEVICE_COLUMNS} FROM device ORDER BY enrolled_at_ms, device_id"), &[])
                .await
                .map_err(from_pg)?,
            device_row,
        )?;
        let keys = rows(
            tx.query(
                &format!("SELECT {TECH_KEY_COLUMNS} FROM technician_key ORDER BY bound_at_ms, kid"),
                &[],
            )
            .await
            .map_err(from_pg)?,
            tech_key_row,
        )?;
        tx.commit().await.map_err(from_pg)?;
        Ok(devices
            .into_iter()
            .map(|device| {
                let technicians = keys.iter().filter(|k| k.device_id == device.device_id).cloned().collect();
                DeviceKeys { device, technicians }
            })
            .collect())
    }

    async fn last_received_by_device(&self) -> StorageResult<Vec<(String, i64)>> {
        let client = self.client().await?;
        let found = client
            .query("SELECT device_id, max(received_at_ms) FROM entry GROUP BY device_id", &[])
            .await
            .map_err(from_pg)?;
        rows(found, |r| Ok((get(r, 0)?, get(r, 1)?)))
    }

    async fn operator_accounts(&self) -> StorageResult<Vec<OperatorAccount>> {
        let client = self.client().await?;
        let found = client
            .query(
                "SELECT username, name, password_hash, roles, disabled, created_at_ms
                 FROM operator_account ORDER BY username",
                &[],
            )
            .await
            .map_err(from_pg)?;
        rows(found, |r| {
            let roles: String = get(r, 3)?;
            Ok(OperatorAccount {
                username: get(r, 0)?,
                name: get(r, 1)?,
                password_hash: get(r, 2)?,
                roles: roles.split(',').filter(|x| !x.is_empty()).map(str::to_owned).collect(),
                disabled: get(r, 4)?,
                created_at_ms: get(r, 5)?,
            })
        })
    }

    async fn add_revocation_note(&self, n: RevocationNote) -> StorageResult<()> {
        let client = self.client().await?;
        client
            .execute(
                "INSERT INTO revocation_note (subject_kind, subject, effective_at_ms, recorded_at_ms, recorded_by, reason)
                 VALUES ($1, $2, $3, $4, $5, $6)",
                &[&n.subject_kind, &n.subject, &n.effective_at_ms, &n.recorded_at_ms, &n.recorded_by, &n.reason],
            )
            .await
            .map_err(from_pg)?;
        Ok(())
    }

    async fn revocation_notes(&self) -> StorageResult<Vec<RevocationNote>> {
        let client = self.client().await?;
        let found = client
            .query(
                "SELECT subject_kind, subject, effective_at_ms, recorded_at_ms, recorded_by, reason
                 FROM revocation_note ORDER BY id",
                &[],
            )
            .await
            .map_err(from_pg)?;
        rows(found, |r| {
            Ok(RevocationNote {
                subject_kind: get(r, 0)?,
                subject: get(r, 1)?,
                effective_at_ms: get(r, 2)?,
                recorded_at_ms: get(r, 3)?,
                recorded_by: get(r, 4)?,
                reason: get(r, 5)?,
            })
        })
    }

    async fn search_entries(
        &self,
        search: super::record_search::RecordSearch,
    ) -> StorageResult<Vec<StoredEntry>> {
        use super::record_search::{Dialect, Param, search_sql};
        let (sql, params) = search_sql(&search, ENTRY_COLUMNS, Dialect::Postgres);
        let owned: Vec<Box<dyn tokio_postgres::types::ToSql + Sync + Send>> = params
            .into_iter()
            .map(|p| -> Box<dyn tokio_postgres::types::ToSql + Sync + Send> {
                match p {
                    Param::Text(t) => Box::new(t),
                    Param::Int(i) => Box::new(i),
                }
            })
            .collect();
        let refs: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> =
            owned.iter().map(|b| b.as_ref() as &(dyn tokio_postgres::types::ToSql + Sync)).collect();
        self.query_entries(&sql, &refs).await
    }

    async fn board_stale(&self, max: usize) -> StorageResult<Vec<(String, i64)>> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached("SELECT id, gen FROM work_order_board WHERE gen > built_gen LIMIT $1")
            .await
            .map_err(from_pg)?;
        rows(client.query(&stmt, &[&limit(max)]).await.map_err(from_pg)?, |r| Ok((get(r, 0)?, get(r, 1)?)))
    }

    async fn board_stale_count(&self) -> StorageResult<u64> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached("SELECT count(*) FROM work_order_board WHERE gen > built_gen")
            .await
            .map_err(from_pg)?;
        let row = client.query_one(&stmt, &[]).await.map_err(from_pg)?;
        Ok(u(get(&row, 0)?))
    }

    async fn board_stale_among(&self, ids: &[String]) -> StorageResult<Vec<(String, i64)>> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached("SELECT id, gen FROM work_order_board WHERE id = ANY($1) AND gen > built_gen")
            .await
            .map_err(from_pg)?;
        rows(client.query(&stmt, &[&ids]).await.map_err(from_pg)?, |r| Ok((get(r, 0)?, get(r, 1)?)))
    }

    async fn board_unaddressed(&self, after: &str, max: usize) -> StorageResult<Vec<String>> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(
                "SELECT id FROM work_order_board WHERE address_key = '' AND built_gen = 0 AND id > $1
                 ORDER BY id LIMIT $2",
            )
            .await
            .map_err(from_pg)?;
        rows(client.query(&stmt, &[&after, &limit(max)]).await.map_err(from_pg)?, |r| get(r, 0))
    }

    async fn board_set_addresses(&self, keys: Vec<(String, String)>) -> StorageResult<()> {
        let (ids, keys): (Vec<String>, Vec<String>) = keys.into_iter().unzip();
        let client = self.client().await?;
        client
            .execute(
                "UPDATE work_order_board b SET address_key = u.k
                 FROM unnest($1::text[], $2::text[]) AS u(id, k) WHERE b.id = u.id AND b.address_key = ''",
                &[&ids, &keys],
            )
            .await
            .map_err(from_pg)?;
        Ok(())
    }

    async fn board_put(&self, board: Vec<BoardRow>) -> StorageResult<()> {
        let mut client = self.client().await?;
        let tx = begin(&mut client).await?;
        let stmt = tx
            .prepare_cached(
                "UPDATE work_order_board SET built_gen = $2, status = $3, category = $4, technicians = $5,
                     search = $6, address_key = $7, received_at_ms = $8, due_ms = $9, late_due_ms = $10,
                     switch_ms = $11, is_repeat = $12, another_visit = $13, opened_on_site = $14
                 WHERE id = $1",
            )
            .await
            .map_err(from_pg)?;
        for r in &board {
            tx.execute(
                &stmt,
                &[
                    &r.id,
                    &r.built_from_gen,
                    &r.status,
                    &r.category,
                    &r.technicians_column(),
                    &r.search,
                    &r.address_key,
                    &r.received_at_ms,
                    &r.due_ms,
                    &r.late_due_ms,
                    &r.switch_ms,
                    &i64::from(r.repeat),
                    &i64::from(r.another_visit),
                    &i64::from(r.opened_on_site),
                ],
            )
            .await
            .map_err(from_pg)?;
        }
        tx.commit().await.map_err(from_pg)
    }

    async fn board_ids_at(&self, address_keys: &[String]) -> StorageResult<Vec<String>> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(
                "SELECT id FROM work_order_board WHERE address_key = ANY($1) AND address_key <> ''",
            )
            .await
            .map_err(from_pg)?;
        rows(client.query(&stmt, &[&address_keys]).await.map_err(from_pg)?, |r| get(r, 0))
    }

    async fn board_set_repeat(&self, flags: Vec<(String, bool)>) -> StorageResult<()> {
        let (ids, values): (Vec<String>, Vec<i64>) =
            flags.into_iter().map(|(id, f)| (id, i64::from(f))).unzip();
        let client = self.client().await?;
        client
            .execute(
                "UPDATE work_order_board b SET is_repeat = u.v
                 FROM unnest($1::text[], $2::bigint[]) AS u(id, v) WHERE b.id = u.id",
                &[&ids, &values],
            )
            .await
            .map_err(from_pg)?;
        Ok(())
    }

    async fn board_page(&self, query: &BoardQuery) -> StorageResult<Vec<(String, i64)>> {
        let (sql, binds) = query.sql(BoardDialect::Postgres);
        let values: Vec<Box<dyn tokio_postgres::types::ToSql + Sync + Send>> = binds
            .into_iter()
            .map(|b| -> Box<dyn tokio_postgres::types::ToSql + Sync + Send> {
                match b {
                    BoardParam::Int(v) => Box::new(v),
                    BoardParam::Text(t) => Box::new(t),
                }
            })
            .collect();
        let refs: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> =
            values.iter().map(|v| v.as_ref() as &(dyn tokio_postgres::types::ToSql + Sync)).collect();
        let client = self.client().await?;
        rows(client.query(&sql, &refs).await.map_err(from_pg)?, |r| Ok((get(r, 0)?, get(r, 1)?)))
    }

    async fn snapshots_of(&self, kind: SnapshotKind, ids: &[String]) -> StorageResult<Vec<Snapshot>> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(
                "SELECT kind, id, rev, body, scope, updated_at_ms FROM snapshot WHERE kind = $1 AND id = ANY($2)",
            )
            .await
            .map_err(from_pg)?;
        rows(client.query(&stmt, &[&kind.as_str(), &ids]).await.map_err(from_pg)?, |r| snapshot_row(r, 0))
    }

    async fn entries_for_work_orders(&self, ids: &[String]) -> StorageResult<Vec<StoredEntry>> {
        self.query_entries(
            &format!("SELECT {ENTRY_COLUMNS} FROM entry WHERE work_order_id = ANY($1) ORDER BY server_seq"),
            &[&ids],
        )
        .await
    }

    async fn received_at_of_server_seqs(
        &self,
        server_seqs: &[u64],
    ) -> StorageResult<std::collections::HashMap<u64, (String, i64)>> {
        let seqs: Vec<i64> = server_seqs.iter().map(|s| i(*s)).collect();
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(
                "SELECT server_seq, device_id, received_at_ms FROM entry WHERE server_seq = ANY($1)",
            )
            .await
            .map_err(from_pg)?;
        let found = rows(client.query(&stmt, &[&seqs]).await.map_err(from_pg)?, |r| {
            Ok((u(get(r, 0)?), (get::<String>(r, 1)?, get::<i64>(r, 2)?)))
        })?;
        Ok(found.into_iter().collect())
    }
}
