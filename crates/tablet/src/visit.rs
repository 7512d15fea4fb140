//! The seven-step repair visit. Nothing about a visit is kept apart from
//! the chain: every view is rebuilt by replaying the order's sealed records
//! through the domain's `Visit`, so a restart loses nothing and the rules
//! applied on replay are the rules applied live.

use hearth_copy::replay::replay_visit;
use hearth_copy::text as summary;
use hearth_domain::{
    Appointment, CompletedStep, ConcludedVisit, CustomerSignoff, StepEvidence, VisitError, VisitOutcome,
    WorkOrder, WorkOrderId,
};
use hearth_protocol::{AttachmentRole, SignerRole};
use hearth_store::{ChainRecord, Store};
use serde_json::Value;

use crate::app::{App, Key, Supersessions, record_ref};
use crate::error::AppError;
use crate::records::{self, LateNotice, SignatureFiles};
use crate::views::{
    EarlierVisitView, LateNoticeInput, LateNoticeView, OutcomeView, SignoffInput, SignoffResult, SignoffView,
    StepRevision, StepView, VisitView,
};

/// The order's visit as replayed from this tablet's chain.
pub(crate) type VisitState = hearth_copy::replay::VisitState<ChainRecord>;

impl App {
    /// The text the customer is shown for the visit as it stands now.
    fn visit_summary(
        &self,
        store: &Store,
        order: &WorkOrder,
        state: &VisitState,
    ) -> Result<String, AppError> {
        let names = crate::app::technician_names(store)?;
        Ok(summary::visit(order, state, &names, self.rules(store)?.company(), self.tz()))
    }

    pub(crate) fn visit_state(&self, store: &Store, order: &WorkOrder) -> Result<VisitState, AppError> {
        let records = store.chain_records(Some(order.id.as_str()))?;
        let supersessions = Supersessions::of(&records);
        Ok(replay_visit(order, &records, supersessions)?)
    }

    fn visit_view(
        &self,
        store: &Store,
        order: &WorkOrder,
        state: &VisitState,
    ) -> Result<VisitView, AppError> {
        let view = |r: &ChainRecord| self.record_view(store, r, &state.supersessions);
        let step_view = |s: &hearth_copy::replay::ReplayedStep<ChainRecord>| {
            Ok::<_, AppError>(StepView {
                step: s.step.evidence.step(),
                at: s.step.at,
                evidence: s.step.evidence.clone(),
                record: view(&s.record)?,
                earlier: s
                    .earlier
                    .iter()
                    .map(|(e, r)| Ok(StepRevision { evidence: e.evidence.clone(), record: view(r)? }))
                    .collect::<Result<Vec<_>, AppError>>()?,
            })
        };
        let steps = state.steps.iter().map(step_view).collect::<Result<Vec<_>, AppError>>()?;
        let summary = match &state.signoff {
            // What the customer signed stays what the view shows.
            Some((s, _)) => s.summary_shown().as_str().to_owned(),
            None => self.visit_summary(store, order, state)?,
        };
        Ok(VisitView {
            work_order_id: order.id.as_str().to_owned(),
            next_step: state.visit.next_step(),
            steps,
            late_notice: state
                .late
                .as_ref()
                .map(|(n, r)| {
                    Ok::<_, AppError>(LateNoticeView {
                        notice: LateNoticeInput {
                            told_whom: n.told_whom.clone(),
                            told_at_ms: n.told_at_ms,
                            new_eta_ms: n.new_eta_ms,
                        },
                        record: view(r)?,
                    })
                })
                .transpose()?,
            outcome: state
                .outcome
                .as_ref()
                .map(|(c, r)| Ok::<_, AppError>(OutcomeView { concluded: c.clone(), record: view(r)? }))
                .transpose()?,
            signoff: SignoffView::of(state.signoff.as_ref(), view)?,
            summary,
            visit_number: u32::try_from(state.earlier.len() + 1).unwrap_or(u32::MAX),
            may_start_another_visit: state.may_start_another(),
            earlier_visits: state
                .earlier
                .iter()
                .map(|e| {
                    Ok::<_, AppError>(EarlierVisitView {
                        steps: e.steps.iter().map(step_view).collect::<Result<Vec<_>, AppError>>()?,
                        outcome: OutcomeView { concluded: e.outcome.0.clone(), record: view(&e.outcome.1)? },
                    })
                })
                .collect::<Result<Vec<_>, AppError>>()?,
        })
    }

    /// The visit of an order, rebuilt from the chain.
    pub fn visit(&self, work_order_id: &str) -> Result<VisitView, AppError> {
        let store = self.db();
        let order = self.order(&store, work_order_id)?;
        let state = self.visit_state(&store, &order)?;
        self.visit_view(&store, &order, &state)
    }

    /// Completes the next step with its evidence, now; the domain checks
    /// order and evidence before anything is sealed.
    pub fn complete_step(&self, work_order_id: &str, evidence: StepEvidence) -> Result<VisitView, AppError> {
        let key = self.signed_in()?;
        let mut store = self.db();
        let order = self.order(&store, work_order_id)?;
        self.within_visit_hours(&store, &evidence)?;
        let mut state = self.visit_state(&store, &order)?;
        let at = self.now();
        // After a visit that ended without a fix, the next step begins another visit.
        if state.may_start_another() {
            state.begin_another(&order);
        }
        state.visit.complete(evidence.clone(), at)?;
        let content = self.step_content(&store, &key, &order, CompletedStep { at, evidence })?;
        self.seal(&mut store, content, &[(&key, SignerRole::Performer)])?;
        let state = self.visit_state(&store, &order)?;
        self.visit_view(&store, &order, &state)
    }

    /// An agreed appointment lies within the company's visit hours (000:
    /// 09:00–18:00, company time, one day), as the office enforces.
    fn within_visit_hours(&self, store: &Store, evidence: &StepEvidence) -> Result<(), AppError> {
        match evidence {
            StepEvidence::Appointment(a) => self.check_visit_hours(store, "agreed", &a.agreed),
            _ => Ok(()),
        }
    }

    fn check_visit_hours(
        &self,
        store: &Store,
        field: &str,
        appointment: &Appointment,
    ) -> Result<(), AppError> {
        let rules = self.rules(store)?;
        let visits = rules.visits();
        if visits.allows(appointment, hearth_domain::time::company_offset()) {
            return Ok(());
        }
        Err(AppError::new(
            "outside_visit_hours",
            format!(
                "{field}: home visits are from {} to {} company time, within one day",
                visits.from.format("%H:%M"),
                visits.until.format("%H:%M")
            ),
        ))
    }

    /// A step's record: the evidence, signed by the technician, with the
    /// photos it names attached (each must be stored here).
    fn step_content(
        &self,
        store: &Store,
        key: &Key,
        order: &WorkOrder,
        step: CompletedStep,
    ) -> Result<hearth_protocol::Content, AppError> {
        let photos = step
            .evidence
            .photos()
            .iter()
            .map(|p| self.photo_attachment(store, p.as_str()))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(records::visit_step(
            self.meta(store)?,
            &order.id,
            &step,
            key.signer(SignerRole::Performer),
            photos,
        )?)
    }

    /// Corrects a step already done: a new record with the new evidence and
    /// the reason supersedes the step's record in force; both stay, and the
    /// view shows the earlier version beside the correction. The step keeps
    /// the time it was done.
    pub fn correct_step(
        &self,
        work_order_id: &str,
        original_record_id: &str,
        reason: &str,
        evidence: StepEvidence,
    ) -> Result<VisitView, AppError> {
        if reason.trim().is_empty() {
            return Err(AppError::new("reason_required", "say why the step is corrected"));
        }
        let key = self.signed_in()?;
        let mut store = self.db();
        let order = self.order(&store, work_order_id)?;
        self.within_visit_hours(&store, &evidence)?;
        let mut state = self.visit_state(&store, &order)?;
        let original = state
            .steps
            .iter()
            .find(|s| s.record.content.record_id == original_record_id)
            .cloned()
            .ok_or_else(|| {
                AppError::invalid_field("original_record_id", "not a step of this visit that is in force")
            })?;
        if original.step.evidence.step() != evidence.step() {
            return Err(AppError::invalid_field("evidence", "a correction is of the same step"));
        }
        state.visit.correct(evidence.clone())?;
        let content =
            self.step_content(&store, &key, &order, CompletedStep { at: original.step.at, evidence })?;
        let content = records::supersede(
            content,
            &original.record.content.record_id,
            original.record.content_hash,
            reason,
        )?;
        self.seal(&mut store, content, &[(&key, SignerRole::Performer)])?;
        let state = self.visit_state(&store, &order)?;
        self.visit_view(&store, &order, &state)
    }

    /// Ends the visit: resolved, not resolved (next appointment), nobody
    /// home, or refused entry.
    pub fn conclude_visit(&self, work_order_id: &str, outcome: VisitOutcome) -> Result<VisitView, AppError> {
        let key = self.signed_in()?;
        let mut store = self.db();
        let order = self.order(&store, work_order_id)?;
        if let VisitOutcome::NotResolved { next_appointment: Some(next) }
        | VisitOutcome::NobodyHome { next_appointment: Some(next), .. } = &outcome
        {
            self.check_visit_hours(&store, "next_appointment", next)?;
        }
        let mut state = self.visit_state(&store, &order)?;
        let at = self.now();
        if state.may_start_another() {
            state.begin_another(&order);
        }
        state.visit.conclude(outcome.clone(), at)?;
        let photos = match &outcome {
            VisitOutcome::NobodyHome { notice_photo_sha256: Some(p), .. } => {
                vec![self.photo_attachment(&store, p.as_str())?]
            }
            _ => vec![],
        };
        let steps = state.steps.iter().map(|s| record_ref(&s.record)).collect();
        let concluded = ConcludedVisit { at, outcome };
        let content = records::visit_outcome(
            self.meta(&store)?,
            &order.id,
            &concluded,
            key.signer(SignerRole::Performer),
            photos,
            steps,
        )?;
        self.seal(&mut store, content, &[(&key, SignerRole::Performer)])?;
        let state = self.visit_state(&store, &order)?;
        self.visit_view(&store, &order, &state)
    }

    /// Records that the customer was told the technician will be late.
    pub fn running_late(&self, work_order_id: &str, notice: LateNoticeInput) -> Result<VisitView, AppError> {
        let key = self.signed_in()?;
        if notice.told_whom.trim().is_empty() {
            return Err(AppError::invalid_field("told_whom", "say who was told"));
        }
        if notice.new_eta_ms <= notice.told_at_ms {
            return Err(AppError::invalid_field(
                "new_eta_ms",
                "the new arrival time must come after the notice",
            ));
        }
        let mut store = self.db();
        let order = self.order(&store, work_order_id)?;
        let state = self.visit_state(&store, &order)?;
        if state.outcome.is_some() {
            return Err(VisitError::VisitConcluded.into());
        }
        let late = LateNotice {
            told_whom: notice.told_whom.trim().to_owned(),
            told_at_ms: notice.told_at_ms,
            new_eta_ms: notice.new_eta_ms,
        };
        let content =
            records::late_notice(self.meta(&store)?, &order.id, &late, key.signer(SignerRole::Performer))?;
        self.seal(&mut store, content, &[(&key, SignerRole::Performer)])?;
        let state = self.visit_state(&store, &order)?;
        self.visit_view(&store, &order, &state)
    }

    /// The customer signs, or refuses to sign, the summary of the visit or
    /// (once its report is co-signed) of the temperature test.
    pub fn customer_signoff(
        &self,
        work_order_id: &str,
        input: SignoffInput,
    ) -> Result<SignoffResult, AppError> {
        let key = self.signed_in()?;
        let is_test = {
            let store = self.db();
            self.order(&store, work_order_id)?;
            self.test_started(&store, work_order_id)?
        };
        if is_test {
            self.test_signoff(&key, work_order_id, input).map(SignoffResult::Test)
        } else {
            self.visit_signoff(&key, work_order_id, input).map(SignoffResult::Visit)
        }
    }

    fn visit_signoff(
        &self,
        key: &Key,
        work_order_id: &str,
        input: SignoffInput,
    ) -> Result<VisitView, AppError> {
        let mut store = self.db();
        let order = self.order(&store, work_order_id)?;
        let mut state = self.visit_state(&store, &order)?;
        let text = self.visit_summary(&store, &order, &state)?;
        let (signoff, files) = self.signoff_of(&store, input, &text)?;
        state.visit.record_signoff(signoff.clone())?;
        let accepted = state.steps.iter().map(|s| record_ref(&s.record)).collect();
        self.seal_signoff(&mut store, key, &order.id, &signoff, accepted, files)?;
        let state = self.visit_state(&store, &order)?;
        self.visit_view(&store, &order, &state)
    }

    /// Turns the UI's answer into a domain sign-off over `summary`,
    /// storing the signature image and strokes.
    pub(crate) fn signoff_of(
        &self,
        store: &Store,
        input: SignoffInput,
        summary: &str,
    ) -> Result<(CustomerSignoff, Option<SignatureFiles>), AppError> {
        match input {
            SignoffInput::Refused { reason } => {
                if reason.trim().is_empty() {
                    return Err(AppError::new("reason_required", "record why the customer refused to sign"));
                }
                Ok((CustomerSignoff::refused(&reason, summary)?, None))
            }
            SignoffInput::Signed { signature_png_base64, strokes_json, satisfaction, comment } => {
                let png = crate::app::decode_base64(&signature_png_base64)?;
                crate::app::check_signature_png(&png)?;
                serde_json::from_str::<Value>(&strokes_json)
                    .map_err(|e| AppError::invalid_field("strokes_json", e))?;
                let now_ms = self.now().timestamp_millis();
                let png = store.put_blob(&png, "image/png", now_ms)?;
                let strokes = store.put_blob(strokes_json.as_bytes(), "application/json", now_ms)?;
                let signoff = CustomerSignoff::signed(
                    &png.sha256.to_hex(),
                    &strokes.sha256.to_hex(),
                    summary,
                    satisfaction,
                    comment.as_deref(),
                )?;
                let attach = |b: hearth_store::StoredBlob, role| hearth_protocol::Attachment {
                    captured_at_ms: None,
                    sha256: b.sha256,
                    size: b.size,
                    media_type: b.media_type,
                    role,
                };
                let files = SignatureFiles {
                    png: attach(png, AttachmentRole::CustomerSignaturePng),
                    strokes: attach(strokes, AttachmentRole::CustomerSignatureStrokes),
                };
                Ok((signoff, Some(files)))
            }
        }
    }

    pub(crate) fn seal_signoff(
        &self,
        store: &mut Store,
        key: &Key,
        work_order_id: &WorkOrderId,
        signoff: &CustomerSignoff,
        accepted: Vec<hearth_protocol::RecordRef>,
        files: Option<SignatureFiles>,
    ) -> Result<ChainRecord, AppError> {
        let content = records::customer_signoff(
            self.meta(store)?,
            work_order_id,
            signoff,
            accepted,
            files,
            key.signer(SignerRole::Performer),
        )?;
        let sealed = self.seal(store, content, &[(key, SignerRole::Performer)])?;
        // The customer's copy is made now, under the same lock, while the
        // signature image is surely still on the tablet (sync removes it once
        // the server holds it). A failure here (no CJK font) is reported when
        // the copy is asked for; the sign-off itself stands.
        let _made = self.make_customer_copy(store, work_order_id.as_str());
        Ok(sealed)
    }
}
