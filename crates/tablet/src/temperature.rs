//! The two-person temperature test. The start (who, which thermometer,
//! when) is kept in a store draft so a restart keeps it; every reading is
//! sealed the moment it is taken, and the test is rebuilt from those
//! records through the domain's `TemperatureTest`, corrections applied.

use chrono::{DateTime, FixedOffset};
use hearth_domain::{
    CustomerSignoff, NewReading, NewTemperatureTest, TemperatureError, TemperatureReading, TemperatureReport,
    TemperatureTest, TestId, Thermometer, WorkOrderId,
};
use hearth_protocol::api::FeedKind;
use hearth_protocol::{Content, SignerRole, schema};
use hearth_store::{ChainRecord, Store};
use serde::{Deserialize, Serialize};

use crate::app::{App, Key, Supersessions, record_ref};
use crate::error::AppError;
use crate::records;
use crate::views::{ReadingInput, ReadingView, SignoffInput, SignoffView, TestView, ThermometerView};
use hearth_copy::replay::data_as;
use hearth_copy::text as summary;

const START_SCHEMA: &str = "hearth.temperature_test_start";

fn start_draft_id(work_order_id: &str) -> String {
    format!("temperature_test:{work_order_id}")
}

/// What is known when the testers start, kept as a draft until the chain
/// holds the rest.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct TestStart {
    pub(crate) test_id: String,
    pub(crate) work_order_id: String,
    pub(crate) performer: String,
    pub(crate) witness: String,
    pub(crate) thermometer: Thermometer,
    pub(crate) started_at: DateTime<FixedOffset>,
    /// Set when the testers gave the test up before signing its report
    /// (the wrong thermometer, the wrong witness); its readings are withdrawn.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) abandoned: Option<Abandoned>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Abandoned {
    pub(crate) at: DateTime<FixedOffset>,
    pub(crate) reason: String,
}

/// Every test started on one order, oldest first; the last is the current one.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct OrderTests {
    tests: Vec<TestStart>,
}

/// A test as rebuilt: the domain test over the readings in force, and
/// every reading record (corrected ones too) for the view.
#[derive(Debug)]
pub(crate) struct TestState {
    pub(crate) start: TestStart,
    pub(crate) test: TemperatureTest,
    pub(crate) readings: Vec<(TemperatureReading, ChainRecord)>,
    pub(crate) report: Option<(TemperatureReport, ChainRecord)>,
    pub(crate) signoff: Option<(CustomerSignoff, ChainRecord)>,
    pub(crate) supersessions: Supersessions,
}

impl TestState {
    pub(crate) fn in_force(&self) -> impl Iterator<Item = &(TemperatureReading, ChainRecord)> {
        self.readings.iter().filter(|(_, r)| self.supersessions.superseded_by(&r.content.record_id).is_none())
    }
}

/// "17.6", "-3", "+18.25", "17.6℃", "１７．６" → hundredths of a degree,
/// exactly, by the one grammar (`hearth_domain::input`).
pub fn parse_celsius(text: &str) -> Result<i32, AppError> {
    hearth_domain::input::parse_celsius(text).ok_or_else(|| {
        AppError::invalid_field("celsius_text", "write the reading like 17.6 (at most two decimals)")
    })
}

impl App {
    fn order_tests(&self, store: &Store, work_order_id: &str) -> Result<OrderTests, AppError> {
        let Some(draft) = store.draft(&start_draft_id(work_order_id))? else {
            return Ok(OrderTests::default());
        };
        let value = serde_json::Value::Object(draft.data);
        serde_json::from_value::<OrderTests>(value.clone())
            // Drafts written before an order could hold several tests held one start.
            .or_else(|_| serde_json::from_value::<TestStart>(value).map(|t| OrderTests { tests: vec![t] }))
            .map_err(|e| AppError::internal(format!("the test's start cannot be read: {e}")))
    }

    fn save_order_tests(
        &self,
        store: &Store,
        work_order_id: &str,
        tests: &OrderTests,
    ) -> Result<(), AppError> {
        let data = serde_json::to_vec(tests).map_err(AppError::internal)?;
        store.save_draft(
            &start_draft_id(work_order_id),
            START_SCHEMA,
            Some(work_order_id),
            &data,
            self.now().timestamp_millis(),
        )?;
        Ok(())
    }

    /// The order's current test: the last one started, unless it was abandoned.
    pub(crate) fn test_start(
        &self,
        store: &Store,
        work_order_id: &str,
    ) -> Result<Option<TestStart>, AppError> {
        Ok(self.order_tests(store, work_order_id)?.tests.pop().filter(|t| t.abandoned.is_none()))
    }

    pub(crate) fn test_started(&self, store: &Store, work_order_id: &str) -> Result<bool, AppError> {
        Ok(self.test_start(store, work_order_id)?.is_some())
    }

    pub(crate) fn test_state(
        &self,
        store: &Store,
        work_order_id: &str,
    ) -> Result<Option<TestState>, AppError> {
        let Some(start) = self.test_start(store, work_order_id)? else { return Ok(None) };
        let records = store.chain_records(Some(work_order_id))?;
        let supersessions = Supersessions::of(&records);
        let internal = |e: TemperatureError| AppError::internal(format!("the test does not replay: {e}"));
        let mut test = TemperatureTest::start(NewTemperatureTest {
            test_id: TestId::parse(&start.test_id)?,
            work_order_id: WorkOrderId::parse(&start.work_order_id)?,
            performer: hearth_domain::TechnicianId::parse(&start.performer)?,
            witness: hearth_domain::TechnicianId::parse(&start.witness)?,
            thermometer: start.thermometer.clone(),
            started_at: start.started_at,
        })
        .map_err(internal)?;
        let mut readings = Vec::new();
        let mut report = None;
        let mut signoff = None;
        for r in &records {
            match r.content.schema.as_str() {
                schema::TEMPERATURE_READING => {
                    let data: hearth_domain::ReadingRecord = data_as(r)?;
                    if data.reading.test_id.as_str() != start.test_id {
                        continue;
                    }
                    if supersessions.superseded_by(&r.content.record_id).is_none() {
                        test.add_reading(data.reading.clone()).map_err(internal)?;
                    }
                    readings.push((data.reading, r.clone()));
                }
                schema::TEMPERATURE_TEST if !supersessions.voided(&r.content.record_id) => {
                    let rep: TemperatureReport = data_as(r)?;
                    if rep.test_id.as_str() == start.test_id {
                        report = Some((rep, r.clone()));
                    }
                }
                _ => {}
            }
        }
        if let Some((_, rep)) = &report {
            // The test's sign-off is the one that binds its report.
            for r in &records {
                if r.content.schema == schema::CUSTOMER_SIGNOFF
                    && !supersessions.voided(&r.content.record_id)
                    && r.content.refs.iter().any(|x| x.record_id == rep.content.record_id)
                {
                    signoff = Some((data_as(r)?, r.clone()));
                }
            }
        }
        Ok(Some(TestState { start, test, readings, report, signoff, supersessions }))
    }

    fn thermometer_view(&self, t: &Thermometer) -> ThermometerView {
        let refusal = t.check_calibration(self.today_local()).err().map(AppError::from);
        ThermometerView {
            serial: t.serial.as_str().to_owned(),
            certificate_no: t.certificate_no.as_str().to_owned(),
            valid_until: t.valid_until,
            usable: refusal.is_none(),
            refusal,
        }
    }

    fn test_view(&self, store: &Store, state: &TestState) -> Result<TestView, AppError> {
        let rules = self.rules(store)?;
        let view = |r: &ChainRecord| self.record_view(store, r, &state.supersessions);
        let readings = state
            .readings
            .iter()
            .map(|(reading, r)| {
                let required_min = reading.required_minimum(rules.temperature());
                let verdict = summary::room_verdict(reading, rules.temperature());
                Ok(ReadingView {
                    record: view(r)?,
                    room_kind: reading.room_kind,
                    label: reading.label.as_str().to_owned(),
                    centi_celsius: reading.centi_celsius.0,
                    taken_at: reading.taken_at,
                    required_min: required_min.map(|m| m.0),
                    verdict,
                    shown_to_customer: reading.shown_to_customer,
                    outlier_reason: reading.outlier_reason.as_ref().map(|r| r.as_str().to_owned()),
                    superseded_by: state.supersessions.superseded_by(&r.content.record_id).map(str::to_owned),
                    withdrawn: state.supersessions.voided(&r.content.record_id),
                })
            })
            .collect::<Result<Vec<_>, AppError>>()?;
        let compliance = summary::test_compliance(
            state.report.as_ref().map(|(r, _)| r),
            state.test.readings(),
            rules.temperature(),
        );
        let summary = match &state.signoff {
            Some((s, _)) => s.summary_shown().as_str().to_owned(),
            None => self.test_summary(store, state)?,
        };
        Ok(TestView {
            test_id: state.start.test_id.clone(),
            work_order_id: state.start.work_order_id.clone(),
            performer: self.technician_summary(store, &state.start.performer)?,
            witness: self.technician_summary(store, &state.start.witness)?,
            thermometer: self.thermometer_view(&state.start.thermometer),
            started_at: state.start.started_at,
            readings,
            compliance,
            report: state.report.as_ref().map(|(_, r)| view(r)).transpose()?,
            signoff: SignoffView::of(state.signoff.as_ref(), view)?,
            summary,
        })
    }

    fn test_summary(&self, store: &Store, state: &TestState) -> Result<String, AppError> {
        let order = self.order(store, &state.start.work_order_id).ok();
        let rules = self.rules(store)?;
        let s = &state.start;
        let head = summary::TestHead {
            work_order_id: &s.work_order_id,
            performer: &s.performer,
            witness: &s.witness,
            thermometer: &s.thermometer,
            started_at: s.started_at,
        };
        Ok(summary::test(
            order.as_ref(),
            &head,
            state.in_force().map(|(reading, r)| (reading, &r.content)),
            state.test.readings(),
            state.report.as_ref().map(|(r, _)| r),
            &crate::app::technician_names(store)?,
            &rules,
            self.tz(),
        ))
    }

    /// The feed's thermometers, each judged on today's local date.
    pub fn thermometers(&self) -> Result<Vec<ThermometerView>, AppError> {
        let store = self.db();
        Ok(store
            .snapshots(FeedKind::Thermometer)?
            .into_iter()
            .filter_map(|(_, _, body)| serde_json::from_value::<Thermometer>(body).ok())
            .map(|t| self.thermometer_view(&t))
            .collect())
    }

    /// The signed-in technician performs; the witness joins with their PIN.
    pub fn start_temperature_test(
        &self,
        work_order_id: &str,
        witness_tech_id: &str,
        witness_pin: &str,
        thermometer_serial: &str,
    ) -> Result<TestView, AppError> {
        let key = self.signed_in()?;
        let witness_tech_id = witness_tech_id.trim();
        {
            let store = self.db();
            self.order(&store, work_order_id)?;
            // Another test may follow one the customer answered, or one given up.
            if let Some(state) = self.test_state(&store, work_order_id)?
                && state.signoff.is_none()
            {
                return Err(AppError::new("test_already_started", "this order's test is already under way"));
            }
        }
        // Checked before the PIN, so a slip does not cost the witness an attempt.
        if witness_tech_id == key.tech_id {
            return Err(TemperatureError::SameTechnician {
                tech_id: hearth_domain::TechnicianId::parse(witness_tech_id)?,
            }
            .into());
        }
        let witness = self.unlock(witness_tech_id, witness_pin)?;
        let store = self.db();
        let thermometer = self.thermometer(&store, thermometer_serial.trim())?.ok_or_else(|| {
            AppError::new(
                "unknown_thermometer",
                format!("thermometer {thermometer_serial} is not on the office's list"),
            )
        })?;
        let start = TestStart {
            test_id: uuid::Uuid::now_v7().to_string(),
            work_order_id: work_order_id.to_owned(),
            performer: key.tech_id.clone(),
            witness: witness.tech_id.clone(),
            thermometer,
            started_at: self.now_local(),
            abandoned: None,
        };
        // The domain's checks: two people, calibration valid today.
        TemperatureTest::start(NewTemperatureTest {
            test_id: TestId::parse(&start.test_id)?,
            work_order_id: WorkOrderId::parse(work_order_id)?,
            performer: hearth_domain::TechnicianId::parse(&start.performer)?,
            witness: hearth_domain::TechnicianId::parse(&start.witness)?,
            thermometer: start.thermometer.clone(),
            started_at: start.started_at,
        })?;
        let mut tests = self.order_tests(&store, work_order_id)?;
        tests.tests.push(start);
        self.save_order_tests(&store, work_order_id, &tests)?;
        let state =
            self.test_state(&store, work_order_id)?.ok_or_else(|| AppError::internal("the test vanished"))?;
        self.test_view(&store, &state)
    }

    pub fn temperature_test(&self, work_order_id: &str) -> Result<Option<TestView>, AppError> {
        let store = self.db();
        match self.test_state(&store, work_order_id)? {
            Some(state) => self.test_view(&store, &state).map(Some),
            None => Ok(None),
        }
    }

    /// Gives the current test up before its report is signed (the wrong
    /// thermometer or witness was chosen): every reading in force is
    /// withdrawn with the reason, and a new test can be started. Nothing is
    /// deleted; the readings and their voids stay on record.
    pub fn abandon_temperature_test(&self, work_order_id: &str, reason: &str) -> Result<(), AppError> {
        if reason.trim().is_empty() {
            return Err(AppError::new("reason_required", "say why the test is given up"));
        }
        let key = self.signed_in()?;
        let mut store = self.db();
        let state = self.open_test(&store, &key, work_order_id)?;
        let wo = WorkOrderId::parse(work_order_id)?;
        for (_, reading) in state.in_force() {
            let content = records::void(
                self.meta(&store)?,
                Some(&wo),
                record_ref(reading),
                reason,
                key.signer(SignerRole::Performer),
            )?;
            self.seal(&mut store, content, &[(&key, SignerRole::Performer)])?;
        }
        let mut tests = self.order_tests(&store, work_order_id)?;
        if let Some(current) = tests.tests.last_mut() {
            current.abandoned = Some(Abandoned { at: self.now_local(), reason: reason.trim().to_owned() });
        }
        self.save_order_tests(&store, work_order_id, &tests)
    }

    fn open_test(&self, store: &Store, key: &Key, work_order_id: &str) -> Result<TestState, AppError> {
        let state = self
            .test_state(store, work_order_id)?
            .ok_or_else(|| AppError::new("no_test", "start the temperature test first"))?;
        if state.report.is_some() {
            return Err(AppError::new(
                "report_signed",
                "the report is signed: readings can no longer change",
            ));
        }
        if key.tech_id != state.start.performer && key.tech_id != state.start.witness {
            return Err(AppError::new("not_a_tester", "only the two testers take readings"));
        }
        Ok(state)
    }

    /// A reading built from the input, taken now, checked against the test
    /// as it would stand with `without` removed.
    fn new_reading(
        &self,
        store: &Store,
        state: &TestState,
        input: &ReadingInput,
        without: Option<&str>,
    ) -> Result<TemperatureReading, AppError> {
        let rules = self.rules(store)?;
        let centi_celsius = parse_celsius(&input.celsius_text)?;
        let reading = TemperatureReading::new(
            NewReading {
                test_id: TestId::parse(&state.start.test_id)?,
                room_kind: input.room_kind,
                label: &input.label,
                centi_celsius,
                taken_at: self.now_local(),
                consent_to_enter: input.consent_to_enter,
                shown_to_customer: input.shown_to_customer,
                outlier_reason: input.outlier_reason.as_deref(),
            },
            rules.temperature(),
        )?;
        let mut test = TemperatureTest::start(NewTemperatureTest {
            test_id: state.test.test_id().clone(),
            work_order_id: state.test.work_order_id().clone(),
            performer: state.test.performer().clone(),
            witness: state.test.witness().clone(),
            thermometer: state.test.thermometer().clone(),
            started_at: state.test.started_at(),
        })?;
        for (r, rec) in state.in_force() {
            if Some(rec.content.record_id.as_str()) != without {
                test.add_reading(r.clone())?;
            }
        }
        // Asked while the testers are still in the room, not at the report.
        if reading.outlier_reason.is_none()
            && let Some(o) = test.outlier_if_added(reading.centi_celsius, rules.temperature())
        {
            return Err(TemperatureError::OutlierNeedsReason {
                label: reading.label.clone(),
                median: o.median,
                value: o.value,
            }
            .into());
        }
        test.add_reading(reading.clone())?;
        Ok(reading)
    }

    fn reading_content(
        &self,
        store: &Store,
        key: &Key,
        state: &TestState,
        reading: &TemperatureReading,
    ) -> Result<Content, AppError> {
        Ok(records::temperature_reading(
            self.meta(store)?,
            &WorkOrderId::parse(&state.start.work_order_id)?,
            state.start.thermometer.serial.as_str(),
            reading,
            key.signer(SignerRole::Performer),
        )?)
    }

    /// Takes one room's reading; sealed at once.
    pub fn add_reading(&self, work_order_id: &str, input: ReadingInput) -> Result<TestView, AppError> {
        let key = self.signed_in()?;
        let mut store = self.db();
        let state = self.open_test(&store, &key, work_order_id)?;
        let reading = self.new_reading(&store, &state, &input, None)?;
        let content = self.reading_content(&store, &key, &state, &reading)?;
        self.seal(&mut store, content, &[(&key, SignerRole::Performer)])?;
        let state =
            self.test_state(&store, work_order_id)?.ok_or_else(|| AppError::internal("the test vanished"))?;
        self.test_view(&store, &state)
    }

    /// A new reading that supersedes `original_record_id`, with the reason;
    /// both stay on record and in the view.
    pub fn correct_reading(
        &self,
        work_order_id: &str,
        original_record_id: &str,
        reason: &str,
        input: ReadingInput,
    ) -> Result<TestView, AppError> {
        if reason.trim().is_empty() {
            return Err(AppError::new("reason_required", "say why the reading is corrected"));
        }
        let key = self.signed_in()?;
        let mut store = self.db();
        let state = self.open_test(&store, &key, work_order_id)?;
        let original = state
            .in_force()
            .find(|(_, r)| r.content.record_id == original_record_id)
            .map(|(_, r)| r.clone())
            .ok_or_else(|| {
                AppError::invalid_field(
                    "original_record_id",
                    "not a reading of this test that is still in force",
                )
            })?;
        let reading = self.new_reading(&store, &state, &input, Some(original_record_id))?;
        let content = self.reading_content(&store, &key, &state, &reading)?;
        let content =
            records::supersede(content, &original.content.record_id, original.content_hash, reason)?;
        self.seal(&mut store, content, &[(&key, SignerRole::Performer)])?;
        let state =
            self.test_state(&store, work_order_id)?.ok_or_else(|| AppError::internal("the test vanished"))?;
        self.test_view(&store, &state)
    }

    /// Both testers sign the report with their PINs; it binds every reading in force.
    /// Both testers sign the report with their PINs. `customer_side_cause`:
    /// what the testers found on the customer's side that causes the cold
    /// (their own alterations): it is sealed in the report, and the days it
    /// opens earn no fee reduction (`hearth_domain::fee`).
    pub fn sign_report(
        &self,
        work_order_id: &str,
        performer_pin: &str,
        witness_pin: &str,
        customer_side_cause: Option<&str>,
    ) -> Result<TestView, AppError> {
        let (state, report) = {
            let store = self.db();
            let state = self
                .test_state(&store, work_order_id)?
                .ok_or_else(|| AppError::new("no_test", "start the temperature test first"))?;
            if state.report.is_some() {
                return Err(AppError::new("report_signed", "the report is already signed"));
            }
            let mut report = state.test.report(self.rules(&store)?.temperature())?;
            if let Some(cause) = customer_side_cause.filter(|c| !c.trim().is_empty()) {
                report = report.with_customer_side_cause(cause)?;
            }
            (state, report)
        };
        // Unlocking runs Argon2; no store lock is held meanwhile.
        let performer = self.unlock(&state.start.performer, performer_pin)?;
        let witness = self.unlock(&state.start.witness, witness_pin)?;
        let mut store = self.db();
        let readings = state.in_force().map(|(_, r)| record_ref(r)).collect();
        let content = records::temperature_test(
            self.meta(&store)?,
            &report,
            readings,
            performer.signer(SignerRole::Performer),
            witness.signer(SignerRole::Witness),
        )?;
        self.seal(
            &mut store,
            content,
            &[(&performer, SignerRole::Performer), (&witness, SignerRole::Witness)],
        )?;
        let state =
            self.test_state(&store, work_order_id)?.ok_or_else(|| AppError::internal("the test vanished"))?;
        self.test_view(&store, &state)
    }

    pub(crate) fn test_signoff(
        &self,
        key: &Key,
        work_order_id: &str,
        input: SignoffInput,
    ) -> Result<TestView, AppError> {
        let mut store = self.db();
        let state = self
            .test_state(&store, work_order_id)?
            .ok_or_else(|| AppError::new("no_test", "start the temperature test first"))?;
        let Some((_, report)) = &state.report else {
            return Err(AppError::new(
                "report_not_signed",
                "both testers sign the report before the customer",
            ));
        };
        if state.signoff.is_some() {
            return Err(AppError::new(
                "signoff_already_recorded",
                "the customer's answer is already recorded",
            ));
        }
        let text = self.test_summary(&store, &state)?;
        let (signoff, files) = self.signoff_of(&store, input, &text)?;
        let wo = WorkOrderId::parse(work_order_id)?;
        self.seal_signoff(&mut store, key, &wo, &signoff, vec![record_ref(report)], files)?;
        let state =
            self.test_state(&store, work_order_id)?.ok_or_else(|| AppError::internal("the test vanished"))?;
        self.test_view(&store, &state)
    }
}
