//! Reading sealed records back: what the app shows and replays (a visit, a
//! test) comes from the chain itself, so it survives a restart.

use std::collections::HashMap;

use hearth_protocol::{Content, Digest, EncodedContent, ReceiptStatus, Sealed};
use rusqlite::{OptionalExtension, params};

use crate::{Store, StoreError, StoredBlob};

/// One sealed record with where it stands on its way to the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainRecord {
    pub seq: u64,
    pub content: Content,
    pub content_hash: Digest,
    pub sealed_at_ms: i64,
    /// The server's verdict, once its receipt is stored.
    pub receipt: Option<ReceiptStatus>,
    /// Failed attempts to send it so far; `None` once it left the outbox.
    pub send_attempts: Option<u32>,
}

impl Sealed for ChainRecord {
    fn content(&self) -> &Content {
        &self.content
    }
    fn content_hash(&self) -> Digest {
        self.content_hash
    }
}

const SELECT: &str = "SELECT c.seq, c.content, c.content_hash, c.sealed_at_ms, r.status, o.attempts
     FROM chain c LEFT JOIN receipt r ON r.seq = c.seq LEFT JOIN outbox o ON o.seq = c.seq";

fn read_row(row: &rusqlite::Row<'_>) -> Result<ChainRecord, StoreError> {
    let seq = u64::try_from(row.get::<_, i64>(0)?).unwrap_or(0);
    let bytes: Vec<u8> = row.get(1)?;
    let content = EncodedContent::from_bytes(&bytes)?.content().clone();
    let hash: String = row.get(2)?;
    let content_hash = hash
        .parse()
        .map_err(|_| StoreError::Corrupt(format!("the content hash at seq {seq} is not a hash")))?;
    let receipt = match row.get::<_, Option<String>>(4)?.as_deref() {
        None => None,
        Some("valid") => Some(ReceiptStatus::Valid),
        Some(_) => Some(ReceiptStatus::NeedsReview),
    };
    let send_attempts = row.get::<_, Option<i64>>(5)?.map(|a| u32::try_from(a).unwrap_or(u32::MAX));
    Ok(ChainRecord { seq, content, content_hash, sealed_at_ms: row.get(3)?, receipt, send_attempts })
}

/// When the server places a receipted record (protocol §8): after the
/// receipt the device held when it sealed it, and no later than the server
/// received it. The device's own clock claims are bracketed by these, on
/// the tablet as on the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerTimes {
    /// `received_at_ms` of the receipt named by the entry's `last_receipt_seq`.
    pub not_before_ms: Option<i64>,
    /// `received_at_ms` of this record's own receipt.
    pub received_at_ms: i64,
}

fn receipt_received_at(text: &str) -> Result<i64, StoreError> {
    serde_json::from_str::<hearth_protocol::Receipt>(text)
        .map(|r| r.received_at_ms)
        .map_err(|e| StoreError::Corrupt(format!("a stored receipt cannot be read: {e}")))
}

impl Store {
    /// The server's times of one work order's receipted records, by chain
    /// seq (records without a receipt are absent).
    pub fn server_times(&self, work_order_id: &str) -> Result<HashMap<u64, ServerTimes>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT c.seq, c.entry, r.receipt FROM chain c JOIN receipt r ON r.seq = c.seq
             WHERE c.work_order_id = ?1 ORDER BY c.seq",
        )?;
        let rows: Vec<(i64, Vec<u8>, String)> = stmt
            .query_map([work_order_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<Result<_, _>>()?;
        let mut held = self.conn.prepare_cached("SELECT receipt FROM receipt WHERE server_seq = ?1")?;
        let mut out = HashMap::with_capacity(rows.len());
        for (seq, entry, receipt) in rows {
            let entry: hearth_protocol::Entry = serde_json::from_slice(&entry)
                .map_err(|e| StoreError::Corrupt(format!("sealed entry {seq} cannot be read: {e}")))?;
            let not_before_ms = match entry.last_receipt_seq {
                Some(server_seq) => held
                    .query_row([i64::try_from(server_seq).unwrap_or(i64::MAX)], |r| r.get::<_, String>(0))
                    .optional()?
                    .map(|text| receipt_received_at(&text))
                    .transpose()?,
                None => None,
            };
            out.insert(
                u64::try_from(seq).unwrap_or(0),
                ServerTimes { not_before_ms, received_at_ms: receipt_received_at(&receipt)? },
            );
        }
        Ok(out)
    }

    /// Sealed records in chain order: all of them, or one work order's.
    pub fn chain_records(&self, work_order_id: Option<&str>) -> Result<Vec<ChainRecord>, StoreError> {
        let sql = match work_order_id {
            Some(_) => format!("{SELECT} WHERE c.work_order_id = ?1 ORDER BY c.seq"),
            None => format!("{SELECT} WHERE ?1 IS NULL ORDER BY c.seq"),
        };
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let mut rows = stmt.query(params![work_order_id])?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            out.push(read_row(row)?);
        }
        Ok(out)
    }

    /// Sealed records of one schema, in chain order.
    pub fn chain_records_of_schema(&self, schema: &str) -> Result<Vec<ChainRecord>, StoreError> {
        let mut stmt = self.conn.prepare_cached(&format!("{SELECT} WHERE c.schema = ?1 ORDER BY c.seq"))?;
        let mut rows = stmt.query([schema])?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            out.push(read_row(row)?);
        }
        Ok(out)
    }

    /// One sealed record by its record id.
    pub fn chain_record(&self, record_id: &str) -> Result<Option<ChainRecord>, StoreError> {
        let mut stmt = self.conn.prepare_cached(&format!("{SELECT} WHERE c.record_id = ?1"))?;
        let mut rows = stmt.query([record_id])?;
        rows.next()?.map(read_row).transpose()
    }

    /// A stored file's size and media type, if the store has it.
    pub fn stored_blob(&self, sha256: &Digest) -> Result<Option<StoredBlob>, StoreError> {
        let row: Option<(i64, String)> = self
            .conn
            .query_row("SELECT size, media_type FROM blob WHERE sha256 = ?1", [sha256.to_hex()], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()?;
        Ok(row.map(|(size, media_type)| StoredBlob {
            sha256: *sha256,
            size: u64::try_from(size).unwrap_or(0),
            media_type,
        }))
    }
}
