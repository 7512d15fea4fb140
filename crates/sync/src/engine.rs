//! The engine: three lanes, each a drain loop that runs until its queue is
//! empty (records, blobs, feed), woken by start, a nudge (a record sealed, a
//! photo stored), a timer, or connectivity regained. Every lane plans from
//! what the store and the server say, then acts; nothing is held in memory
//! that a restart would need.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use futures_util::StreamExt;
use hearth_protocol::api::{EntryResult, EntryStatus, MAX_BATCH_ENTRIES};
use hearth_protocol::{Digest, VerifyingKey};
use hearth_store::{Lane, PendingBlob, ServerClock, Store, StoreError, SyncCounts};
use serde::Serialize;
use tokio::sync::{Notify, watch};

use crate::backoff::Backoff;
use crate::client::{FeedAnswer, RequestStats, ServerClient};
use crate::{SyncError, now_ms};

/// The tablet's store, shared between the app and the engine. Locks are held
/// only for one store call, never across a network wait.
pub type SharedStore = Arc<Mutex<Store>>;

/// Tunables; the defaults suit a tablet on a weak mobile link.
#[derive(Debug, Clone)]
pub struct SyncConfig {
    /// Entries per push (the server takes at most 200).
    pub batch_size: usize,
    /// Bytes per tus PATCH to start with, and the least it shrinks to: small
    /// enough to finish on a weak mobile link.
    pub chunk_size: usize,
    /// What the chunk grows to while chunks go through quickly (a good link).
    pub max_chunk_size: usize,
    /// Files uploaded at once.
    pub parallel_uploads: usize,
    pub feed_page: usize,
    /// Largest push body the engine builds (the protocol's 2 MiB). A server
    /// with a lower limit answers 413 and the batch is halved.
    pub max_batch_bytes: usize,
    /// How often the lanes run when nothing nudges them.
    pub timer: Duration,
    /// While a lane waits out a failure, how often a cheap request asks
    /// whether the server is back; when it answers, the backoff is dropped
    /// and everything waiting leaves at once instead of at the next backoff tick.
    pub probe_interval: Duration,
    pub backoff: Backoff,
    /// Each file's own backoff, so one bad photo never slows the others.
    pub blob_backoff: Backoff,
    /// Overrides the enrolled server address (tests route through a proxy).
    pub server_url: Option<String>,
}

impl Default for SyncConfig {
    fn default() -> Self {
        Self {
            batch_size: MAX_BATCH_ENTRIES,
            chunk_size: 256 * 1024,
            max_chunk_size: 4 * 1024 * 1024,
            parallel_uploads: 2,
            feed_page: 500,
            max_batch_bytes: hearth_protocol::api::MAX_BATCH_BYTES,
            timer: Duration::from_secs(60),
            probe_interval: Duration::from_secs(5),
            backoff: Backoff::default(),
            blob_backoff: Backoff::default(),
            server_url: None,
        }
    }
}

/// What a lane is doing, for the status line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum LaneState {
    Idle,
    Working,
    BackingOff {
        #[cfg_attr(feature = "ts", ts(type = "number"))]
        until_ms: i64,
        failures: u32,
    },
    /// A conflict or rejection: needs a person; stays stopped across restarts.
    Stopped {
        code: String,
        message: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct LaneStatus {
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub lane: &'static str,
    pub state: LaneState,
    #[cfg_attr(feature = "ts", ts(type = "number | null"))]
    pub last_success_ms: Option<i64>,
    pub last_error: Option<String>,
}

/// Everything the app shows about sync.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SyncStatus {
    /// False before the tablet is enrolled: there is no server to sync with.
    pub enrolled: bool,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub pending_records: u64,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub pending_blobs: u64,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub pending_blob_bytes: u64,
    /// When the oldest item still waiting was made (device clock).
    #[cfg_attr(feature = "ts", ts(type = "number | null"))]
    pub oldest_pending_ms: Option<i64>,
    /// When a record last reached the server: its receipt stored here
    /// (device clock). What "last synced" means; a lane that ran with
    /// nothing to send, or a server that is down, never moves it.
    #[cfg_attr(feature = "ts", ts(type = "number | null"))]
    pub last_receipt_ms: Option<i64>,
    /// `(code, plain words)` of the latest failure, if the latest attempt failed.
    pub last_error: Option<(String, String)>,
    pub lanes: Vec<LaneStatus>,
    /// Entries the server had to take twice (it lost data): kept as evidence.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub reissued_receipts: u64,
}

/// What is waiting, before any lane has run (lanes idle, nothing synced yet).
impl From<&SyncCounts> for SyncStatus {
    fn from(counts: &SyncCounts) -> Self {
        Self {
            pending_records: counts.pending_records,
            pending_blobs: counts.pending_blobs,
            pending_blob_bytes: counts.pending_blob_bytes,
            oldest_pending_ms: [counts.oldest_pending_record_ms, counts.oldest_pending_blob_ms]
                .into_iter()
                .flatten()
                .min(),
            last_receipt_ms: counts.last_receipt_ms,
            reissued_receipts: counts.reissued_receipts,
            ..Self::default()
        }
    }
}

/// What one pass did; summed over the engine's life in [`SyncEngine::totals`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct SyncReport {
    pub accepted: u64,
    pub duplicates: u64,
    pub needs_review: u64,
    pub gaps: u64,
    pub receipts_fetched: u64,
    pub reissued_receipts: u64,
    pub batches_halved: u64,
    pub blobs_uploaded: u64,
    pub blobs_already_there: u64,
    pub blob_failures: u64,
    pub blobs_pruned: u64,
    pub feed_items: u64,
    pub feed_resets: u64,
    pub transient_failures: u64,
}

impl SyncReport {
    fn add(&mut self, o: &SyncReport) {
        self.accepted += o.accepted;
        self.duplicates += o.duplicates;
        self.needs_review += o.needs_review;
        self.gaps += o.gaps;
        self.receipts_fetched += o.receipts_fetched;
        self.reissued_receipts += o.reissued_receipts;
        self.batches_halved += o.batches_halved;
        self.blobs_uploaded += o.blobs_uploaded;
        self.blobs_already_there += o.blobs_already_there;
        self.blob_failures += o.blob_failures;
        self.blobs_pruned += o.blobs_pruned;
        self.feed_items += o.feed_items;
        self.feed_resets += o.feed_resets;
        self.transient_failures += o.transient_failures;
    }
}

/// Whether a lane's drain heard from the server: one with nothing to send
/// may not have asked it anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Contact {
    None,
    Answered,
}

/// Why a lane's drain ended early.
#[derive(Debug)]
enum LaneStop {
    /// Try again after backoff.
    Transient(SyncError),
    /// Needs a person: the lane stops and the app raises an alert.
    Alert { code: String, message: String },
}

impl From<SyncError> for LaneStop {
    fn from(e: SyncError) -> Self {
        if e.is_transient() {
            LaneStop::Transient(e)
        } else {
            LaneStop::Alert { code: e.code().to_owned(), message: e.to_string() }
        }
    }
}

impl From<StoreError> for LaneStop {
    fn from(e: StoreError) -> Self {
        LaneStop::Transient(SyncError::Store(e))
    }
}

#[derive(Debug, Clone, Copy, Default)]
struct LaneRuntime {
    working: bool,
    failures: u32,
    until_ms: Option<i64>,
}

#[derive(Debug, Default)]
struct Runtime {
    lanes: [LaneRuntime; 3],
    /// Where the next push starts; None means "ask the server's head first".
    next_push_seq: Option<u64>,
    batch_size: usize,
    /// The tus chunk now, between `chunk_size` and `max_chunk_size`.
    chunk_size: usize,
    totals: SyncReport,
    last_error: Option<(String, String, i64)>,
}

fn index(lane: Lane) -> usize {
    match lane {
        Lane::Records => 0,
        Lane::Blobs => 1,
        Lane::Feed => 2,
    }
}

/// The sync engine of one tablet.
#[derive(Debug)]
pub struct SyncEngine {
    store: SharedStore,
    client: ServerClient,
    device_id: String,
    server_key: VerifyingKey,
    cfg: SyncConfig,
    runtime: Mutex<Runtime>,
    wake: Notify,
    status: watch::Sender<SyncStatus>,
}

impl SyncEngine {
    /// An engine for the server this tablet is enrolled with.
    pub fn new(store: SharedStore, cfg: SyncConfig) -> Result<Arc<Self>, SyncError> {
        let (link, device_id) = {
            let s = lock(&store);
            (s.server_link()?.ok_or(SyncError::NotLinked)?, s.device_id()?.ok_or(SyncError::NotLinked)?)
        };
        let server_key = VerifyingKey::from_bytes(&link.server_public_key).map_err(|_| {
            SyncError::Store(StoreError::Corrupt("the stored server key is not a key".into()))
        })?;
        let base = cfg.server_url.clone().unwrap_or(link.server_url);
        let client = ServerClient::new(&base, Some(link.device_token))?;
        let runtime = Runtime {
            batch_size: cfg.batch_size.clamp(1, MAX_BATCH_ENTRIES),
            chunk_size: cfg.chunk_size.max(1),
            ..Runtime::default()
        };
        let engine = Arc::new(Self {
            store,
            client,
            device_id,
            server_key,
            cfg,
            runtime: Mutex::new(runtime),
            wake: Notify::new(),
            status: watch::channel(SyncStatus::default()).0,
        });
        engine.publish();
        Ok(engine)
    }

    pub fn device_id(&self) -> &str {
        &self.device_id
    }

    /// Requests made and bytes sent so far.
    pub fn request_stats(&self) -> RequestStats {
        self.client.stats()
    }

    /// What every pass so far did, summed.
    pub fn totals(&self) -> SyncReport {
        self.runtime().totals
    }

    /// Something new to send (a record sealed, a photo stored): run soon.
    pub fn nudge(&self) {
        self.wake.notify_one();
    }

    /// The network is back: forget the backoff and run now.
    pub fn connectivity_regained(&self) {
        self.forget_backoff();
        self.nudge();
    }

    /// Every lane and every file may run at once.
    fn forget_backoff(&self) {
        {
            let mut rt = self.runtime();
            for l in &mut rt.lanes {
                l.failures = 0;
                l.until_ms = None;
            }
        }
        if let Err(e) = self.with_store(|s| s.retry_blobs_now()) {
            tracing::warn!(error = %e, "clearing the files' backoff failed");
        }
    }

    /// Whether the last attempt failed, so the server is worth probing.
    fn waiting_out_a_failure(&self) -> bool {
        let rt = self.runtime();
        rt.last_error.is_some() || rt.lanes.iter().any(|l| l.failures > 0)
    }

    /// One cheap question to the server (its receipt key) while a lane waits
    /// out a failure. When it answers, the backoff is forgotten and the red
    /// "cannot reach the server" goes at once. `None`: nothing is failing,
    /// so nothing was asked; otherwise whether the server answered.
    pub async fn probe(&self) -> Option<bool> {
        if !self.waiting_out_a_failure() {
            return None;
        }
        match self.client.probe().await {
            Ok(()) => {
                self.forget_backoff();
                self.runtime().last_error = None;
                self.publish();
                Some(true)
            }
            Err(e) => {
                tracing::debug!(error = %e, "the server is still away");
                Some(false)
            }
        }
    }

    /// What `run` does every `probe_interval` while a lane waits out a
    /// failure: probe, and if the server answered, run every lane now.
    /// Tests drive it tick by tick instead of waiting on the clock.
    pub async fn probe_tick(&self) -> Option<SyncReport> {
        match self.probe().await {
            Some(true) => Some(self.sync_due().await),
            _ => None,
        }
    }

    /// Support has dealt with the alert that stopped `lane`.
    pub fn resume_lane(&self, lane: Lane) -> Result<(), SyncError> {
        lock(&self.store).resume_lane(lane)?;
        self.runtime().next_push_seq = None;
        self.publish();
        self.nudge();
        Ok(())
    }

    /// The current status; `subscribe` to be told of changes.
    pub fn status(&self) -> SyncStatus {
        self.status.borrow().clone()
    }

    pub fn subscribe(&self) -> watch::Receiver<SyncStatus> {
        self.status.subscribe()
    }

    /// Runs forever (until the task is dropped): each lane drains when due,
    /// then the engine sleeps until a nudge, the timer, or a backoff ends.
    pub async fn run(self: Arc<Self>) {
        loop {
            self.sync_due().await;
            self.wait_for_work().await;
        }
    }

    /// Sleeps until a nudge, the timer or the end of a backoff; meanwhile,
    /// while a lane waits out a failure, probes every `probe_interval` and
    /// returns as soon as the server answers.
    async fn wait_for_work(&self) {
        let started = tokio::time::Instant::now();
        loop {
            let timer_left = self.cfg.timer.saturating_sub(started.elapsed());
            let due = self.next_wake_in().unwrap_or(timer_left).min(timer_left);
            let probe_every = self.cfg.probe_interval.max(Duration::from_millis(100));
            if due <= probe_every || !self.waiting_out_a_failure() {
                let _ = tokio::time::timeout(due, self.wake.notified()).await;
                return;
            }
            if tokio::time::timeout(probe_every, self.wake.notified()).await.is_ok() {
                return;
            }
            if self.probe().await == Some(true) {
                return;
            }
        }
    }

    /// "Sync now": every lane that is not stopped runs, backoff or not.
    pub async fn sync_now(&self) -> SyncReport {
        {
            let mut rt = self.runtime();
            for l in &mut rt.lanes {
                l.until_ms = None;
            }
        }
        self.sync_due().await
    }

    /// Runs the lanes whose backoff has passed, all three at once.
    pub async fn sync_due(&self) -> SyncReport {
        let (records, blobs, feed) =
            tokio::join!(self.lane(Lane::Records), self.lane(Lane::Blobs), self.lane(Lane::Feed));
        let mut report = records;
        report.add(&blobs);
        report.add(&feed);
        match self.with_store(|s| s.prune_uploaded_blobs(now_ms())) {
            Ok(removed) => report.blobs_pruned = removed.len() as u64,
            Err(e) => tracing::warn!(error = %e, "removing uploaded photos failed"),
        }
        {
            let mut rt = self.runtime();
            rt.totals.add(&report);
            let all_clear = report.transient_failures == 0 && report.blob_failures == 0;
            if all_clear && rt.lanes.iter().all(|l| l.failures == 0) {
                rt.last_error = None;
            }
        }
        self.publish();
        report
    }

    /// Runs passes until nothing is left to send and no lane is backing off,
    /// or a lane stops, or `deadline` passes. For tests, tools and the rescue path.
    pub async fn sync_until_drained(&self, deadline: Duration) -> Result<SyncReport, SyncStatus> {
        let start = tokio::time::Instant::now();
        let mut total = SyncReport::default();
        loop {
            total.add(&self.sync_due().await);
            let status = self.status();
            if status.lanes.iter().any(|l| matches!(l.state, LaneState::Stopped { .. })) {
                return Err(status);
            }
            let backing_off = status.lanes.iter().any(|l| matches!(l.state, LaneState::BackingOff { .. }));
            if status.pending_records == 0 && status.pending_blobs == 0 && !backing_off {
                return Ok(total);
            }
            if start.elapsed() > deadline {
                return Err(status);
            }
            let wait = self.next_wake_in().unwrap_or(Duration::from_millis(50));
            tokio::time::sleep(wait.clamp(Duration::from_millis(10), Duration::from_secs(5))).await;
        }
    }

    fn next_wake_in(&self) -> Option<Duration> {
        let now = now_ms();
        let rt = self.runtime();
        let lane_due = rt.lanes.iter().filter_map(|l| l.until_ms).min();
        drop(rt);
        let blob_due = self.with_store(|s| s.next_blob_attempt_ms()).ok().flatten();
        [lane_due, blob_due]
            .into_iter()
            .flatten()
            .min()
            .map(|at| Duration::from_millis((at - now).max(0) as u64))
    }

    async fn lane(&self, lane: Lane) -> SyncReport {
        let mut report = SyncReport::default();
        let now = now_ms();
        {
            let stopped = self.with_store(|s| s.lane(lane)).map(|r| r.stopped.is_some()).unwrap_or(false);
            let mut rt = self.runtime();
            let l = &mut rt.lanes[index(lane)];
            if stopped || l.working || l.until_ms.is_some_and(|t| t > now) {
                return report;
            }
            l.working = true;
        }
        self.publish();
        let outcome = match lane {
            Lane::Records => self.drain_records(&mut report).await,
            Lane::Blobs => self.drain_blobs(&mut report).await,
            Lane::Feed => self.drain_feed(&mut report).await.map(|()| Contact::Answered),
        };
        let now = now_ms();
        let mut rt = self.runtime();
        let l = &mut rt.lanes[index(lane)];
        l.working = false;
        match outcome {
            Ok(contact) => {
                l.failures = 0;
                l.until_ms = None;
                drop(rt);
                // A lane with nothing to send asked the server nothing: no news
                // of it, so no success either (the server may well be down).
                if contact == Contact::Answered {
                    let _ = self.with_store(|s| s.note_lane_success(lane, now));
                }
            }
            Err(LaneStop::Transient(e)) => {
                l.failures = l.failures.saturating_add(1);
                let wait = self.cfg.backoff.delay(l.failures, e.retry_after());
                l.until_ms = Some(now + wait.as_millis() as i64);
                if lane == Lane::Records {
                    // After a failure, ask where the server stands before pushing again.
                    rt.next_push_seq = None;
                }
                rt.last_error = Some((e.code().to_owned(), e.to_string(), now));
                drop(rt);
                report.transient_failures += 1;
                tracing::info!(lane = lane.as_str(), error = %e, "sync lane backing off");
                let _ = self.with_store(|s| s.note_lane_error(lane, &e.to_string(), now));
            }
            Err(LaneStop::Alert { code, message }) => {
                rt.last_error = Some((code.clone(), message.clone(), now));
                rt.next_push_seq = None;
                drop(rt);
                tracing::warn!(lane = lane.as_str(), %code, %message, "sync lane stopped");
                let _ = self.with_store(|s| {
                    s.stop_lane(lane, &code, &message, now)?;
                    s.note_lane_error(lane, &message, now)
                });
            }
        }
        self.publish();
        report
    }

    // ---- records ------------------------------------------------------------

    async fn drain_records(&self, report: &mut SyncReport) -> Result<Contact, LaneStop> {
        let known = self.runtime().next_push_seq;
        let mut contact = Contact::None;
        let mut next = match known {
            Some(next) => next,
            None => {
                contact = Contact::Answered;
                self.reconcile_with_head(report).await?
            }
        };
        loop {
            let batch_size = self.runtime().batch_size;
            let batch = self.with_store(|s| s.entries_from(next, batch_size))?;
            if batch.is_empty() {
                self.runtime().next_push_seq = Some(next);
                return Ok(contact);
            }
            let envelopes = fit_body(batch.into_iter().map(|(_, e)| e).collect(), self.cfg.max_batch_bytes);
            let sent = now_ms();
            let answer = match self.client.push(&self.device_id, &envelopes).await {
                Ok(answer) => answer,
                Err(SyncError::Server { status: 413, .. }) if batch_size > 1 => {
                    report.batches_halved += 1;
                    self.runtime().batch_size = batch_size / 2;
                    continue;
                }
                Err(e) => return Err(e.into()),
            };
            contact = Contact::Answered;
            let clock = ServerClock::measure(sent, now_ms(), answer.server_time_ms);
            self.with_store(|s| s.record_server_clock(clock))?;
            let (advanced_to, stop) = self.apply_results(&answer.results, report)?;
            if let Some(stop) = stop {
                return Err(stop);
            }
            next = advanced_to.unwrap_or(next);
            self.runtime().next_push_seq = Some(next);
            // A batch that went through may grow back after a 413 halved it.
            let mut rt = self.runtime();
            rt.batch_size = (rt.batch_size * 2).min(self.cfg.batch_size.clamp(1, MAX_BATCH_ENTRIES));
        }
    }

    /// Asks the server's head, checks it is our chain, fetches receipts the
    /// tablet lacks for entries the server holds, and returns where to push from.
    async fn reconcile_with_head(&self, report: &mut SyncReport) -> Result<u64, LaneStop> {
        let head = self.client.head(&self.device_id).await?;
        if head.seq > 0 {
            let ours = self.with_store(|s| s.entry_hash_at(head.seq))?;
            match (ours, head.entry_hash) {
                (None, _) => {
                    return Err(LaneStop::Alert {
                        code: "server_ahead".into(),
                        message: format!(
                            "the server holds {} entries of this tablet, more than the tablet has sealed; \
                             the tablet's database may have been restored from an old copy",
                            head.seq
                        ),
                    });
                }
                (Some(ours), Some(theirs)) if ours != theirs => {
                    return Err(LaneStop::Alert {
                        code: "fork".into(),
                        message: format!("the server's entry {} is not the one this tablet sealed", head.seq),
                    });
                }
                _ => {}
            }
        }
        let missing = self.with_store(|s| s.unreceipted_up_to(head.seq))?;
        if let Some(&first) = missing.first() {
            let mut from = first;
            while from <= head.seq {
                let page = self.client.receipts(&self.device_id, from, 1000).await?;
                if page.receipts.is_empty() {
                    break;
                }
                let held: Vec<_> = page
                    .receipts
                    .iter()
                    .filter(|r| r.receipt.seq <= head.seq)
                    .map(|r| (&r.receipt, r.receipt_sig.as_str()))
                    .collect();
                from = page.receipts.iter().map(|r| r.receipt.seq + 1).fold(from, u64::max);
                self.store_receipts(&held, report)?;
                report.receipts_fetched += held.len() as u64;
            }
        }
        Ok(head.seq + 1)
    }

    /// Stores what the server answered (the receipts of a batch in one
    /// transaction); returns the seq after the last entry the server now
    /// holds (or the rewind point of a gap) and a stop if one.
    fn apply_results(
        &self,
        results: &[EntryResult],
        report: &mut SyncReport,
    ) -> Result<(Option<u64>, Option<LaneStop>), LaneStop> {
        let mut next = None;
        let mut held = Vec::new();
        let mut stop = None;
        for r in results {
            match r.status {
                EntryStatus::Accepted | EntryStatus::Duplicate => {
                    let (Some(receipt), Some(sig)) = (&r.receipt, &r.receipt_sig) else {
                        stop = Some(SyncError::BadAnswer(format!("no receipt for seq {}", r.seq)).into());
                        break;
                    };
                    held.push((receipt, sig.as_str()));
                    if r.status == EntryStatus::Accepted {
                        report.accepted += 1;
                    } else {
                        report.duplicates += 1;
                    }
                    if receipt.status == hearth_protocol::ReceiptStatus::NeedsReview {
                        report.needs_review += 1;
                    }
                    next = Some(r.seq + 1);
                }
                EntryStatus::Gap => {
                    report.gaps += 1;
                    let expected = r.expected_seq.unwrap_or(1).max(1);
                    tracing::info!(seq = r.seq, expected, "server reported a gap; resending from its head");
                    next = Some(expected);
                    break;
                }
                EntryStatus::NotProcessed => break,
                EntryStatus::Conflict => {
                    let reason = r.reason.clone().unwrap_or_else(|| "conflict".into());
                    stop = Some(LaneStop::Alert {
                        code: format!("conflict_{reason}"),
                        message: format!("the server holds a different entry at seq {} ({reason})", r.seq),
                    });
                    break;
                }
                EntryStatus::Rejected => {
                    let reason = r.reason.clone().unwrap_or_else(|| "rejected".into());
                    stop = Some(LaneStop::Alert {
                        code: format!("rejected_{reason}"),
                        message: format!("the server refused entry {}: {reason}", r.seq),
                    });
                    break;
                }
            }
        }
        self.store_receipts(&held, report)?;
        Ok((next, stop))
    }

    fn store_receipts(
        &self,
        receipts: &[(&hearth_protocol::Receipt, &str)],
        report: &mut SyncReport,
    ) -> Result<(), LaneStop> {
        if receipts.is_empty() {
            return Ok(());
        }
        let key = self.server_key;
        match self.with_store(|s| s.store_receipts(receipts, &key, now_ms())) {
            Ok(outcomes) => {
                report.reissued_receipts +=
                    outcomes.iter().filter(|o| **o == hearth_store::ReceiptOutcome::Reissued).count() as u64;
                Ok(())
            }
            Err(e @ (StoreError::BadReceiptSignature | StoreError::ReceiptMismatch { .. })) => {
                Err(LaneStop::Alert { code: e.code().to_owned(), message: e.to_string() })
            }
            Err(e) => Err(e.into()),
        }
    }

    // ---- blobs --------------------------------------------------------------

    async fn drain_blobs(&self, report: &mut SyncReport) -> Result<Contact, LaneStop> {
        let mut tried: HashSet<Digest> = HashSet::new();
        let mut contact = Contact::None;
        loop {
            let due: Vec<PendingBlob> = self
                .with_store(|s| s.pending_blobs(now_ms(), 100))?
                .into_iter()
                .filter(|b| !tried.contains(&b.sha256))
                .collect();
            if due.is_empty() {
                return Ok(contact);
            }
            let ids: Vec<Digest> = due.iter().map(|b| b.sha256).collect();
            let missing: HashSet<Digest> = self.client.blobs_missing(&ids).await?.into_iter().collect();
            contact = Contact::Answered;
            let mut to_upload = Vec::new();
            for b in due {
                tried.insert(b.sha256);
                if missing.contains(&b.sha256) {
                    to_upload.push(b);
                } else {
                    self.with_store(|s| s.mark_blob_uploaded(&b.sha256, now_ms()))?;
                    report.blobs_already_there += 1;
                }
            }
            let mut uploads = futures_util::stream::iter(to_upload.into_iter().map(|b| self.upload_owned(b)))
                .buffer_unordered(self.cfg.parallel_uploads.max(1));
            while let Some((b, result)) = uploads.next().await {
                let b = &b;
                match result {
                    Ok(()) => {
                        self.with_store(|s| s.mark_blob_uploaded(&b.sha256, now_ms()))?;
                        report.blobs_uploaded += 1;
                    }
                    Err(e) => {
                        report.blob_failures += 1;
                        let now = now_ms();
                        let wait = self.cfg.blob_backoff.delay(b.attempts + 1, e.retry_after());
                        self.with_store(|s| {
                            s.note_blob_failure(&b.sha256, &e.to_string(), now + wait.as_millis() as i64, now)
                        })?;
                        self.runtime().last_error = Some((e.code().to_owned(), e.to_string(), now));
                        // No server at all: the whole lane waits, not just this file.
                        if matches!(e, SyncError::Unreachable(_)) {
                            return Err(LaneStop::Transient(e));
                        }
                    }
                }
            }
        }
    }

    async fn upload_owned(&self, b: PendingBlob) -> (PendingBlob, Result<(), SyncError>) {
        let result = self.upload(&b).await;
        (b, result)
    }

    /// tus upload of one file, resuming where the server says it stands.
    async fn upload(&self, b: &PendingBlob) -> Result<(), SyncError> {
        let bytes = self
            .with_store(|s| s.read_blob(&b.sha256))?
            .ok_or_else(|| SyncError::Store(StoreError::MissingBlob(b.sha256.to_hex())))?;
        let length = bytes.len() as u64;
        let mut resumed = None;
        if let Some(location) = &b.upload_url {
            // The server's offset is the truth; ours may lag by one chunk.
            if let Some(offset) = self.client.upload_offset(location).await? {
                resumed = Some((location.clone(), offset));
            }
        }
        let (location, mut offset) = match resumed {
            Some(r) => r,
            None => {
                // The first chunk goes with the creation: one request for a
                // photo that fits in a chunk, the rest resumable as before.
                let first = &bytes[..(self.runtime().chunk_size as u64).min(length) as usize];
                let started = tokio::time::Instant::now();
                let created = self.client.upload_create(&b.sha256, &b.media_type, length, first).await;
                self.adapt_chunk_size(created.is_ok(), started.elapsed());
                let (location, offset) = created?;
                self.with_store(|s| s.save_upload_progress(&b.sha256, Some(&location), offset, now_ms()))?;
                (location, offset)
            }
        };
        while offset < length {
            let size = self.runtime().chunk_size as u64;
            let end = (offset + size).min(length);
            let chunk = &bytes[offset as usize..end as usize];
            let started = tokio::time::Instant::now();
            let sent = self.client.upload_chunk(&location, offset, chunk).await;
            self.adapt_chunk_size(sent.is_ok(), started.elapsed());
            match sent {
                // A chunk the server did not take would be sent forever.
                Ok(new_offset) if new_offset <= offset => {
                    return Err(SyncError::BadAnswer(format!(
                        "the server stayed at offset {new_offset} after a chunk sent at {offset}"
                    )));
                }
                Ok(new_offset) => {
                    offset = new_offset;
                    self.with_store(|s| {
                        s.save_upload_progress(&b.sha256, Some(&location), offset, now_ms())
                    })?;
                }
                Err(SyncError::Server { status: 409, .. }) => {
                    offset = self
                        .client
                        .upload_offset(&location)
                        .await?
                        .ok_or_else(|| SyncError::BadAnswer("the upload vanished".into()))?;
                }
                Err(e @ SyncError::Server { status: 404 | 410 | 422, .. }) => {
                    // The upload is gone (expired, or discarded after a hash
                    // mismatch): start a new one next time.
                    self.with_store(|s| s.save_upload_progress(&b.sha256, None, 0, now_ms()))?;
                    return Err(e);
                }
                Err(e) => return Err(e),
            }
        }
        self.with_store(|s| s.clear_blob_backoff(&b.sha256))?;
        Ok(())
    }

    /// A chunk that went through in under a second doubles the next (the
    /// link is good); a slow or failed one halves it, down to `chunk_size`.
    fn adapt_chunk_size(&self, ok: bool, took: Duration) {
        let (least, most) =
            (self.cfg.chunk_size.max(1), self.cfg.max_chunk_size.max(self.cfg.chunk_size.max(1)));
        let mut rt = self.runtime();
        rt.chunk_size = if ok && took < Duration::from_secs(1) {
            (rt.chunk_size * 2).min(most)
        } else if !ok || took > Duration::from_secs(4) {
            (rt.chunk_size / 2).max(least)
        } else {
            rt.chunk_size
        };
    }

    // ---- feed ---------------------------------------------------------------

    async fn drain_feed(&self, report: &mut SyncReport) -> Result<(), LaneStop> {
        loop {
            let cursor = self.with_store(|s| s.feed_cursor())?;
            match self.client.feed(&self.device_id, cursor.as_deref(), self.cfg.feed_page).await? {
                FeedAnswer::Page(page) => {
                    report.feed_items += page.items.len() as u64;
                    let has_more = page.has_more;
                    self.with_store(|s| s.apply_feed_page(&page, now_ms()))?;
                    if !has_more {
                        return Ok(());
                    }
                }
                FeedAnswer::Reset => {
                    report.feed_resets += 1;
                    if report.feed_resets > 3 {
                        return Err(LaneStop::Transient(SyncError::BadAnswer(
                            "the server keeps resetting the feed".into(),
                        )));
                    }
                    self.with_store(|s| s.reset_server_derived())?;
                }
            }
        }
    }

    // ---- plumbing -----------------------------------------------------------

    fn runtime(&self) -> MutexGuard<'_, Runtime> {
        self.runtime.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn with_store<T>(&self, f: impl FnOnce(&mut Store) -> Result<T, StoreError>) -> Result<T, StoreError> {
        f(&mut lock(&self.store))
    }

    fn publish(&self) {
        match self.build_status() {
            Ok(status) => {
                self.status.send_if_modified(|old| {
                    let changed = *old != status;
                    *old = status;
                    changed
                });
            }
            Err(e) => tracing::warn!(error = %e, "reading the sync status failed"),
        }
    }

    fn build_status(&self) -> Result<SyncStatus, StoreError> {
        let (counts, stored) = {
            let s = lock(&self.store);
            let counts = s.sync_counts()?;
            let lanes =
                Lane::ALL.iter().map(|l| s.lane(*l).map(|r| (*l, r))).collect::<Result<Vec<_>, _>>()?;
            (counts, lanes)
        };
        let rt = self.runtime();
        let lanes: Vec<LaneStatus> = stored
            .iter()
            .map(|(lane, rec)| {
                let live = rt.lanes[index(*lane)];
                let state = if let Some((code, message, _)) = &rec.stopped {
                    LaneState::Stopped { code: code.clone(), message: message.clone() }
                } else if live.working {
                    LaneState::Working
                } else if let Some(until_ms) = live.until_ms {
                    LaneState::BackingOff { until_ms, failures: live.failures }
                } else {
                    LaneState::Idle
                };
                LaneStatus {
                    lane: lane.as_str(),
                    state,
                    last_success_ms: rec.last_success_ms,
                    last_error: rec.last_error.as_ref().map(|(e, _)| e.clone()),
                }
            })
            .collect();
        Ok(SyncStatus {
            enrolled: true,
            // A stopped lane's alert outlives passes and restarts until resumed.
            last_error: rt.last_error.as_ref().map(|(c, m, _)| (c.clone(), m.clone())).or_else(|| {
                stored.iter().find_map(|(_, r)| r.stopped.as_ref().map(|(c, m, _)| (c.clone(), m.clone())))
            }),
            lanes,
            ..SyncStatus::from(&counts)
        })
    }
}

/// Keeps the longest prefix of `envelopes` whose request body stays within
/// `max_bytes` (always at least one: a single entry is at most 96 KiB).
fn fit_body(
    mut envelopes: Vec<hearth_protocol::Envelope>,
    max_bytes: usize,
) -> Vec<hearth_protocol::Envelope> {
    // `{"entries":[` … `]}` plus a comma between entries.
    let mut size = 14;
    let mut keep = 0;
    for e in &envelopes {
        let len = serde_json::to_vec(e).map(|v| v.len()).unwrap_or(usize::MAX / 2) + 1;
        if keep > 0 && size + len > max_bytes {
            break;
        }
        size += len;
        keep += 1;
    }
    envelopes.truncate(keep);
    envelopes
}

/// A poisoned lock means a panic mid-call; SQLite rolled that call's
/// transaction back, so the store itself is consistent.
pub(crate) fn lock(store: &SharedStore) -> MutexGuard<'_, Store> {
    store.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use hearth_protocol::{DeviceSignature, Envelope};

    use super::fit_body;

    fn envelope(content_len: usize) -> Envelope {
        Envelope {
            entry: "e".repeat(100),
            content: "c".repeat(content_len),
            tech_sigs: vec![],
            device_sig: DeviceSignature { kid: "k".repeat(32), sig: "s".repeat(86) },
        }
    }

    #[test]
    fn a_batch_is_cut_to_the_body_limit_but_never_to_nothing() {
        let batch: Vec<_> = (0..10).map(|_| envelope(1000)).collect();
        let one = serde_json::to_vec(&batch[0]).unwrap().len();
        assert_eq!(fit_body(batch.clone(), usize::MAX).len(), 10);
        let fitted = fit_body(batch.clone(), 14 + 3 * (one + 1));
        assert_eq!(fitted.len(), 3, "three fit exactly");
        let body = serde_json::to_vec(&serde_json::json!({"entries": fitted})).unwrap();
        assert!(body.len() <= 14 + 3 * (one + 1), "the estimate is an upper bound of the real body");
        assert_eq!(fit_body(batch, 10).len(), 1, "one entry always goes, whatever the limit");
        assert!(fit_body(vec![], 10).is_empty());
    }
}
