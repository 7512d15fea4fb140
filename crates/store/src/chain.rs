//! The sealed chain: `seal` appends one entry and its outbox row in one
//! `BEGIN IMMEDIATE` transaction; `verify_chain` re-checks every row.

use hearth_protocol::hash::{self, Digest, genesis_prev};
use hearth_protocol::seal::devsig_message;
use hearth_protocol::verify::decode_envelope;
use hearth_protocol::{
    ChainPosition, DeviceSignature, Envelope, Receipt, SealedRecord, SignedContent, TechSignature, b64,
    canonical, receipt,
};
use hearth_protocol::{Signature, VerifyingKey};
use rusqlite::{OptionalExtension, Transaction, TransactionBehavior, params};

use crate::{Store, StoreError};

/// What `verify_chain` found: every row checked, up to the head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainReport {
    pub entries: u64,
    pub head: Option<Digest>,
}

/// An entry waiting for its receipt.
#[derive(Debug, Clone)]
pub struct OutboxItem {
    pub seq: u64,
    pub envelope: Envelope,
    pub attempts: u32,
}

/// What `store_receipt` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReceiptOutcome {
    Stored,
    AlreadyStored,
    /// The entry already had a different receipt; the server received it twice.
    Reissued,
}

/// A receipt as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredReceipt {
    pub receipt: Receipt,
    pub receipt_sig: String,
}

fn to_u64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

fn parse_digest(text: &str, seq: u64) -> Result<Digest, StoreError> {
    text.parse().map_err(|_| StoreError::ChainBroken { seq, problem: "a stored hash is not a hash".into() })
}

impl Store {
    /// Appends `signed` to this device's chain and queues it for the server.
    ///
    /// One IMMEDIATE transaction takes the next seq and the previous hash,
    /// signs the entry with the device key, and writes the chain row and the
    /// outbox row (and drops the draft it came from). With WAL and
    /// `synchronous=FULL` the record is on disk when this returns Ok.
    pub fn seal(
        &mut self,
        signed: &SignedContent,
        sealed_at_ms: i64,
        consumes_draft: Option<&str>,
    ) -> Result<SealedRecord, StoreError> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let device_id: String = tx
            .prepare_cached("SELECT device_id FROM device_state WHERE id = 1")?
            .query_row([], |r| r.get(0))
            .optional()?
            .ok_or(StoreError::NotEnrolled)?;
        let content = signed.content().content();
        let taken: bool = tx
            .prepare_cached("SELECT EXISTS (SELECT 1 FROM chain WHERE record_id = ?1)")?
            .query_row([&content.record_id], |r| r.get(0))?;
        if taken {
            return Err(StoreError::RecordIdTaken(content.record_id.clone()));
        }
        for a in &content.attachments {
            let stored: bool = tx
                .prepare_cached("SELECT EXISTS (SELECT 1 FROM blob WHERE sha256 = ?1 AND size = ?2)")?
                .query_row(params![a.sha256.to_hex(), a.size as i64], |r| r.get(0))?;
            if !stored {
                return Err(StoreError::MissingBlob(a.sha256.to_hex()));
            }
        }
        let (seq, prev) = match tx
            .prepare_cached("SELECT seq, entry_hash FROM chain ORDER BY seq DESC LIMIT 1")?
            .query_row([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))
            .optional()?
        {
            Some((seq, hash)) => (to_u64(seq) + 1, parse_digest(&hash, to_u64(seq))?),
            None => (1, genesis_prev(&device_id)),
        };
        let last_receipt_seq: Option<i64> =
            tx.prepare_cached("SELECT max(server_seq) FROM receipt")?.query_row([], |r| r.get(0))?;
        let position = ChainPosition {
            device_id,
            seq,
            prev,
            sealed_at_ms,
            last_receipt_seq: last_receipt_seq.map(to_u64),
        };
        let sealed = hearth_protocol::seal(signed, position, self.identity.signing_key())
            .map_err(StoreError::Draft)?;
        insert_sealed(&tx, &sealed, signed)?;
        if let Some(draft_id) = consumes_draft
            && tx.prepare_cached("DELETE FROM draft WHERE draft_id = ?1")?.execute([draft_id])? == 0
        {
            return Err(StoreError::DraftNotFound(draft_id.to_owned()));
        }
        tx.commit()?;
        Ok(sealed)
    }

    /// Re-checks every stored row: contiguous seq from 1, canonical bytes,
    /// content and signature hashes, the prev link and the device signature.
    /// Names the first bad row.
    pub fn verify_chain(&self) -> Result<ChainReport, StoreError> {
        let device_id = match self.device_id()? {
            Some(id) => id,
            None => return Ok(ChainReport { entries: 0, head: None }),
        };
        let device_key = self.identity.public_key();
        let mut stmt = self.conn.prepare(
            "SELECT seq, record_id, prev, content_hash, sigs_hash, entry_hash, entry, content, tech_sigs, device_sig
             FROM chain ORDER BY seq",
        )?;
        let mut rows = stmt.query([])?;
        let mut expected_seq = 1u64;
        let mut prev = genesis_prev(&device_id);
        while let Some(row) = rows.next()? {
            let seq = to_u64(row.get(0)?);
            let broken = |problem: &str| StoreError::ChainBroken { seq, problem: problem.to_owned() };
            if seq != expected_seq {
                return Err(StoreError::ChainBroken {
                    seq: expected_seq,
                    problem: format!("missing; the next stored entry is seq {seq}"),
                });
            }
            let record_id: String = row.get(1)?;
            let stored_prev: String = row.get(2)?;
            let stored_content_hash: String = row.get(3)?;
            let stored_sigs_hash: String = row.get(4)?;
            let stored_entry_hash: String = row.get(5)?;
            let envelope = read_envelope(row, 6).map_err(|e| broken(&e.to_string()))?;
            let decoded = decode_envelope(&envelope).map_err(|e| broken(&e.to_string()))?;
            if decoded.entry.seq != seq || decoded.entry.device_id != device_id {
                return Err(broken("the entry names another seq or device"));
            }
            if decoded.entry.prev != prev || stored_prev != prev.to_hex() {
                return Err(broken("prev does not link to the entry before"));
            }
            if decoded.content().record_id != record_id
                || stored_content_hash != decoded.entry.content_hash.to_hex()
                || stored_sigs_hash != decoded.entry.sigs_hash.to_hex()
                || stored_entry_hash != decoded.entry_hash.to_hex()
            {
                return Err(broken("a stored column disagrees with the signed bytes"));
            }
            verify_device_signature(&device_key, &envelope.device_sig, &decoded.entry_hash)
                .map_err(|_| broken("the device signature does not verify"))?;
            prev = decoded.entry_hash;
            expected_seq += 1;
        }
        let entries = expected_seq - 1;
        Ok(ChainReport { entries, head: (entries > 0).then_some(prev) })
    }

    /// Entries still waiting for a receipt, oldest first.
    pub fn outbox(&self, limit: usize) -> Result<Vec<OutboxItem>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT o.seq, o.attempts, c.entry, c.content, c.tech_sigs, c.device_sig
             FROM outbox o JOIN chain c ON c.seq = o.seq ORDER BY o.seq LIMIT ?1",
        )?;
        let mut rows = stmt.query([limit as i64])?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            out.push(OutboxItem {
                seq: to_u64(row.get(0)?),
                attempts: u32::try_from(row.get::<_, i64>(1)?).unwrap_or(u32::MAX),
                envelope: read_envelope(row, 2)?,
            });
        }
        Ok(out)
    }

    /// Notes a failed attempt to send `seq` (for backoff and the status screen).
    pub fn note_send_failure(
        &self,
        seq: u64,
        error: &str,
        next_attempt_at_ms: i64,
    ) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE outbox SET attempts = attempts + 1, last_error = ?2, next_attempt_at_ms = ?3 WHERE seq = ?1",
            params![seq as i64, error, next_attempt_at_ms],
        )?;
        Ok(())
    }

    /// Stores the server's receipt for a sealed entry after checking that it
    /// is signed by the server and names exactly that entry; only then does
    /// the entry leave the outbox. Storing the same receipt twice is fine; a
    /// different receipt for the same entry is kept aside (`Reissued`).
    pub fn store_receipt(
        &mut self,
        receipt: &Receipt,
        receipt_sig: &str,
        server_key: &VerifyingKey,
        now_ms: i64,
    ) -> Result<ReceiptOutcome, StoreError> {
        let mut outcomes = self.store_receipts(&[(receipt, receipt_sig)], server_key, now_ms)?;
        outcomes.pop().ok_or_else(|| StoreError::Corrupt("no outcome for a receipt".into()))
    }

    /// `store_receipt` for a whole batch in one transaction (one fsync, not
    /// one per receipt). All or nothing: one bad receipt stores none.
    pub fn store_receipts(
        &mut self,
        receipts: &[(&Receipt, &str)],
        server_key: &VerifyingKey,
        now_ms: i64,
    ) -> Result<Vec<ReceiptOutcome>, StoreError> {
        for (receipt, receipt_sig) in receipts {
            receipt::verify_receipt(receipt, receipt_sig, server_key)
                .map_err(|_| StoreError::BadReceiptSignature)?;
        }
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let device_id: Option<String> =
            tx.query_row("SELECT device_id FROM device_state WHERE id = 1", [], |r| r.get(0)).optional()?;
        let mut outcomes = Vec::with_capacity(receipts.len());
        for (receipt, receipt_sig) in receipts {
            outcomes.push(insert_receipt(&tx, device_id.as_deref(), receipt, receipt_sig, now_ms)?);
        }
        tx.commit()?;
        Ok(outcomes)
    }

    /// The stored receipt for `seq`, if any.
    pub fn receipt(&self, seq: u64) -> Result<Option<StoredReceipt>, StoreError> {
        let row: Option<(String, String)> = self
            .conn
            .query_row("SELECT receipt, receipt_sig FROM receipt WHERE seq = ?1", [seq as i64], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()?;
        row.map(|(text, receipt_sig)| {
            let receipt = serde_json::from_str(&text).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            Ok(StoredReceipt { receipt, receipt_sig })
        })
        .transpose()
    }

    /// The envelope sealed at `seq`.
    pub fn envelope(&self, seq: u64) -> Result<Option<Envelope>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT entry, content, tech_sigs, device_sig FROM chain WHERE seq = ?1")?;
        let mut rows = stmt.query([seq as i64])?;
        rows.next()?.map(|row| read_envelope(row, 0)).transpose()
    }

    /// How many entries are sealed (the head seq).
    pub fn head_seq(&self) -> Result<u64, StoreError> {
        Ok(to_u64(self.conn.query_row("SELECT coalesce(max(seq), 0) FROM chain", [], |r| r.get(0))?))
    }

    /// How many entries still wait for a receipt.
    pub fn outbox_len(&self) -> Result<u64, StoreError> {
        Ok(to_u64(self.conn.query_row("SELECT count(*) FROM outbox", [], |r| r.get(0))?))
    }
}

fn insert_receipt(
    tx: &Transaction<'_>,
    device_id: Option<&str>,
    receipt: &Receipt,
    receipt_sig: &str,
    now_ms: i64,
) -> Result<ReceiptOutcome, StoreError> {
    let row: Option<(String, String)> = tx
        .query_row("SELECT record_id, entry_hash FROM chain WHERE seq = ?1", [receipt.seq as i64], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()?;
    let matches = matches!(&row, Some((rid, eh)) if *rid == receipt.record_id && *eh == receipt.entry_hash.to_hex())
        && device_id == Some(receipt.device_id.as_str());
    if !matches {
        return Err(StoreError::ReceiptMismatch { seq: receipt.seq });
    }
    let text = String::from_utf8(canonical::to_canonical(receipt).map_err(StoreError::Draft)?)
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let existing: Option<String> = tx
        .query_row("SELECT receipt FROM receipt WHERE seq = ?1", [receipt.seq as i64], |r| r.get(0))
        .optional()?;
    let outcome = match existing {
        Some(old) if old == text => ReceiptOutcome::AlreadyStored,
        Some(_) => {
            // Same entry (checked above), different receipt: the server lost
            // the entry and took it again. Keep the first receipt as proof
            // and the second as evidence of the loss.
            tx.execute(
                    "INSERT INTO receipt_reissued (seq, receipt, receipt_sig, stored_at_ms) VALUES (?1, ?2, ?3, ?4)",
                    params![receipt.seq as i64, text, receipt_sig, now_ms],
                )?;
            ReceiptOutcome::Reissued
        }
        None => {
            let status = match receipt.status {
                hearth_protocol::ReceiptStatus::Valid => "valid",
                hearth_protocol::ReceiptStatus::NeedsReview => "needs_review",
            };
            tx.execute(
                "INSERT INTO receipt (seq, server_seq, status, receipt, receipt_sig, stored_at_ms)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![receipt.seq as i64, receipt.server_seq as i64, status, text, receipt_sig, now_ms],
            )?;
            ReceiptOutcome::Stored
        }
    };
    tx.prepare_cached("DELETE FROM outbox WHERE seq = ?1")?.execute([receipt.seq as i64])?;
    Ok(outcome)
}

fn insert_sealed(
    tx: &Transaction<'_>,
    sealed: &SealedRecord,
    signed: &SignedContent,
) -> Result<(), StoreError> {
    let content = signed.content().content();
    let sigs = serde_json::to_string(signed.tech_sigs()).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let dsig =
        serde_json::to_string(&sealed.envelope.device_sig).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    tx.prepare_cached(
        "INSERT INTO chain (seq, record_id, schema, work_order_id, prev, content_hash, sigs_hash, entry_hash,
                            entry, content, tech_sigs, device_sig, sealed_at_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
    )?
    .execute(params![
        sealed.entry.seq as i64,
        content.record_id,
        content.schema,
        content.work_order_id,
        sealed.entry.prev.to_hex(),
        sealed.content_hash.to_hex(),
        sealed.entry.sigs_hash.to_hex(),
        sealed.entry_hash.to_hex(),
        sealed.entry_bytes,
        signed.content().bytes(),
        sigs,
        dsig,
        sealed.entry.sealed_at_ms,
    ])?;
    tx.prepare_cached("INSERT INTO outbox (seq, enqueued_at_ms) VALUES (?1, ?2)")?
        .execute(params![sealed.entry.seq as i64, sealed.entry.sealed_at_ms])?;
    for a in &content.attachments {
        tx.prepare_cached("INSERT OR IGNORE INTO chain_attachment (seq, sha256) VALUES (?1, ?2)")?
            .execute(params![sealed.entry.seq as i64, a.sha256.to_hex()])?;
    }
    Ok(())
}

/// The four chain columns that make the wire envelope, from column `at` on.
pub(crate) fn read_envelope(row: &rusqlite::Row<'_>, at: usize) -> Result<Envelope, StoreError> {
    let entry: Vec<u8> = row.get(at)?;
    let content: Vec<u8> = row.get(at + 1)?;
    let tech_sigs: Vec<TechSignature> = serde_json::from_str(&row.get::<_, String>(at + 2)?)
        .map_err(|_| StoreError::Corrupt("technician signatures unreadable".into()))?;
    let device_sig: DeviceSignature = serde_json::from_str(&row.get::<_, String>(at + 3)?)
        .map_err(|_| StoreError::Corrupt("device signature unreadable".into()))?;
    Ok(Envelope { entry: b64::encode(&entry), content: b64::encode(&content), tech_sigs, device_sig })
}

fn verify_device_signature(key: &VerifyingKey, sig: &DeviceSignature, entry_hash: &Digest) -> Result<(), ()> {
    if sig.kid != hash::kid(key.as_bytes()) {
        return Err(());
    }
    let raw = b64::decode_array::<64>(&sig.sig).ok_or(())?;
    key.verify_strict(&devsig_message(entry_hash), &Signature::from_bytes(&raw)).map_err(|_| ())
}
