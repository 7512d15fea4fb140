//! Sealed records replayed into a visit: an order's records, read back in
//! chain order through the domain's `Visit`. Pure over the records it is
//! given (no store, no clock), generic over how the holder keeps a record
//! (the tablet's chain, the server's store), so the tablet's views and
//! checks, its customer's copy and the server's reprint stand on one replay.

use std::collections::{HashMap, HashSet};

use hearth_domain::{
    CompletedStep, ConcludedVisit, CustomerSignoff, LateNotice, Visit, VisitError, VisitOutcome, WorkOrder,
};
use hearth_protocol::{Sealed, schema};
use serde_json::Value;

/// A sealed record that cannot be read back or replayed: the domain accepted
/// it when it was sealed, so this is a bug or a corrupt store, never the user's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ReplayError(pub String);

/// Which records were withdrawn or corrected, and by what.
#[derive(Debug, Default, Clone)]
pub struct Supersessions {
    /// original record id → (the superseding record id, its schema)
    by: HashMap<String, (String, String)>,
}

impl Supersessions {
    pub fn of<R: Sealed>(records: &[R]) -> Self {
        let mut by = HashMap::new();
        for r in records {
            let c = r.content();
            if let Some(s) = &c.supersedes {
                by.insert(s.record_id.clone(), (c.record_id.clone(), c.schema.clone()));
            }
        }
        Self { by }
    }

    /// Withdrawn by a `hearth.void` record.
    pub fn voided(&self, record_id: &str) -> bool {
        self.by.get(record_id).is_some_and(|(_, schema)| schema == schema::VOID)
    }

    /// The record that withdrew or corrected this one.
    pub fn superseded_by(&self, record_id: &str) -> Option<&str> {
        self.by.get(record_id).map(|(id, _)| id.as_str())
    }

    /// As these, with `record_id` withdrawn too: to ask what a void would do.
    pub fn with_void(&self, record_id: &str) -> Self {
        let mut by = self.by.clone();
        by.insert(record_id.to_owned(), (String::new(), schema::VOID.to_owned()));
        Self { by }
    }
}

/// The record's data as the domain value it was sealed from.
pub fn data_as<T: serde::de::DeserializeOwned>(record: &impl Sealed) -> Result<T, ReplayError> {
    let c = record.content();
    serde_json::from_value(Value::Object(c.data.clone()))
        .map_err(|e| ReplayError(format!("record {} ({}) cannot be read: {e}", c.record_id, c.schema)))
}

/// A step in force, the record that says it, and the versions it corrected.
#[derive(Debug, Clone)]
pub struct ReplayedStep<R> {
    pub step: CompletedStep,
    pub record: R,
    /// Earlier versions of this step, oldest first, each replaced by a correction.
    pub earlier: Vec<(CompletedStep, R)>,
}

/// A visit that ended without a fix (nobody home, entry refused, cannot
/// finish today), kept when the next visit to the same order began.
#[derive(Debug)]
pub struct EarlierVisit<R> {
    pub steps: Vec<ReplayedStep<R>>,
    pub outcome: (ConcludedVisit, R),
}

/// A visit as replayed from the chain, with the record behind each part.
/// An order may take several visits: steps sealed after a visit ended
/// without a fix begin the next one (no dead ends, issue 14); the earlier
/// ones are kept in `earlier`, oldest first.
#[derive(Debug)]
pub struct VisitState<R> {
    pub earlier: Vec<EarlierVisit<R>>,
    pub visit: Visit,
    pub steps: Vec<ReplayedStep<R>>,
    pub outcome: Option<(ConcludedVisit, R)>,
    pub signoff: Option<(CustomerSignoff, R)>,
    pub late: Option<(LateNotice, R)>,
    pub supersessions: Supersessions,
}

impl<R> VisitState<R> {
    /// The visit ended without a fix: another visit to the order may begin.
    pub fn may_start_another(&self) -> bool {
        self.outcome.as_ref().is_some_and(|(c, _)| c.outcome != VisitOutcome::Resolved)
    }

    /// Keeps the ended visit and starts the next one, from its first step.
    pub fn begin_another(&mut self, order: &WorkOrder) {
        if let Some(outcome) = self.outcome.take() {
            self.earlier.push(EarlierVisit { steps: std::mem::take(&mut self.steps), outcome });
        }
        self.visit = Visit::new(order.id.clone());
        self.signoff = None;
        self.late = None;
    }
}

/// Replays what the chain says; a record the domain refuses on replay is
/// a bug (it was accepted live).
fn replay<T>(result: Result<T, VisitError>, record: &impl Sealed) -> Result<T, ReplayError> {
    result.map_err(|e| ReplayError(format!("record {} does not replay: {e}", record.content().record_id)))
}

/// Replays an order's records, in chain order, through the domain's `Visit`.
/// Withdrawn records are left out; a correction replaces the step it names,
/// in place.
pub fn replay_visit<R: Sealed + Clone>(
    order: &WorkOrder,
    records: &[R],
    supersessions: Supersessions,
) -> Result<VisitState<R>, ReplayError> {
    let reports: HashSet<&str> = records
        .iter()
        .map(Sealed::content)
        .filter(|c| c.schema == schema::TEMPERATURE_TEST)
        .map(|c| c.record_id.as_str())
        .collect();
    let mut state: VisitState<R> = VisitState {
        earlier: Vec::new(),
        visit: Visit::new(order.id.clone()),
        steps: Vec::new(),
        outcome: None,
        signoff: None,
        late: None,
        supersessions: Supersessions::default(),
    };
    for r in records {
        let c = r.content();
        if supersessions.voided(&c.record_id) {
            continue;
        }
        match c.schema.as_str() {
            schema::VISIT_STEP => {
                let step: CompletedStep = data_as(r)?;
                match &c.supersedes {
                    Some(corrected) => {
                        replay(state.visit.correct(step.evidence.clone()), r)?;
                        let slot = state
                            .steps
                            .iter_mut()
                            .find(|s| s.record.content().record_id == corrected.record_id)
                            .ok_or_else(|| {
                                ReplayError(format!("record {} corrects a step not in force", c.record_id))
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
            schema::CUSTOMER_SIGNOFF if !c.refs.iter().any(|x| reports.contains(x.record_id.as_str())) => {
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
