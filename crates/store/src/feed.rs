//! Server-derived tables: snapshots from the downward feed (protocol §7).
//! A page and its cursor are applied in one transaction; a reset drops only
//! these tables, never the chain, drafts or receipts.

use hearth_protocol::api::{FeedItem, FeedKind, FeedPage};
use rusqlite::{OptionalExtension, Transaction, params};
use serde_json::Value;

use crate::{Store, StoreError};

const TABLES: &[&str] = &[
    "feed_work_order",
    "feed_technician",
    "feed_thermometer",
    "feed_rule_set",
    "feed_key_revocation",
    "feed_review_status",
];

fn table(kind: FeedKind) -> &'static str {
    match kind {
        FeedKind::WorkOrder | FeedKind::WorkOrderRemoved => "feed_work_order",
        FeedKind::Technician => "feed_technician",
        FeedKind::Thermometer => "feed_thermometer",
        FeedKind::RuleSet => "feed_rule_set",
        FeedKind::KeyRevocation => "feed_key_revocation",
        FeedKind::ReviewStatus => "feed_review_status",
        // Not in TABLES: a reset must not forget that this tablet was revoked.
        FeedKind::DeviceRevocation => "device_revocation",
    }
}

fn apply_item(tx: &Transaction<'_>, item: &FeedItem) -> Result<(), StoreError> {
    let table = table(item.kind);
    // Statements are cached on the connection: a page of 500 orders is
    // prepared once, not 500 times (most of a page's cost before).
    if item.kind == FeedKind::WorkOrderRemoved {
        tx.prepare_cached(&format!("DELETE FROM {table} WHERE id = ?1 AND rev <= ?2"))?
            .execute(params![item.id, item.rev as i64])?;
        return Ok(());
    }
    let body = item
        .body
        .as_ref()
        .ok_or_else(|| StoreError::Corrupt(format!("feed item {} has no body", item.id)))?;
    let text = serde_json::to_string(body).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    // A snapshot never goes back in time: an older rev arriving late is ignored.
    tx.prepare_cached(&format!(
        "INSERT INTO {table} (id, rev, body) VALUES (?1, ?2, ?3)
         ON CONFLICT (id) DO UPDATE SET rev = excluded.rev, body = excluded.body WHERE excluded.rev >= {table}.rev"
    ))?
    .execute(params![item.id, item.rev as i64, text])?;
    Ok(())
}

impl Store {
    /// Applies one feed page and advances the cursor, atomically.
    /// Keys of this tablet's technicians that a page revokes are destroyed
    /// once it is applied (see [`Store::apply_key_revocations`]).
    pub fn apply_feed_page(&mut self, page: &FeedPage, now_ms: i64) -> Result<(), StoreError> {
        let revokes_keys = page.items.iter().any(|i| i.kind == FeedKind::KeyRevocation);
        self.apply_page(page, now_ms)?;
        if revokes_keys {
            self.apply_key_revocations()?;
        }
        Ok(())
    }

    fn apply_page(&mut self, page: &FeedPage, now_ms: i64) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        for item in &page.items {
            apply_item(&tx, item)?;
        }
        tx.execute(
            "INSERT INTO feed_cursor (id, cursor, updated_at_ms) VALUES (1, ?1, ?2)
             ON CONFLICT (id) DO UPDATE SET cursor = excluded.cursor, updated_at_ms = excluded.updated_at_ms",
            params![page.cursor, now_ms],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Destroys the wrapped key of every technician of this tablet whose key
    /// the office revoked, as the stored `key_revocation` snapshots say.
    /// Idempotent, and outside the page's transaction because the vault
    /// overwrites keys with `secure_delete` on; returns who lost their key now.
    pub fn apply_key_revocations(&self) -> Result<Vec<String>, StoreError> {
        let Some(device_id) = self.device_id()? else { return Ok(Vec::new()) };
        let mut revoked = Vec::new();
        for (_, _, body) in self.snapshots(FeedKind::KeyRevocation)? {
            let ours = body.get("device_id").and_then(Value::as_str) == Some(device_id.as_str());
            let kid = body.get("kid").and_then(Value::as_str);
            let at = body.get("effective_at_ms").and_then(Value::as_i64);
            if let (true, Some(kid), Some(at)) = (ours, kid, at)
                && let Some(tech_id) = crate::vault::revoke_key(&self.conn, kid, at)?
            {
                revoked.push(tech_id);
            }
        }
        Ok(revoked)
    }

    /// When the office revoked this tablet, if it did (the feed said so).
    pub fn device_revoked_at_ms(&self) -> Result<Option<i64>, StoreError> {
        let Some(device_id) = self.device_id()? else { return Ok(None) };
        Ok(self
            .snapshot(FeedKind::DeviceRevocation, &device_id)?
            .and_then(|b| b.get("effective_at_ms").and_then(Value::as_i64)))
    }

    /// Where the feed continues from; None means from the beginning.
    pub fn feed_cursor(&self) -> Result<Option<String>, StoreError> {
        Ok(self.conn.query_row("SELECT cursor FROM feed_cursor WHERE id = 1", [], |r| r.get(0)).optional()?)
    }

    /// The server said `reset`: drop the server-derived tables and the cursor only.
    pub fn reset_server_derived(&mut self) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        for t in TABLES {
            tx.execute(&format!("DELETE FROM {t}"), [])?;
        }
        tx.execute("DELETE FROM feed_cursor", [])?;
        tx.commit()?;
        Ok(())
    }

    /// Every snapshot of one kind, by id.
    pub fn snapshots(&self, kind: FeedKind) -> Result<Vec<(String, u64, Value)>, StoreError> {
        let mut stmt =
            self.conn.prepare(&format!("SELECT id, rev, body FROM {} ORDER BY id", table(kind)))?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?, r.get::<_, String>(2)?)))?;
        let mut out = Vec::new();
        for row in rows {
            let (id, rev, body) = row?;
            let body = serde_json::from_str(&body).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            out.push((id, u64::try_from(rev).unwrap_or(0), body));
        }
        Ok(out)
    }

    /// One snapshot, e.g. a work order or a thermometer by serial.
    pub fn snapshot(&self, kind: FeedKind, id: &str) -> Result<Option<Value>, StoreError> {
        let body: Option<String> = self
            .conn
            .query_row(&format!("SELECT body FROM {} WHERE id = ?1", table(kind)), [id], |r| r.get(0))
            .optional()?;
        body.map(|b| serde_json::from_str(&b).map_err(|e| StoreError::Corrupt(e.to_string()))).transpose()
    }
}
