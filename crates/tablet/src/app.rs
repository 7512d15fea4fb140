//! `App`: the tablet's use cases behind one handle that the Tauri shell
//! shares between commands. Method names are the command names of
//! docs/app.md. State that must survive a restart lives in the store; the
//! only things held in memory are the signed-in technician's unlocked key
//! and the sync engine.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use base64::Engine as _;
use chrono::{DateTime, FixedOffset, NaiveDate, TimeZone, Utc};
use hearth_domain::{Address, Customer, RuleSet, TechnicianId, Thermometer, WorkOrder, WorkOrderId};
use hearth_protocol::api::FeedKind;
use hearth_protocol::seal::kid_of;
use hearth_protocol::{
    Content, Cosigning, Created, Digest, EncodedContent, ReceiptStatus, RecordRef, Signer, SignerRole,
    SigningKey, schema,
};
use hearth_store::{ChainRecord, Pin, Store, UnlockedTechnician};
use hearth_sync::{RescueSummary, SharedStore, SyncConfig, SyncEngine, SyncStatus};
use serde_json::Value;

use crate::error::{AppError, ErrorCode};
use crate::records::{self, RecordMeta};
use crate::today::{self, TodayItem};
use crate::views::{AppState, LocalOrderInput, PhotoRef, RecordState, RecordView, TechnicianSummary};

/// Where "now" comes from; tests pass a fixed or stepping clock.
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// China Standard Time, where the heating companies are.
pub const DEFAULT_TZ_OFFSET_MINUTES: i32 = 8 * 60;

/// A signature image larger than this is not a signature pad's drawing.
pub const MAX_SIGNATURE_BYTES: usize = 2 * 1024 * 1024;

/// The draft key prefix of UI drafts, apart from the app's own drafts.
const UI_DRAFT_PREFIX: &str = "ui:";

/// A technician's unlocked key. Cloned out of the session lock so that no
/// lock is held while sealing; the key is zeroized when each copy drops.
#[derive(Clone)]
pub(crate) struct Key {
    pub(crate) tech_id: String,
    pub(crate) key: SigningKey,
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Key").field("tech_id", &self.tech_id).finish_non_exhaustive()
    }
}

impl From<UnlockedTechnician> for Key {
    fn from(u: UnlockedTechnician) -> Self {
        Self { tech_id: u.tech_id().to_owned(), key: u.signing_key().clone() }
    }
}

impl Key {
    pub(crate) fn signer(&self, role: SignerRole) -> Signer {
        Signer { role, tech_id: self.tech_id.clone(), kid: kid_of(&self.key.verifying_key()) }
    }
}

#[derive(Debug, Default)]
struct Session {
    signed_in: Option<Key>,
    engine: Option<Arc<SyncEngine>>,
}

/// The tablet app, Tauri-free. `Send + Sync`: share it as `Arc<App>`.
pub struct App {
    pub(crate) store: SharedStore,
    clock: Clock,
    tz: FixedOffset,
    boot_id: String,
    started: Instant,
    session: Mutex<Session>,
    /// The CJK font for customer copies, found on first use.
    pub(crate) font: Mutex<Option<hearth_copy::CjkFont>>,
    /// The one thread that decodes photos (see `put_photo`).
    photos: PhotoWorker,
}

type PhotoJob =
    (Vec<u8>, std::sync::mpsc::Sender<Result<hearth_photo::IngestedPhoto, hearth_photo::PhotoError>>);

/// Photos are decoded on one long-lived thread, one at a time: ten taken in
/// a row (a burst, a multi-select) wait their turn, so memory holds one
/// full-size picture, and the allocator's memory stays with one thread
/// instead of being kept by every thread that ever decoded a photo.
#[derive(Debug)]
struct PhotoWorker {
    jobs: Mutex<std::sync::mpsc::Sender<PhotoJob>>,
}

impl PhotoWorker {
    fn start() -> Result<Self, AppError> {
        let (jobs, queue) = std::sync::mpsc::channel::<PhotoJob>();
        std::thread::Builder::new()
            .name("hearth-photos".into())
            .spawn(move || {
                for (bytes, reply) in queue {
                    let _ = reply.send(hearth_photo::ingest(&bytes, &hearth_photo::PhotoLimits::default()));
                }
            })
            .map_err(|e| AppError::internal(format!("the photo worker did not start: {e}")))?;
        Ok(Self { jobs: Mutex::new(jobs) })
    }

    fn ingest(&self, bytes: &[u8]) -> Result<hearth_photo::IngestedPhoto, AppError> {
        // Held until the answer comes: the next caller copies its photo in
        // only when this one is done, so no queue of copies builds up.
        let jobs = lock(&self.jobs);
        let (reply, answer) = std::sync::mpsc::channel();
        jobs.send((bytes.to_vec(), reply)).map_err(|_| AppError::internal("the photo worker stopped"))?;
        let ingested = answer.recv().map_err(|_| AppError::internal("the photo worker stopped"))?;
        Ok(ingested?)
    }
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App").field("tz", &self.tz).field("boot_id", &self.boot_id).finish_non_exhaustive()
    }
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic elsewhere must not lock the technician out of their records.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Which records were withdrawn or corrected (one reading for the tablet and the server).
pub(crate) use hearth_copy::replay::Supersessions;

pub(crate) fn record_ref(r: &ChainRecord) -> RecordRef {
    RecordRef { record_id: r.content.record_id.clone(), content_hash: r.content_hash }
}

impl App {
    /// Opens the app over the store in `dir` (created on first run), with
    /// the device clock and China Standard Time.
    pub fn open(dir: &Path) -> Result<App, AppError> {
        Self::open_with_clock(dir, Arc::new(Utc::now), DEFAULT_TZ_OFFSET_MINUTES)
    }

    /// As `open`, with a given clock and local UTC offset in minutes.
    pub fn open_with_clock(dir: &Path, clock: Clock, tz_offset_minutes: i32) -> Result<App, AppError> {
        let tz = FixedOffset::east_opt(tz_offset_minutes.saturating_mul(60))
            .ok_or_else(|| AppError::invalid_field("tz_offset_minutes", "out of range"))?;
        let store = Store::open(dir)?;
        Ok(App {
            store: Arc::new(Mutex::new(store)),
            clock,
            tz,
            boot_id: uuid::Uuid::now_v7().to_string(),
            started: Instant::now(),
            session: Mutex::new(Session::default()),
            font: Mutex::new(None),
            photos: PhotoWorker::start()?,
        })
    }

    /// The store, shared with the sync engine.
    pub fn store(&self) -> &SharedStore {
        &self.store
    }

    pub(crate) fn db(&self) -> MutexGuard<'_, Store> {
        lock(&self.store)
    }

    /// Now, to the millisecond (records carry milliseconds).
    pub(crate) fn now(&self) -> DateTime<Utc> {
        let now = (self.clock)();
        DateTime::from_timestamp_millis(now.timestamp_millis()).unwrap_or(now)
    }

    pub(crate) fn now_local(&self) -> DateTime<FixedOffset> {
        self.now().with_timezone(&self.tz)
    }

    pub(crate) fn tz(&self) -> FixedOffset {
        self.tz
    }

    pub(crate) fn today_local(&self) -> NaiveDate {
        self.now_local().date_naive()
    }

    fn engine(&self) -> Option<Arc<SyncEngine>> {
        lock(&self.session).engine.clone()
    }

    fn nudge(&self) {
        if let Some(engine) = self.engine() {
            engine.nudge();
        }
    }

    /// The signed-in technician's key, or `not_signed_in`.
    pub(crate) fn signed_in(&self) -> Result<Key, AppError> {
        lock(&self.session).signed_in.clone().ok_or_else(AppError::not_signed_in)
    }

    /// Unlocks a technician's key with their PIN (sign-in, a witness, a
    /// co-signer). A refusal names whose PIN it was, so that at a co-sign
    /// the two testers know which of them typed it wrong.
    pub(crate) fn unlock(&self, tech_id: &str, pin: &str) -> Result<Key, AppError> {
        let pin = Pin::new(pin)?;
        let store = self.db();
        let unlocked = store.unlock(tech_id, &pin).map_err(|e| {
            let name = technician_names(&store).ok().and_then(|mut n| n.remove(tech_id));
            AppError::from(e).about_technician(tech_id, name)
        })?;
        Ok(unlocked.into())
    }

    /// The identity of a record made now.
    pub(crate) fn meta(&self, store: &Store) -> Result<RecordMeta, AppError> {
        let now = self.now();
        let now_ms = now.timestamp_millis();
        Ok(RecordMeta {
            record_id: uuid::Uuid::now_v7().to_string(),
            created: Created {
                device_time_ms: now_ms,
                tz_offset_min: self.tz.local_minus_utc() / 60,
                boot_id: self.boot_id.clone(),
                monotonic_ms: i64::try_from(self.started.elapsed().as_millis()).unwrap_or(i64::MAX),
                last_server_time_ms: store.last_server_time_ms(now_ms)?,
            },
        })
    }

    /// Signs `content` with each key in its role and seals it; then tells
    /// sync there is something to send.
    pub(crate) fn seal(
        &self,
        store: &mut Store,
        content: Content,
        keys: &[(&Key, SignerRole)],
    ) -> Result<ChainRecord, AppError> {
        let record_id = content.record_id.clone();
        if let Some(effective_at_ms) = store.device_revoked_at_ms()? {
            let mut error = AppError::coded(
                ErrorCode::DeviceRevoked,
                "the office revoked this tablet: it seals nothing more",
            );
            error.effective_at_ms = Some(effective_at_ms);
            return Err(error);
        }
        for (key, _) in keys {
            self.check_not_revoked(store, key)?;
        }
        let mut cosigning = Cosigning::new(EncodedContent::encode(content)?);
        for (key, role) in keys {
            cosigning.sign(*role, &key.tech_id, &key.key)?;
        }
        let signed = cosigning.finish()?;
        store.seal(&signed, self.now().timestamp_millis(), None)?;
        let sealed =
            store.chain_record(&record_id)?.ok_or_else(|| AppError::internal("a sealed record vanished"))?;
        self.nudge();
        Ok(sealed)
    }

    /// A key the office revoked signs nothing more, even in a session
    /// opened before the feed said so: the session ends.
    fn check_not_revoked(&self, store: &Store, key: &Key) -> Result<(), AppError> {
        let kid = kid_of(&key.key.verifying_key());
        let Some(effective_at_ms) = store.technician_key_revoked_at_ms(&kid)? else { return Ok(()) };
        {
            let mut session = lock(&self.session);
            if session.signed_in.as_ref().is_some_and(|k| k.tech_id == key.tech_id) {
                session.signed_in = None;
            }
        }
        let name = technician_names(store)?.remove(&key.tech_id);
        let mut error = AppError::new(
            "technician_revoked",
            format!("the office revoked the key of {} on this tablet", key.tech_id),
        )
        .about_technician(&key.tech_id, name);
        error.effective_at_ms = Some(effective_at_ms);
        Err(error)
    }

    // ------------------------------------------------------------------
    // Session and enrolment
    // ------------------------------------------------------------------

    pub fn app_state(&self) -> Result<AppState, AppError> {
        let signed_in = lock(&self.session).signed_in.as_ref().map(|k| k.tech_id.clone());
        let store = self.db();
        let device_id = store.device_id()?;
        let server_url = store.server_link()?.map(|l| l.server_url);
        let names = technician_names(&store)?;
        let summary = |tech_id: &str| TechnicianSummary {
            tech_id: tech_id.to_owned(),
            name: names.get(tech_id).cloned(),
        };
        let technicians = hearth_store::vault::enrolled_technicians(store.connection())?
            .iter()
            .map(|t| summary(&t.tech_id))
            .collect();
        Ok(AppState {
            enrolled: device_id.is_some(),
            revoked_at_ms: store.device_revoked_at_ms()?,
            device_id,
            server_url,
            technicians,
            signed_in: signed_in.as_deref().map(summary),
            tz_offset_minutes: self.tz.local_minus_utc() / 60,
            pin_min_digits: u32::try_from(hearth_store::vault::PIN_MIN_DIGITS).unwrap_or(6),
            pin_max_digits: u32::try_from(hearth_store::vault::PIN_MAX_DIGITS).unwrap_or(12),
        })
    }

    /// First run: links the tablet to the server with an admin's one-time code.
    pub async fn enrol_device(&self, server_url: &str, code: &str, name: &str) -> Result<AppState, AppError> {
        let url = server_url.trim();
        let valid_url = ["http://", "https://"].iter().any(|scheme| {
            url.strip_prefix(scheme).is_some_and(|rest| !rest.is_empty() && !rest.contains(' '))
        });
        if !valid_url {
            return Err(AppError::new(
                "bad_server_url",
                "the server address must start with http:// or https://",
            ));
        }
        if code.trim().is_empty() {
            return Err(AppError::new("bad_code", "the enrolment code is empty"));
        }
        if let Some(id) = self.db().device_id()? {
            return Err(AppError::new(
                "already_enrolled",
                format!("this tablet is already enrolled as {id}"),
            ));
        }
        hearth_sync::enrol_device(&self.store, url, code.trim(), name.trim())
            .await
            .map_err(AppError::enrolling)?;
        self.app_state()
    }

    /// A technician joins this tablet: their own code, a PIN typed twice.
    pub async fn enrol_technician(
        &self,
        tech_id: &str,
        code: &str,
        pin: &str,
        pin_again: &str,
    ) -> Result<AppState, AppError> {
        // Spelled as the office registered it ("t0017 " is T0017): ids are
        // matched exactly on the server, so another spelling would be refused.
        let registered: Vec<String> =
            self.db().snapshots(FeedKind::Technician)?.into_iter().map(|(id, _, _)| id).collect();
        let tech_id =
            hearth_domain::setup::technician_id_as_typed(tech_id, registered.iter().map(String::as_str))
                .map_err(|e| AppError::invalid_field("tech_id", e))?;
        let pin_checked = Pin::new(pin)?;
        if pin != pin_again {
            return Err(AppError::new("pins_differ", "the two PINs typed differ"));
        }
        if code.trim().is_empty() {
            return Err(AppError::new("bad_code", "the enrolment code is empty"));
        }
        if self.db().device_id()?.is_none() {
            return Err(AppError::new("not_enrolled", "enrol the tablet before its technicians"));
        }
        hearth_sync::enrol_technician(&self.store, tech_id.as_str(), code.trim(), &pin_checked)
            .await
            .map_err(AppError::enrolling)?;
        // A new technician widens the device's scope: pull their orders now,
        // not at the next timer tick.
        self.nudge();
        self.app_state()
    }

    pub fn sign_in(&self, tech_id: &str, pin: &str) -> Result<AppState, AppError> {
        let key = self.unlock(tech_id.trim(), pin)?;
        lock(&self.session).signed_in = Some(key);
        self.app_state()
    }

    /// Also the inactivity lock: the key leaves memory.
    pub fn sign_out(&self) -> Result<AppState, AppError> {
        lock(&self.session).signed_in = None;
        self.app_state()
    }

    // ------------------------------------------------------------------
    // Today and work orders
    // ------------------------------------------------------------------

    /// Every open order on this tablet: the feed's and those opened here.
    pub(crate) fn orders(&self, store: &Store) -> Result<Vec<WorkOrder>, AppError> {
        let mut orders = today::orders_from_feed(&store.snapshots(FeedKind::WorkOrder)?)?;
        let known: HashSet<String> = orders.iter().map(|o| o.id.as_str().to_owned()).collect();
        let local = store.chain_records_of_schema(schema::WORK_ORDER_LOCAL)?;
        let all = store.chain_records_of_schema(schema::VOID)?;
        let voids = Supersessions::of(&all);
        for r in local {
            if voids.voided(&r.content.record_id) {
                continue;
            }
            let order: WorkOrder = serde_json::from_value(Value::Object(r.content.data.clone()))
                .map_err(|e| AppError::internal(format!("a local work order cannot be read: {e}")))?;
            if !known.contains(order.id.as_str()) {
                orders.push(order);
            }
        }
        Ok(orders)
    }

    pub(crate) fn order(&self, store: &Store, work_order_id: &str) -> Result<WorkOrder, AppError> {
        self.orders(store)?
            .into_iter()
            .find(|o| o.id.as_str() == work_order_id)
            .ok_or_else(|| AppError::unknown_work_order(work_order_id))
    }

    pub(crate) fn rules(&self, store: &Store) -> Result<RuleSet, AppError> {
        // As the server does: the office's rule set, or the regulations'
        // defaults when the office never sent one — never the defaults in
        // place of one that cannot be read.
        match store.snapshot(FeedKind::RuleSet, "company")? {
            None => Ok(RuleSet::default()),
            Some(body) => RuleSet::from_stored(&body).map_err(|e| {
                AppError::new(
                    "rule_set_unreadable",
                    format!("the company's rule set from the server cannot be read: {e}"),
                )
            }),
        }
    }

    pub fn today(&self, query: &str) -> Result<Vec<TodayItem>, AppError> {
        let store = self.db();
        let mut outcomes = HashMap::new();
        let orders = self
            .orders(&store)?
            .into_iter()
            .map(|o| {
                let (order, outcome) = self.with_own_milestones_and_outcome(&store, o);
                if let Some(c) = outcome {
                    outcomes.insert(order.id.as_str().to_owned(), c);
                }
                order
            })
            .collect();
        let mut items = today::today(orders, &self.rules(&store)?, self.now());
        today::set_visit_outcomes(&mut items, outcomes);
        today::flag_repeats(&mut items, &today::repeat_flags(&store.snapshots(FeedKind::WorkOrder)?));
        Ok(today::search(&items, query))
    }

    pub fn work_order(&self, work_order_id: &str) -> Result<TodayItem, AppError> {
        let store = self.db();
        let (order, outcome) =
            self.with_own_milestones_and_outcome(&store, self.order(&store, work_order_id)?);
        let outcomes = outcome.map(|c| (order.id.as_str().to_owned(), c)).into_iter().collect();
        let mut items = today::today(vec![order], &self.rules(&store)?, self.now());
        today::set_visit_outcomes(&mut items, outcomes);
        today::flag_repeats(&mut items, &today::repeat_flags(&store.snapshots(FeedKind::WorkOrder)?));
        items.pop().ok_or_else(|| AppError::unknown_work_order(work_order_id))
    }

    /// The order's milestones as the office last sent them, met earlier by
    /// what this tablet itself sealed (the feed only brings them back after
    /// a sync), by the one rule the server judges by
    /// (`hearth_domain::evidence`): contact by the appointment step, on site
    /// by the arrival or a reading, completed by a resolved outcome or the
    /// test's report, the late notice by when the customer was told.
    fn with_own_milestones(&self, store: &Store, order: WorkOrder) -> WorkOrder {
        self.with_own_milestones_and_outcome(store, order).0
    }

    /// As [`Self::with_own_milestones`], with how the visit in progress
    /// ended, if it did (read from the same replay).
    fn with_own_milestones_and_outcome(
        &self,
        store: &Store,
        mut order: WorkOrder,
    ) -> (WorkOrder, Option<hearth_domain::ConcludedVisit>) {
        use hearth_domain::{EvidenceRecord, Milestone, milestone_claim};
        // A receipted record's claim is placed as the server places it
        // (protocol §8, `hearth_domain::time::bracket`): a tablet whose clock
        // runs fast shows what the office shows once its records are receipted.
        let times = store.server_times(order.id.as_str()).unwrap_or_default();
        let placed = |claim: Option<(Milestone, DateTime<Utc>)>, record: &ChainRecord| {
            claim.map(|(milestone, at)| match times.get(&record.seq) {
                Some(t) => (
                    milestone,
                    hearth_domain::time::bracket(
                        at,
                        t.not_before_ms.map(hearth_domain::time::ms_to_utc),
                        hearth_domain::time::ms_to_utc(t.received_at_ms),
                    )
                    .at,
                ),
                None => (milestone, at),
            })
        };
        let mut claims = Vec::new();
        let mut ended = None;
        // A chain that does not replay shows the office's milestones only; the
        // order's own screen reports the problem.
        // The technician's own acceptance (接单), sealed here.
        if let Ok(records) = store.chain_records(Some(order.id.as_str())) {
            for r in records.iter().filter(|r| r.content.schema == hearth_protocol::schema::ORDER_ACCEPTED) {
                let accepted = serde_json::from_value::<hearth_domain::OrderAccepted>(
                    serde_json::Value::Object(r.content.data.clone()),
                );
                if let Ok(a) = accepted {
                    claims.extend(placed(milestone_claim(EvidenceRecord::Accepted { at: a.accepted_at }), r));
                }
            }
        }
        if let Ok(state) = self.visit_state(store, &order) {
            // Every visit counts: the first attempt is the truth of when they came.
            for earlier in &state.earlier {
                for s in &earlier.steps {
                    claims.extend(placed(milestone_claim(EvidenceRecord::Step(&s.step)), &s.record));
                }
                let (outcome, record) = &earlier.outcome;
                claims.extend(placed(milestone_claim(EvidenceRecord::Outcome(outcome)), record));
            }
            for s in &state.steps {
                claims.extend(placed(milestone_claim(EvidenceRecord::Step(&s.step)), &s.record));
            }
            if let Some((c, record)) = &state.outcome {
                claims.extend(placed(milestone_claim(EvidenceRecord::Outcome(c)), record));
                ended = Some(c.clone());
            }
            if let Some((n, record)) = &state.late {
                claims.extend(placed(milestone_claim(EvidenceRecord::LateNotice(n)), record));
            }
        }
        if let Ok(Some(test)) = self.test_state(store, order.id.as_str()) {
            for (r, record) in test.in_force() {
                claims.extend(placed(milestone_claim(EvidenceRecord::Reading(r)), record));
            }
            if let Some((_, report)) = &test.report
                && let Some(made_at) = DateTime::from_timestamp_millis(report.content.created.device_time_ms)
            {
                claims.extend(placed(milestone_claim(EvidenceRecord::Report { made_at }), report));
            }
        }
        order.milestones = hearth_domain::effective_milestones(&order.milestones, claims);
        (order, ended)
    }

    /// The technician accepts an order dispatch passed on (接单): sealed as
    /// `hearth.order_accepted/1`, the evidence of the acceptance deadline.
    /// Accepting again changes nothing (`already_accepted`).
    pub fn accept_order(&self, work_order_id: &str) -> Result<TodayItem, AppError> {
        let key = self.signed_in()?;
        {
            let mut store = self.db();
            let order = self.with_own_milestones(&store, self.order(&store, work_order_id)?);
            if order.milestones.accepted_at.is_some() {
                return Err(AppError::new("already_accepted", "the order is already accepted"));
            }
            let accepted = hearth_domain::OrderAccepted { accepted_at: self.now() };
            let content = records::order_accepted(
                self.meta(&store)?,
                &order.id,
                &accepted,
                key.signer(SignerRole::Performer),
            )?;
            self.seal(&mut store, content, &[(&key, SignerRole::Performer)])?;
        }
        self.work_order(work_order_id)
    }

    /// Opens an order on site; it shows in `today` at once and reaches the
    /// office as `hearth.work_order_local/1`.
    pub fn create_local_order(&self, input: LocalOrderInput) -> Result<TodayItem, AppError> {
        let key = self.signed_in()?;
        let address = Address::new(&input.community, &input.building, &input.unit, &input.room)?;
        let customer = Customer::new(&input.customer_name, &input.customer_phone, address)?;
        let now = self.now();
        // Unique without a server round trip, and readable on the phone to dispatch.
        let id = format!(
            "L-{}-{}",
            now.with_timezone(&self.tz).format("%Y%m%d%H%M%S"),
            &uuid::Uuid::now_v7().simple().to_string()[24..]
        );
        let mut order = WorkOrder::new(&id, input.category, customer, &input.fault, now)?;
        order.assign(TechnicianId::parse(&key.tech_id)?);
        // Opened by the technician on site: accepted as it is opened.
        order.milestones.accepted_at = Some(now);
        {
            let mut store = self.db();
            let content =
                records::work_order_local(self.meta(&store)?, &order, key.signer(SignerRole::Performer))?;
            self.seal(&mut store, content, &[(&key, SignerRole::Performer)])?;
        }
        self.work_order(&id)
    }

    // ------------------------------------------------------------------
    // Photos
    // ------------------------------------------------------------------

    /// Takes a photo from the camera or a file: JPEG or PNG, decoded within
    /// bounds, turned upright, stripped of every metadata (GPS above all),
    /// at most 2048 px, re-encoded, with a 320 px thumbnail that stays on the
    /// tablet. The capture time the file stated is kept for the record. The
    /// photo can then be named in step evidence by its `sha256`.
    pub fn put_photo(&self, bytes: &[u8]) -> Result<PhotoRef, AppError> {
        // Decoded on the photo worker, one at a time (see `PhotoWorker`); the
        // store is not locked meanwhile, so sync and the screens go on.
        let ingested = self.photos.ingest(bytes)?;
        let captured_at_ms = ingested.captured.and_then(|c| {
            let offset = c.offset_minutes.and_then(|m| FixedOffset::east_opt(m * 60)).unwrap_or(self.tz);
            offset.from_local_datetime(&c.local).single().map(|t| t.timestamp_millis())
        });
        let photo = hearth_store::NewPhoto {
            jpeg: &ingested.photo.bytes,
            width: ingested.photo.width,
            height: ingested.photo.height,
            thumbnail: &ingested.thumbnail.bytes,
            captured_at_ms,
        };
        let stored = self.db().put_photo(photo, self.now().timestamp_millis())?;
        self.nudge();
        Ok(PhotoRef {
            sha256: stored.sha256.to_hex(),
            size: stored.size,
            media_type: hearth_photo::MEDIA_TYPE.to_owned(),
        })
    }

    /// A stored photo's thumbnail, as a `data:` URL the screens can show.
    pub fn photo_thumbnail_data_url(&self, sha256: &str) -> Result<String, AppError> {
        let digest: Digest =
            sha256.parse().map_err(|_| AppError::invalid_field("sha256", "not a SHA-256"))?;
        let jpeg = self
            .db()
            .photo_thumbnail(&digest)?
            .ok_or_else(|| AppError::new("unknown_photo", format!("no photo {sha256} on this tablet")))?;
        Ok(format!("data:image/jpeg;base64,{}", base64::engine::general_purpose::STANDARD.encode(jpeg)))
    }

    // ------------------------------------------------------------------
    // Records
    // ------------------------------------------------------------------

    pub(crate) fn record_view(
        &self,
        store: &Store,
        record: &ChainRecord,
        supersessions: &Supersessions,
    ) -> Result<RecordView, AppError> {
        let state = match (record.receipt, record.send_attempts) {
            (Some(ReceiptStatus::NeedsReview), _) => RecordState::NeedsReview,
            (Some(ReceiptStatus::Valid), _) => RecordState::Receipted,
            (None, Some(attempts)) if attempts > 0 => RecordState::Sent,
            (None, _) => RecordState::Sealed,
        };
        let flags = store
            .snapshot(FeedKind::ReviewStatus, &record.content.record_id)?
            .and_then(|b| b.get("flags").cloned())
            .and_then(|f| serde_json::from_value::<Vec<String>>(f).ok())
            .unwrap_or_default();
        let c = &record.content;
        Ok(RecordView {
            seq: record.seq,
            record_id: c.record_id.clone(),
            schema: c.schema.clone(),
            work_order_id: c.work_order_id.clone(),
            sealed_at_ms: record.sealed_at_ms,
            state,
            flags,
            supersedes: c.supersedes.as_ref().map(|s| s.record_id.clone()),
            reason: c.supersedes.as_ref().map(|s| s.reason.clone()),
            superseded_by: supersessions.superseded_by(&c.record_id).map(str::to_owned),
            may_withdraw: false,
        })
    }

    /// Sealed records, newest last: all of them or one order's.
    pub fn records(&self, work_order_id: Option<&str>) -> Result<Vec<RecordView>, AppError> {
        let store = self.db();
        let records = store.chain_records(work_order_id)?;
        let all = if work_order_id.is_some() { store.chain_records(None)? } else { records.clone() };
        let supersessions = Supersessions::of(&all);
        // Each order is read once, not once per record (the feed may hold thousands).
        let mut orders: HashMap<String, Option<WorkOrder>> = HashMap::new();
        records
            .iter()
            .map(|r| {
                let mut view = self.record_view(&store, r, &supersessions)?;
                let order = match r.content.work_order_id.as_deref() {
                    Some(wo) => {
                        orders.entry(wo.to_owned()).or_insert_with(|| self.order(&store, wo).ok()).as_ref()
                    }
                    None => None,
                };
                view.may_withdraw = self.check_voidable(order, r, &all).is_ok();
                Ok(view)
            })
            .collect()
    }

    /// Withdraws a record sealed by mistake; the original stays on record.
    ///
    /// Refused for what others have relied on: a customer's sign-off or a
    /// co-signed report (final on the tablet; the office annotates them), a
    /// record another record binds or corrects, an order opened here that
    /// already has records, and any void after which the visit would no
    /// longer replay (only the last step done can be withdrawn; an earlier
    /// one is corrected instead).
    pub fn void_record(&self, record_id: &str, reason: &str) -> Result<RecordView, AppError> {
        if reason.trim().is_empty() {
            return Err(AppError::new("reason_required", "say why the record is withdrawn"));
        }
        let key = self.signed_in()?;
        let mut store = self.db();
        let original = store
            .chain_record(record_id)?
            .ok_or_else(|| AppError::invalid_field("record_id", "no such record on this tablet"))?;
        let all = store.chain_records(None)?;
        let order = original.content.work_order_id.as_deref().and_then(|wo| self.order(&store, wo).ok());
        self.check_voidable(order.as_ref(), &original, &all)?;
        let work_order_id = original.content.work_order_id.as_deref().map(WorkOrderId::parse).transpose()?;
        let content = records::void(
            self.meta(&store)?,
            work_order_id.as_ref(),
            record_ref(&original),
            reason,
            key.signer(SignerRole::Performer),
        )?;
        let sealed = self.seal(&mut store, content, &[(&key, SignerRole::Performer)])?;
        let supersessions = Supersessions::of(&store.chain_records(None)?);
        self.record_view(&store, &sealed, &supersessions)
    }

    /// `order` is the record's work order as this tablet knows it (none when
    /// it names none, or an order the tablet no longer holds).
    fn check_voidable(
        &self,
        order: Option<&WorkOrder>,
        original: &ChainRecord,
        all: &[ChainRecord],
    ) -> Result<(), AppError> {
        let c = &original.content;
        let supersessions = Supersessions::of(all);
        if c.schema == schema::VOID {
            return Err(AppError::invalid_field("record_id", "a void cannot be voided"));
        }
        if supersessions.voided(&c.record_id) {
            return Err(AppError::invalid_field("record_id", "the record is already withdrawn"));
        }
        if supersessions.superseded_by(&c.record_id).is_some() {
            return Err(AppError::new(
                "record_corrected",
                "the record was corrected: withdraw the correction instead",
            ));
        }
        if c.schema == schema::CUSTOMER_SIGNOFF || c.schema == schema::TEMPERATURE_TEST {
            return Err(AppError::new(
                "record_final",
                "a customer's sign-off and a co-signed report cannot be withdrawn on the tablet",
            ));
        }
        let in_force = |r: &&ChainRecord| !supersessions.voided(&r.content.record_id);
        if let Some(binder) =
            all.iter().filter(in_force).find(|r| r.content.refs.iter().any(|x| x.record_id == c.record_id))
        {
            return Err(AppError::new(
                "record_bound",
                format!("record {} ({}) binds this one", binder.content.record_id, binder.content.schema),
            ));
        }
        let Some(wo) = c.work_order_id.as_deref() else { return Ok(()) };
        if c.schema == schema::WORK_ORDER_LOCAL {
            // A void is no work on the order: once every record on an order
            // opened by mistake is withdrawn, the order itself can be.
            let has_records = all.iter().filter(in_force).any(|r| {
                r.content.work_order_id.as_deref() == Some(wo)
                    && r.content.record_id != c.record_id
                    && r.content.schema != schema::VOID
            });
            if has_records {
                return Err(AppError::new(
                    "order_has_records",
                    "work was already recorded on this order: it cannot be withdrawn",
                ));
            }
            return Ok(());
        }
        let Some(order) = order else { return Ok(()) };
        let records: Vec<ChainRecord> =
            all.iter().filter(|r| r.content.work_order_id.as_deref() == Some(wo)).cloned().collect();
        let supersessions = Supersessions::of(&records).with_void(&c.record_id);
        hearth_copy::replay::replay_visit(order, &records, supersessions).map(|_| ()).map_err(|_| {
            AppError::new(
                "void_breaks_visit",
                "only the last step done can be withdrawn: correct an earlier step instead",
            )
        })
    }

    // ------------------------------------------------------------------
    // Drafts
    // ------------------------------------------------------------------

    /// Keeps UI state across a restart (a half-filled form, the signature
    /// pad's strokes). `json` must be a JSON object.
    pub fn save_draft(&self, key: &str, json: &str) -> Result<(), AppError> {
        if key.trim().is_empty() {
            return Err(AppError::invalid_field("key", "a draft needs a key"));
        }
        let id = format!("{UI_DRAFT_PREFIX}{key}");
        self.db().save_draft(&id, "ui", None, json.as_bytes(), self.now().timestamp_millis())?;
        Ok(())
    }

    pub fn load_draft(&self, key: &str) -> Result<Option<String>, AppError> {
        let id = format!("{UI_DRAFT_PREFIX}{key}");
        let draft = self.db().draft(&id)?;
        draft.map(|d| serde_json::to_string(&Value::Object(d.data)).map_err(AppError::internal)).transpose()
    }

    // ------------------------------------------------------------------
    // Sync and rescue
    // ------------------------------------------------------------------

    /// The engine for the enrolled server; the shell spawns its `run()`.
    /// Started once: later calls return the same engine.
    pub fn start_sync(&self, config: SyncConfig) -> Result<Arc<SyncEngine>, AppError> {
        if let Some(engine) = self.engine() {
            return Ok(engine);
        }
        // Built without the session lock held: the store is never locked
        // inside the session lock (sealing takes them the other way round).
        let engine = SyncEngine::new(self.store.clone(), config)?;
        Ok(lock(&self.session).engine.get_or_insert(engine).clone())
    }

    pub fn sync_status(&self) -> Result<SyncStatus, AppError> {
        if let Some(engine) = self.engine() {
            return Ok(engine.status());
        }
        // Before the engine runs: what is waiting, from the store.
        let store = self.db();
        Ok(SyncStatus { enrolled: store.device_id()?.is_some(), ..SyncStatus::from(&store.sync_counts()?) })
    }

    /// The device's network came back (the webview's `online` event): sync
    /// at once instead of waiting out a backoff. Nothing to do before enrolment.
    pub fn connectivity_regained(&self) {
        if let Some(engine) = self.engine() {
            engine.connectivity_regained();
        }
    }

    /// "Sync now": every lane runs at once, backoff or not.
    pub async fn sync_now(&self) -> Result<SyncStatus, AppError> {
        let engine = self
            .engine()
            .ok_or_else(|| AppError::new("not_enrolled", "sync starts once the tablet is enrolled"))?;
        engine.sync_now().await;
        Ok(engine.status())
    }

    /// Writes everything not yet receipted to a rescue file in the store's
    /// `rescue/` directory, for an operator to import.
    pub fn export_rescue(&self) -> Result<RescueSummary, AppError> {
        let store = self.db();
        let dir = store.dir().join("rescue");
        std::fs::create_dir_all(&dir).map_err(|e| AppError::new("storage", e.to_string()))?;
        let now = self.now();
        let path = dir.join(format!("hearth-rescue-{}.jsonl", now.timestamp_millis()));
        Ok(hearth_sync::export_rescue(&store, &path, now.timestamp_millis())?)
    }

    /// The newest rescue file written by `export_rescue`.
    pub fn latest_rescue_export(&self) -> Result<std::path::PathBuf, AppError> {
        let dir = self.db().dir().join("rescue");
        let newest = std::fs::read_dir(&dir)
            .ok()
            .into_iter()
            .flatten()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
            .max();
        newest.ok_or_else(|| AppError::new("no_rescue_export", "nothing was exported yet"))
    }

    /// The thermometer named by `serial` in the feed.
    pub(crate) fn thermometer(&self, store: &Store, serial: &str) -> Result<Option<Thermometer>, AppError> {
        Ok(store.snapshot(FeedKind::Thermometer, serial)?.and_then(|b| serde_json::from_value(b).ok()))
    }

    pub(crate) fn technician_summary(
        &self,
        store: &Store,
        tech_id: &str,
    ) -> Result<TechnicianSummary, AppError> {
        Ok(TechnicianSummary {
            tech_id: tech_id.to_owned(),
            name: technician_names(store)?.get(tech_id).cloned(),
        })
    }

    /// The attachment for a photo named in evidence, which must be stored here.
    pub(crate) fn photo_attachment(
        &self,
        store: &Store,
        sha256: &str,
    ) -> Result<hearth_protocol::Attachment, AppError> {
        let digest: Digest =
            sha256.parse().map_err(|_| AppError::invalid_field("photos", "not a SHA-256"))?;
        let blob = store.stored_blob(&digest)?.ok_or_else(|| {
            AppError::invalid_field("photos", format!("photo {sha256} is not stored on this tablet"))
        })?;
        // When the photo was taken, as its file said: the stored file keeps no metadata.
        let captured_at_ms = store.photo(&digest)?.and_then(|p| p.captured_at_ms);
        Ok(hearth_protocol::Attachment {
            captured_at_ms,
            sha256: digest,
            size: blob.size,
            media_type: blob.media_type,
            role: hearth_protocol::AttachmentRole::Photo,
        })
    }
}

/// Names from the office's technician list, by tech id.
pub(crate) fn technician_names(store: &Store) -> Result<HashMap<String, String>, AppError> {
    Ok(store
        .snapshots(FeedKind::Technician)?
        .into_iter()
        .filter_map(|(id, _, body)| body.get("name").and_then(Value::as_str).map(|n| (id, n.to_owned())))
        .collect())
}

pub(crate) fn decode_base64(text: &str) -> Result<Vec<u8>, AppError> {
    let text = text.trim();
    // Data URLs from a canvas carry a prefix; the bytes follow the comma.
    let text = text.split_once(";base64,").map_or(text, |(_, b)| b);
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(text))
        .or_else(|_| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(text))
        .map_err(|_| AppError::invalid_field("bytes_base64", "not base64"))
}

const PNG_MAGIC: &[u8] = &[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];

/// A signature pad's drawing is a PNG of a few kilobytes; anything else is refused.
pub(crate) fn check_signature_png(bytes: &[u8]) -> Result<(), AppError> {
    if bytes.len() > MAX_SIGNATURE_BYTES {
        return Err(AppError::invalid_field(
            "signature_png_base64",
            format!(
                "a signature image may be at most {MAX_SIGNATURE_BYTES} bytes, this one is {}",
                bytes.len()
            ),
        ));
    }
    if !bytes.starts_with(PNG_MAGIC) {
        return Err(AppError::invalid_field("signature_png_base64", "the signature image must be a PNG"));
    }
    Ok(())
}
