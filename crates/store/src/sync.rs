//! What the sync engine keeps between runs: the server clock, blob uploads
//! in progress, each lane's lasting state, and the queries behind the sync
//! status. The engine itself (network, timing) lives in hearth-sync.

use hearth_protocol::Envelope;
use hearth_protocol::hash::Digest;
use hearth_protocol::verify::decode_envelope;
use rusqlite::{OptionalExtension, params};

use crate::chain::read_envelope;
use crate::{Store, StoreError};

/// The three sync lanes (issue 4): each drains its own queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lane {
    Records,
    Blobs,
    Feed,
}

impl Lane {
    pub const ALL: [Lane; 3] = [Lane::Records, Lane::Blobs, Lane::Feed];

    pub fn as_str(self) -> &'static str {
        match self {
            Lane::Records => "records",
            Lane::Blobs => "blobs",
            Lane::Feed => "feed",
        }
    }
}

/// A lane's lasting state as stored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LaneRecord {
    /// Set when a conflict or rejection stopped the lane: `(code, message, at)`.
    pub stopped: Option<(String, String, i64)>,
    pub last_success_ms: Option<i64>,
    pub last_error: Option<(String, i64)>,
}

/// The server clock as last measured (protocol §8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerClock {
    /// Server time minus device time, at the midpoint of the round trip.
    pub offset_ms: i64,
    pub rtt_ms: i64,
    pub server_time_ms: i64,
    pub measured_at_ms: i64,
}

impl ServerClock {
    /// Offset from a request sent at `sent_ms` and answered at `received_ms`
    /// (device clock) carrying the server's `server_time_ms`.
    pub fn measure(sent_ms: i64, received_ms: i64, server_time_ms: i64) -> Self {
        let rtt_ms = (received_ms - sent_ms).max(0);
        let midpoint = sent_ms + rtt_ms / 2;
        Self { offset_ms: server_time_ms - midpoint, rtt_ms, server_time_ms, measured_at_ms: received_ms }
    }

    /// The server's time when the device clock reads `device_now_ms`.
    pub fn server_time_at(&self, device_now_ms: i64) -> i64 {
        device_now_ms + self.offset_ms
    }
}

/// A measurement older than this is replaced even by a noisier one.
const CLOCK_STALE_MS: i64 = 10 * 60 * 1000;

/// A file still to reach the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingBlob {
    pub sha256: Digest,
    pub size: u64,
    pub media_type: String,
    pub stored_at_ms: i64,
    /// The tus upload's location, once created.
    pub upload_url: Option<String>,
    /// Bytes the server confirmed.
    pub confirmed_offset: u64,
    pub attempts: u32,
    pub next_attempt_at_ms: Option<i64>,
}

/// What is still waiting to be sent, for the status screen.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SyncCounts {
    pub pending_records: u64,
    pub oldest_pending_record_ms: Option<i64>,
    pub pending_blobs: u64,
    pub pending_blob_bytes: u64,
    pub oldest_pending_blob_ms: Option<i64>,
    /// Entries whose receipt was issued twice (the server lost data).
    pub reissued_receipts: u64,
    /// When the latest receipt was stored: a record last reached the server.
    pub last_receipt_ms: Option<i64>,
}

fn to_u64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

fn digest(text: String) -> Result<Digest, StoreError> {
    text.parse().map_err(|_| StoreError::Corrupt(format!("{text} is not a hash")))
}

impl Store {
    /// The last server clock measurement, if any.
    pub fn server_clock(&self) -> Result<Option<ServerClock>, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT offset_ms, rtt_ms, server_time_ms, measured_at_ms FROM server_clock WHERE id = 1",
                [],
                |r| {
                    Ok(ServerClock {
                        offset_ms: r.get(0)?,
                        rtt_ms: r.get(1)?,
                        server_time_ms: r.get(2)?,
                        measured_at_ms: r.get(3)?,
                    })
                },
            )
            .optional()?)
    }

    /// Keeps `clock` if its round trip was no longer than the stored one's,
    /// or the stored one is stale: a short round trip bounds the error best.
    pub fn record_server_clock(&self, clock: ServerClock) -> Result<bool, StoreError> {
        let changed = self.conn.execute(
            "INSERT INTO server_clock (id, offset_ms, rtt_ms, server_time_ms, measured_at_ms)
             VALUES (1, ?1, ?2, ?3, ?4)
             ON CONFLICT (id) DO UPDATE SET offset_ms = excluded.offset_ms, rtt_ms = excluded.rtt_ms,
                 server_time_ms = excluded.server_time_ms, measured_at_ms = excluded.measured_at_ms
             WHERE excluded.rtt_ms <= server_clock.rtt_ms
                OR excluded.measured_at_ms - server_clock.measured_at_ms > ?5
                OR excluded.measured_at_ms < server_clock.measured_at_ms",
            params![
                clock.offset_ms,
                clock.rtt_ms,
                clock.server_time_ms,
                clock.measured_at_ms,
                CLOCK_STALE_MS
            ],
        )?;
        Ok(changed > 0)
    }

    /// What `created.last_server_time_ms` of a record made now should say.
    pub fn last_server_time_ms(&self, device_now_ms: i64) -> Result<Option<i64>, StoreError> {
        Ok(self.server_clock()?.map(|c| c.server_time_at(device_now_ms)))
    }

    /// Sealed entries from `from_seq` on, in seq order: what a push sends.
    /// Read from the chain, not the outbox, so a server that lost entries it
    /// had receipted gets them again.
    pub fn entries_from(&self, from_seq: u64, limit: usize) -> Result<Vec<(u64, Envelope)>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT seq, entry, content, tech_sigs, device_sig FROM chain WHERE seq >= ?1 ORDER BY seq LIMIT ?2",
        )?;
        let mut rows = stmt.query(params![from_seq as i64, limit as i64])?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            out.push((to_u64(row.get(0)?), read_envelope(row, 1)?));
        }
        Ok(out)
    }

    /// The entry hash sealed at `seq`.
    pub fn entry_hash_at(&self, seq: u64) -> Result<Option<Digest>, StoreError> {
        let text: Option<String> = self
            .conn
            .query_row("SELECT entry_hash FROM chain WHERE seq = ?1", [seq as i64], |r| r.get(0))
            .optional()?;
        text.map(digest).transpose()
    }

    /// Seqs up to `up_to` still waiting for a receipt, oldest first.
    pub fn unreceipted_up_to(&self, up_to: u64) -> Result<Vec<u64>, StoreError> {
        let mut stmt = self.conn.prepare("SELECT seq FROM outbox WHERE seq <= ?1 ORDER BY seq")?;
        let rows = stmt.query_map([up_to as i64], |r| r.get::<_, i64>(0))?;
        rows.map(|r| Ok(to_u64(r?))).collect()
    }

    /// Every entry still without a receipt, with the ids of the files it refers
    /// to — what a rescue export carries.
    pub fn unreceipted_entries(&self) -> Result<Vec<(u64, Envelope, Vec<Digest>)>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT c.seq, c.entry, c.content, c.tech_sigs, c.device_sig
             FROM outbox o JOIN chain c ON c.seq = o.seq ORDER BY o.seq",
        )?;
        let mut rows = stmt.query([])?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            let seq = to_u64(row.get(0)?);
            let envelope = read_envelope(row, 1)?;
            let decoded = decode_envelope(&envelope)
                .map_err(|e| StoreError::ChainBroken { seq, problem: e.to_string() })?;
            let files = decoded.content().attachments.iter().map(|a| a.sha256).collect();
            out.push((seq, envelope, files));
        }
        Ok(out)
    }

    /// Files not yet known to be on the server, due for an attempt at `now_ms`.
    pub fn pending_blobs(&self, now_ms: i64, limit: usize) -> Result<Vec<PendingBlob>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT b.sha256, b.size, b.media_type, b.stored_at_ms,
                    u.upload_url, coalesce(u.confirmed_offset, 0), coalesce(u.attempts, 0), u.next_attempt_at_ms
             FROM blob b LEFT JOIN blob_upload u ON u.sha256 = b.sha256
             WHERE b.uploaded_at_ms IS NULL AND b.removed_at_ms IS NULL
               AND (u.next_attempt_at_ms IS NULL OR u.next_attempt_at_ms <= ?1)
             ORDER BY b.stored_at_ms, b.sha256 LIMIT ?2",
        )?;
        let mut rows = stmt.query(params![now_ms, limit as i64])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            out.push(PendingBlob {
                sha256: digest(r.get(0)?)?,
                size: to_u64(r.get(1)?),
                media_type: r.get(2)?,
                stored_at_ms: r.get(3)?,
                upload_url: r.get(4)?,
                confirmed_offset: to_u64(r.get(5)?),
                attempts: u32::try_from(r.get::<_, i64>(6)?).unwrap_or(u32::MAX),
                next_attempt_at_ms: r.get(7)?,
            });
        }
        Ok(out)
    }

    /// The earliest time a blob in backoff may be tried again.
    pub fn next_blob_attempt_ms(&self) -> Result<Option<i64>, StoreError> {
        Ok(self.conn.query_row(
            "SELECT min(u.next_attempt_at_ms) FROM blob_upload u JOIN blob b ON b.sha256 = u.sha256
             WHERE b.uploaded_at_ms IS NULL AND b.removed_at_ms IS NULL",
            [],
            |r| r.get(0),
        )?)
    }

    /// The server has this file.
    pub fn mark_blob_uploaded(&self, sha256: &Digest, now_ms: i64) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE blob SET uploaded_at_ms = ?2 WHERE sha256 = ?1 AND uploaded_at_ms IS NULL",
            params![sha256.to_hex(), now_ms],
        )?;
        self.conn.execute("DELETE FROM blob_upload WHERE sha256 = ?1", [sha256.to_hex()])?;
        Ok(())
    }

    /// Remembers where the upload of `sha256` lives and how far the server has it.
    pub fn save_upload_progress(
        &self,
        sha256: &Digest,
        upload_url: Option<&str>,
        confirmed_offset: u64,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO blob_upload (sha256, upload_url, confirmed_offset, updated_at_ms) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (sha256) DO UPDATE SET upload_url = excluded.upload_url,
                 confirmed_offset = excluded.confirmed_offset, updated_at_ms = excluded.updated_at_ms",
            params![sha256.to_hex(), upload_url, confirmed_offset as i64, now_ms],
        )?;
        Ok(())
    }

    /// A failed attempt at one file: its own backoff, never the other files'.
    pub fn note_blob_failure(
        &self,
        sha256: &Digest,
        error: &str,
        next_attempt_at_ms: i64,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO blob_upload (sha256, attempts, last_error, next_attempt_at_ms, updated_at_ms)
             VALUES (?1, 1, ?2, ?3, ?4)
             ON CONFLICT (sha256) DO UPDATE SET attempts = blob_upload.attempts + 1, last_error = excluded.last_error,
                 next_attempt_at_ms = excluded.next_attempt_at_ms, updated_at_ms = excluded.updated_at_ms",
            params![sha256.to_hex(), error, next_attempt_at_ms, now_ms],
        )?;
        Ok(())
    }

    /// A success on one file ends its backoff.
    pub fn clear_blob_backoff(&self, sha256: &Digest) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE blob_upload SET attempts = 0, next_attempt_at_ms = NULL, last_error = NULL WHERE sha256 = ?1",
            [sha256.to_hex()],
        )?;
        Ok(())
    }

    /// The server is back: every file waiting out a failure may go now
    /// (attempts are kept, so a file that keeps failing still backs off).
    pub fn retry_blobs_now(&self) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE blob_upload SET next_attempt_at_ms = NULL WHERE next_attempt_at_ms IS NOT NULL",
            [],
        )?;
        Ok(())
    }

    /// Deletes the files the tablet no longer needs: the server has the blob,
    /// at least one sealed record refers to it, every record referring to it
    /// has a receipt, and no draft names it. Returns the files removed.
    pub fn prune_uploaded_blobs(&self, now_ms: i64) -> Result<Vec<Digest>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT b.sha256 FROM blob b
             WHERE b.uploaded_at_ms IS NOT NULL AND b.removed_at_ms IS NULL
               AND EXISTS (SELECT 1 FROM chain_attachment ca WHERE ca.sha256 = b.sha256)
               AND NOT EXISTS (SELECT 1 FROM chain_attachment ca JOIN outbox o ON o.seq = ca.seq
                               WHERE ca.sha256 = b.sha256)
               AND NOT EXISTS (SELECT 1 FROM draft d WHERE instr(d.data, b.sha256) > 0)",
        )?;
        let ids: Vec<String> = stmt.query_map([], |r| r.get(0))?.collect::<Result<_, _>>()?;
        let mut removed = Vec::with_capacity(ids.len());
        for id in ids {
            let sha256 = digest(id)?;
            // The row first: a crash after it leaves a stray file, never a row
            // that points at nothing.
            self.conn.execute(
                "UPDATE blob SET removed_at_ms = ?2 WHERE sha256 = ?1",
                params![sha256.to_hex(), now_ms],
            )?;
            match std::fs::remove_file(self.blob_path(&sha256)) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e.into()),
            }
            removed.push(sha256);
        }
        Ok(removed)
    }

    /// Whether the file of `sha256` was removed after upload.
    pub fn blob_removed(&self, sha256: &Digest) -> Result<bool, StoreError> {
        let at: Option<Option<i64>> = self
            .conn
            .query_row("SELECT removed_at_ms FROM blob WHERE sha256 = ?1", [sha256.to_hex()], |r| r.get(0))
            .optional()?;
        Ok(matches!(at, Some(Some(_))))
    }

    /// The lasting state of `lane`.
    pub fn lane(&self, lane: Lane) -> Result<LaneRecord, StoreError> {
        let row = self
            .conn
            .query_row(
                "SELECT stopped_code, stopped_message, stopped_at_ms, last_success_ms, last_error, last_error_at_ms
                 FROM sync_lane WHERE lane = ?1",
                [lane.as_str()],
                |r| {
                    let stopped = match (r.get::<_, Option<String>>(0)?, r.get::<_, Option<String>>(1)?) {
                        (Some(code), message) => {
                            Some((code, message.unwrap_or_default(), r.get::<_, Option<i64>>(2)?.unwrap_or(0)))
                        }
                        _ => None,
                    };
                    let last_error = match (r.get::<_, Option<String>>(4)?, r.get::<_, Option<i64>>(5)?) {
                        (Some(e), Some(at)) => Some((e, at)),
                        _ => None,
                    };
                    Ok(LaneRecord { stopped, last_success_ms: r.get(3)?, last_error })
                },
            )
            .optional()?;
        Ok(row.unwrap_or_default())
    }

    fn touch_lane(&self, lane: Lane) -> Result<(), StoreError> {
        self.conn.execute("INSERT OR IGNORE INTO sync_lane (lane) VALUES (?1)", [lane.as_str()])?;
        Ok(())
    }

    /// A conflict or rejection: the lane stops until `resume_lane`.
    pub fn stop_lane(&self, lane: Lane, code: &str, message: &str, now_ms: i64) -> Result<(), StoreError> {
        self.touch_lane(lane)?;
        self.conn.execute(
            "UPDATE sync_lane SET stopped_code = ?2, stopped_message = ?3, stopped_at_ms = ?4 WHERE lane = ?1",
            params![lane.as_str(), code, message, now_ms],
        )?;
        Ok(())
    }

    /// Support has looked at the alert: the lane may run again.
    pub fn resume_lane(&self, lane: Lane) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE sync_lane SET stopped_code = NULL, stopped_message = NULL, stopped_at_ms = NULL WHERE lane = ?1",
            [lane.as_str()],
        )?;
        Ok(())
    }

    pub fn note_lane_success(&self, lane: Lane, now_ms: i64) -> Result<(), StoreError> {
        self.touch_lane(lane)?;
        self.conn.execute(
            "UPDATE sync_lane SET last_success_ms = ?2 WHERE lane = ?1",
            params![lane.as_str(), now_ms],
        )?;
        Ok(())
    }

    pub fn note_lane_error(&self, lane: Lane, error: &str, now_ms: i64) -> Result<(), StoreError> {
        self.touch_lane(lane)?;
        self.conn.execute(
            "UPDATE sync_lane SET last_error = ?2, last_error_at_ms = ?3 WHERE lane = ?1",
            params![lane.as_str(), error, now_ms],
        )?;
        Ok(())
    }

    /// What still waits to be sent.
    pub fn sync_counts(&self) -> Result<SyncCounts, StoreError> {
        let (pending_records, oldest_pending_record_ms): (i64, Option<i64>) =
            self.conn.query_row("SELECT count(*), min(enqueued_at_ms) FROM outbox", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?;
        let (pending_blobs, bytes, oldest): (i64, i64, Option<i64>) = self.conn.query_row(
            "SELECT count(*), coalesce(sum(size), 0), min(stored_at_ms) FROM blob
             WHERE uploaded_at_ms IS NULL AND removed_at_ms IS NULL",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
        let reissued: i64 =
            self.conn.query_row("SELECT count(DISTINCT seq) FROM receipt_reissued", [], |r| r.get(0))?;
        let last_receipt_ms: Option<i64> =
            self.conn.query_row("SELECT max(stored_at_ms) FROM receipt", [], |r| r.get(0))?;
        Ok(SyncCounts {
            pending_records: to_u64(pending_records),
            oldest_pending_record_ms,
            pending_blobs: to_u64(pending_blobs),
            pending_blob_bytes: to_u64(bytes),
            oldest_pending_blob_ms: oldest,
            reissued_receipts: to_u64(reissued),
            last_receipt_ms,
        })
    }

    /// The media type of a stored file.
    pub fn blob_media_type(&self, sha256: &Digest) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT media_type FROM blob WHERE sha256 = ?1", [sha256.to_hex()], |r| r.get(0))
            .optional()?)
    }
}

/// The server this tablet is enrolled with.
#[derive(Clone, PartialEq, Eq)]
pub struct ServerLink {
    pub server_url: String,
    pub device_token: String,
    pub server_kid: String,
    pub server_public_key: [u8; 32],
}

// The token is a secret: never in Debug output or logs.
impl std::fmt::Debug for ServerLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerLink")
            .field("server_url", &self.server_url)
            .field("server_kid", &self.server_kid)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Records the server link at enrolment, with the device id, in one transaction.
    pub fn link_server(&mut self, device_id: &str, link: &ServerLink, now_ms: i64) -> Result<(), StoreError> {
        self.set_device_id(device_id, now_ms)?;
        self.conn.execute(
            "INSERT INTO server_link (id, server_url, device_token, server_kid, server_public_key, linked_at_ms)
             VALUES (1, ?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (id) DO UPDATE SET server_url = excluded.server_url, device_token = excluded.device_token,
                 server_kid = excluded.server_kid, server_public_key = excluded.server_public_key",
            params![link.server_url, link.device_token, link.server_kid, &link.server_public_key[..], now_ms],
        )?;
        Ok(())
    }

    /// The server link, once enrolled.
    pub fn server_link(&self) -> Result<Option<ServerLink>, StoreError> {
        let row: Option<(String, String, String, Vec<u8>)> = self
            .conn
            .query_row(
                "SELECT server_url, device_token, server_kid, server_public_key FROM server_link WHERE id = 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()?;
        row.map(|(server_url, device_token, server_kid, key)| {
            let server_public_key =
                key.try_into().map_err(|_| StoreError::Corrupt("the server key is not 32 bytes".into()))?;
            Ok(ServerLink { server_url, device_token, server_kid, server_public_key })
        })
        .transpose()
    }

    /// Points the tablet at a server address (the same server moved, e.g. a new host name).
    pub fn set_server_url(&self, server_url: &str) -> Result<(), StoreError> {
        self.conn.execute("UPDATE server_link SET server_url = ?1 WHERE id = 1", [server_url])?;
        Ok(())
    }
}
