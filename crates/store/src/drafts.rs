//! Drafts: work in progress, editable until sealed. Their data obeys the
//! record rules from the start (no floats, no nulls, `[a-z0-9_]` keys,
//! ≤ 64 KiB) so a draft that saves is a draft that can seal.

use hearth_protocol::canonical::{self, CanonicalError};
use hearth_protocol::record::MAX_CONTENT_BYTES;
use rusqlite::{OptionalExtension, params};
use serde_json::{Map, Value};

use crate::{Store, StoreError};

#[derive(Debug, Clone, PartialEq)]
pub struct Draft {
    pub draft_id: String,
    pub schema: String,
    pub work_order_id: Option<String>,
    pub data: Map<String, Value>,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

/// Checks raw draft data from the UI and returns its canonical text.
fn accept_data(data: &[u8]) -> Result<String, StoreError> {
    let text = std::str::from_utf8(data)
        .map_err(|e| StoreError::Draft(CanonicalError::Malformed(format!("not UTF-8: {e}"))))?;
    let value: Value = serde_json::from_str(text)
        .map_err(|e| StoreError::Draft(CanonicalError::Malformed(e.to_string())))?;
    let bytes = canonical::canonicalize(&value).map_err(StoreError::Draft)?;
    if bytes.len() > MAX_CONTENT_BYTES {
        return Err(StoreError::DraftTooLarge { size: bytes.len(), limit: MAX_CONTENT_BYTES });
    }
    if !value.is_object() {
        return Err(StoreError::Draft(CanonicalError::Malformed("draft data must be a JSON object".into())));
    }
    String::from_utf8(bytes).map_err(|e| StoreError::Corrupt(e.to_string()))
}

impl Store {
    /// Creates or replaces a draft from raw JSON bytes. Bad data is refused
    /// with a clear error and nothing is written.
    pub fn save_draft(
        &self,
        draft_id: &str,
        schema: &str,
        work_order_id: Option<&str>,
        data: &[u8],
        now_ms: i64,
    ) -> Result<Draft, StoreError> {
        if draft_id.is_empty() {
            return Err(StoreError::DraftNotFound(String::new()));
        }
        let canonical = accept_data(data)?;
        self.conn.execute(
            "INSERT INTO draft (draft_id, schema, work_order_id, data, created_at_ms, updated_at_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?5)
             ON CONFLICT (draft_id) DO UPDATE SET schema = excluded.schema,
                 work_order_id = excluded.work_order_id, data = excluded.data, updated_at_ms = excluded.updated_at_ms",
            params![draft_id, schema, work_order_id, canonical, now_ms],
        )?;
        self.draft(draft_id)?.ok_or_else(|| StoreError::DraftNotFound(draft_id.to_owned()))
    }

    pub fn draft(&self, draft_id: &str) -> Result<Option<Draft>, StoreError> {
        let row = self
            .conn
            .query_row(
                "SELECT draft_id, schema, work_order_id, data, created_at_ms, updated_at_ms FROM draft WHERE draft_id = ?1",
                [draft_id],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, Option<String>>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, i64>(4)?,
                        r.get::<_, i64>(5)?,
                    ))
                },
            )
            .optional()?;
        row.map(|(draft_id, schema, work_order_id, data, created_at_ms, updated_at_ms)| {
            let data = serde_json::from_str(&data).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            Ok(Draft { draft_id, schema, work_order_id, data, created_at_ms, updated_at_ms })
        })
        .transpose()
    }

    /// Throws a draft away (it was never sealed, so nothing is lost from the record).
    pub fn discard_draft(&self, draft_id: &str) -> Result<bool, StoreError> {
        Ok(self.conn.execute("DELETE FROM draft WHERE draft_id = ?1", [draft_id])? > 0)
    }

    pub fn draft_count(&self) -> Result<u64, StoreError> {
        let n: i64 = self.conn.query_row("SELECT count(*) FROM draft", [], |r| r.get(0))?;
        Ok(u64::try_from(n).unwrap_or(0))
    }
}
