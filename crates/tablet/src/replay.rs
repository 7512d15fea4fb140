//! The chain replayed into state: an order's sealed records, read back in
//! chain order through the domain's `Visit`, into the visits they make up.
//! Pure over the records it is given (no store, no clock), so every view
//! and every check the use cases make stands on one replay.

use std::collections::HashSet;

use hearth_domain::{
    CompletedStep, ConcludedVisit, CustomerSignoff, Visit, VisitError, VisitOutcome, WorkOrder,
};
use hearth_protocol::schema;
use hearth_store::ChainRecord;
use serde_json::Value;

use crate::app::Supersessions;
use crate::error::AppError;
use crate::records::LateNotice;

/// A step in force, the record that says it, and the versions it corrected.
#[derive(Debug, Clone)]
pub(crate) struct ReplayedStep {
    pub(crate) step: CompletedStep,
    pub(crate) record: ChainRecord,
    /// Earlier versions of this step, oldest first, each replaced by a correction.
    pub(crate) earlier: Vec<(CompletedStep, ChainRecord)>,
}

/// A visit that ended without a fix (nobody home, entry refused, cannot
/// finish today), kept when the next visit to the same order began.
#[derive(Debug)]
pub(crate) struct EarlierVisit {
    pub(crate) steps: Vec<ReplayedStep>,
    pub(crate) outcome: (ConcludedVisit, ChainRecord),
}

/// A visit as replayed from the chain, with the record behind each part.
/// An order may take several visits: steps sealed after a visit ended
/// without a fix begin the next one (no dead ends, issue 14); the earlier
/// ones are kept in `earlier`, oldest first.
#[derive(Debug)]
pub(crate) struct VisitState {
    pub(crate) earlier: Vec<EarlierVisit>,
    pub(crate) visit: Visit,
    pub(crate) steps: Vec<ReplayedStep>,
    pub(crate) outcome: Option<(ConcludedVisit, ChainRecord)>,
    pub(crate) signoff: Option<(CustomerSignoff, ChainRecord)>,
    pub(crate) late: Option<(LateNotice, ChainRecord)>,
    pub(crate) supersessions: Supersessions,
}

impl VisitState {
    /// The visit ended without a fix: another visit to the order may begin.
    pub(crate) fn may_start_another(&self) -> bool {
        self.outcome.as_ref().is_some_and(|(c, _)| c.outcome != VisitOutcome::Resolved)
    }

    /// Keeps the ended visit and starts the next one, from its first step.
    pub(crate) fn begin_another(&mut self, order: &WorkOrder) {
        if let Some(outcome) = self.outcome.take() {
            self.earlier.push(EarlierVisit { steps: std::mem::take(&mut self.steps), outcome });
        }
        self.visit = Visit::new(order.id.clone());
        self.signoff = None;
        self.late = None;
    }
}

pub(crate) fn data_as<T: serde::de::DeserializeOwned>(record: &ChainRecord) -> Result<T, AppError> {
    serde_json::from_value(Value::Object(record.content.data.clone())).map_err(|e| {
        AppError::internal(format!(
            "record {} ({}) cannot be read: {e}",
            record.content.record_id, record.content.schema
        ))
    })
}

/// Replays what the chain says; a record the domain refuses on replay is
/// a bug (it was accepted live), reported as `internal`.
fn replay<T>(result: Result<T, VisitError>, record: &ChainRecord) -> Result<T, AppError> {
    result
        .map_err(|e| AppError::internal(format!("record {} does not replay: {e}", record.content.record_id)))
}

/// Replays an order's records through the domain's `Visit`. Withdrawn
/// records are left out; a correction replaces the step it names, in place.
pub(crate) fn replay_visit(
    order: &WorkOrder,
    records: &[ChainRecord],
    supersessions: Supersessions,
) -> Result<VisitState, AppError> {
    let reports: HashSet<&str> = records
        .iter()
        .filter(|r| r.content.schema == schema::TEMPERATURE_TEST)
        .map(|r| r.content.record_id.as_str())
        .collect();
    let mut state = VisitState {
        earlier: Vec::new(),
        visit: Visit::new(order.id.clone()),
        steps: Vec::new(),
        outcome: None,
        signoff: None,
        late: None,
        supersessions: Supersessions::default(),
    };
    for r in records {
        if supersessions.voided(&r.content.record_id) {
            continue;
        }
        match r.content.schema.as_str() {
            schema::VISIT_STEP => {
                let step: CompletedStep = data_as(r)?;
                match &r.content.supersedes {
                    Some(corrected) => {
                        replay(state.visit.correct(step.evidence.clone()), r)?;
                        let slot = state
                            .steps
                            .iter_mut()
                            .find(|s| s.record.content.record_id == corrected.record_id)
                            .ok_or_else(|| {
                                AppError::internal(format!(
                                    "record {} corrects a step not in force",
                                    r.content.record_id
                                ))
                            })?;
                        let before = std::mem::replace(&mut slot.step, step);
                        let before_record = std::mem::replace(&mut slot.record, r.clone());
                        slot.earlier.push((before, before_record));
                    }
                    None => {
                        if state.may_start_another() {
                            state.begin_another(order);
                        }
                        replay(state.visit.complete(step.evidence.clone(), step.at), r)?;
                        state.steps.push(ReplayedStep { step, record: r.clone(), earlier: Vec::new() });
                    }
                }
            }
            schema::CUSTOMER_SIGNOFF
                if !r.content.refs.iter().any(|x| reports.contains(x.record_id.as_str())) =>
            {
                let signoff: CustomerSignoff = data_as(r)?;
                replay(state.visit.record_signoff(signoff.clone()), r)?;
                state.signoff = Some((signoff, r.clone()));
            }
            schema::VISIT_OUTCOME => {
                let concluded: ConcludedVisit = data_as(r)?;
                // Nobody home again on the next attempt: that is another visit too.
                if state.may_start_another() {
                    state.begin_another(order);
                }
                replay(state.visit.conclude(concluded.outcome.clone(), concluded.at), r)?;
                state.outcome = Some((concluded, r.clone()));
            }
            schema::LATE_NOTICE => state.late = Some((data_as(r)?, r.clone())),
            _ => {}
        }
    }
    state.supersessions = supersessions;
    Ok(state)
}
