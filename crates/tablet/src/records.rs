//! Domain events as `hearth.*` record content (protocol §3.1).
//!
//! Each function takes a validated domain value and the record's identity,
//! and returns `Content` whose `data` is the value's own serialised form, so
//! the server can rebuild and re-check the same domain value. The bindings
//! that make the records evidence are checked here: a report binds exactly
//! its readings, a sign-off binds what the customer accepted, a step attaches
//! exactly the photos its evidence names.

use hearth_domain::{
    CompletedStep, ConcludedVisit, CustomerSignoff, TemperatureReading, TemperatureReport, VisitOutcome,
    WorkOrder, WorkOrderId,
};
use hearth_protocol::{
    Attachment, AttachmentRole, Content, Created, Digest, RecordRef, Signer, SignerRole, Supersedes, schema,
};
use serde::Serialize;
use serde_json::{Map, Value};

/// Why a domain event could not become a record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    #[error("the event could not be written as record data: {0}")]
    Data(String),
    #[error("{0}")]
    Binding(&'static str),
}

impl RecordError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Data(_) => "bad_record_data",
            Self::Binding(_) => "bad_binding",
        }
    }
}

/// The identity every record carries: its UUIDv7 and the device's time claims.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordMeta {
    pub record_id: String,
    pub created: Created,
}

fn data_of<T: Serialize>(value: &T) -> Result<Map<String, Value>, RecordError> {
    match serde_json::to_value(value).map_err(|e| RecordError::Data(e.to_string()))? {
        Value::Object(map) => Ok(map),
        _ => Err(RecordError::Data("record data must be an object".into())),
    }
}

struct Parts {
    schema: &'static str,
    work_order_id: Option<String>,
    signers: Vec<Signer>,
    attachments: Vec<Attachment>,
    refs: Vec<RecordRef>,
    data: Map<String, Value>,
}

fn content(meta: RecordMeta, parts: Parts) -> Content {
    Content {
        schema: parts.schema.to_owned(),
        record_id: meta.record_id,
        work_order_id: parts.work_order_id,
        created: meta.created,
        signers: parts.signers,
        supersedes: None,
        attachments: parts.attachments,
        refs: parts.refs,
        data: parts.data,
    }
}

fn require_role(signer: &Signer, role: SignerRole, what: &'static str) -> Result<(), RecordError> {
    if signer.role == role { Ok(()) } else { Err(RecordError::Binding(what)) }
}

/// Every named photo is attached, and nothing else is attached as a photo.
fn photos_match(named: &[&str], attachments: &[Attachment]) -> Result<(), RecordError> {
    let attached: Vec<String> =
        attachments.iter().filter(|a| a.role == AttachmentRole::Photo).map(|a| a.sha256.to_hex()).collect();
    if named.len() != attached.len() || named.iter().any(|n| !attached.iter().any(|a| a == n)) {
        return Err(RecordError::Binding("the attached photos must be exactly those the evidence names"));
    }
    if attachments.iter().any(|a| a.role != AttachmentRole::Photo) {
        return Err(RecordError::Binding("a visit step attaches only photos"));
    }
    Ok(())
}

/// `hearth.visit_step/1`: one of the seven steps with its evidence and photos.
pub fn visit_step(
    meta: RecordMeta,
    work_order_id: &WorkOrderId,
    step: &CompletedStep,
    performer: Signer,
    photos: Vec<Attachment>,
) -> Result<Content, RecordError> {
    require_role(&performer, SignerRole::Performer, "a visit step is signed by its performer")?;
    let named: Vec<&str> = step.evidence.photos().iter().map(|p| p.as_str()).collect();
    photos_match(&named, &photos)?;
    Ok(content(
        meta,
        Parts {
            schema: schema::VISIT_STEP,
            work_order_id: Some(work_order_id.as_str().to_owned()),
            signers: vec![performer],
            attachments: photos,
            refs: vec![],
            data: data_of(step)?,
        },
    ))
}

/// `hearth.visit_outcome/1`: how the visit ended. A nobody-home outcome
/// attaches the photo of the notice left.
pub fn visit_outcome(
    meta: RecordMeta,
    work_order_id: &WorkOrderId,
    outcome: &ConcludedVisit,
    performer: Signer,
    photos: Vec<Attachment>,
    steps: Vec<RecordRef>,
) -> Result<Content, RecordError> {
    require_role(&performer, SignerRole::Performer, "a visit outcome is signed by its performer")?;
    let named: Vec<&str> = match &outcome.outcome {
        VisitOutcome::NobodyHome { notice_photo_sha256: Some(p), .. } => vec![p.as_str()],
        _ => vec![],
    };
    photos_match(&named, &photos)?;
    Ok(content(
        meta,
        Parts {
            schema: schema::VISIT_OUTCOME,
            work_order_id: Some(work_order_id.as_str().to_owned()),
            signers: vec![performer],
            attachments: photos,
            refs: steps,
            data: data_of(outcome)?,
        },
    ))
}

/// `hearth.temperature_reading/1`: one room, sealed the moment it is taken.
pub fn temperature_reading(
    meta: RecordMeta,
    work_order_id: &WorkOrderId,
    thermometer_serial: &str,
    reading: &TemperatureReading,
    performer: Signer,
) -> Result<Content, RecordError> {
    require_role(&performer, SignerRole::Performer, "a reading is signed by the tester who took it")?;
    if thermometer_serial.trim().is_empty() {
        return Err(RecordError::Binding("a reading names the thermometer it was taken with"));
    }
    Ok(content(
        meta,
        Parts {
            schema: schema::TEMPERATURE_READING,
            work_order_id: Some(work_order_id.as_str().to_owned()),
            signers: vec![performer],
            attachments: vec![],
            refs: vec![],
            data: data_of(&hearth_domain::ReadingRecord {
                thermometer_serial: thermometer_serial.to_owned(),
                reading: reading.clone(),
            })?,
        },
    ))
}

/// `hearth.temperature_test/1`: the report, binding every reading by hash,
/// signed by both testers.
pub fn temperature_test(
    meta: RecordMeta,
    report: &TemperatureReport,
    readings: Vec<RecordRef>,
    performer: Signer,
    witness: Signer,
) -> Result<Content, RecordError> {
    require_role(&performer, SignerRole::Performer, "the first signer of a report is the performer")?;
    require_role(&witness, SignerRole::Witness, "the second signer of a report is the witness")?;
    if performer.tech_id != report.performer.as_str() || witness.tech_id != report.witness.as_str() {
        return Err(RecordError::Binding("the signers must be the report's performer and witness"));
    }
    if readings.len() != report.reading_count as usize {
        return Err(RecordError::Binding("a report binds every one of its readings, and only those"));
    }
    Ok(content(
        meta,
        Parts {
            schema: schema::TEMPERATURE_TEST,
            work_order_id: Some(report.work_order_id.as_str().to_owned()),
            signers: vec![performer, witness],
            attachments: vec![],
            refs: readings,
            data: data_of(report)?,
        },
    ))
}

/// The files of a signed sign-off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureFiles {
    pub png: Attachment,
    pub strokes: Attachment,
}

/// `hearth.customer_signoff/1`: the customer's signature or refusal, binding
/// the records the summary was made from (e.g. the test report) and, when
/// signed, the signature image and strokes named in the sign-off.
pub fn customer_signoff(
    meta: RecordMeta,
    work_order_id: &WorkOrderId,
    signoff: &CustomerSignoff,
    accepted: Vec<RecordRef>,
    files: Option<SignatureFiles>,
    collected_by: Signer,
) -> Result<Content, RecordError> {
    require_role(
        &collected_by,
        SignerRole::Performer,
        "the technician who collects a sign-off signs it as performer",
    )?;
    if accepted.is_empty() {
        return Err(RecordError::Binding("a sign-off binds what the customer was shown"));
    }
    let attachments = match (signoff, files) {
        (CustomerSignoff::Signed { signature_png_sha256, strokes_sha256, .. }, Some(files)) => {
            let same = |a: &Attachment, role, sha: &str| a.role == role && a.sha256.to_hex() == sha;
            if !same(&files.png, AttachmentRole::CustomerSignaturePng, signature_png_sha256.as_str())
                || !same(&files.strokes, AttachmentRole::CustomerSignatureStrokes, strokes_sha256.as_str())
            {
                return Err(RecordError::Binding(
                    "the attached signature files must be those the sign-off names",
                ));
            }
            vec![files.png, files.strokes]
        }
        (CustomerSignoff::Signed { .. }, None) => {
            return Err(RecordError::Binding("a signed sign-off attaches the signature image and strokes"));
        }
        (CustomerSignoff::Refused { .. }, None) => vec![],
        (CustomerSignoff::Refused { .. }, Some(_)) => {
            return Err(RecordError::Binding("a refusal to sign has no signature to attach"));
        }
    };
    Ok(content(
        meta,
        Parts {
            schema: schema::CUSTOMER_SIGNOFF,
            work_order_id: Some(work_order_id.as_str().to_owned()),
            signers: vec![collected_by],
            attachments,
            refs: accepted,
            data: data_of(signoff)?,
        },
    ))
}

/// `hearth.work_order_local/1`: an order the technician opened on site (a
/// second fault found in the same home), to be confirmed by dispatch.
pub fn work_order_local(
    meta: RecordMeta,
    order: &WorkOrder,
    performer: Signer,
) -> Result<Content, RecordError> {
    require_role(&performer, SignerRole::Performer, "a locally opened order is signed by its technician")?;
    Ok(content(
        meta,
        Parts {
            schema: schema::WORK_ORDER_LOCAL,
            work_order_id: Some(order.id.as_str().to_owned()),
            signers: vec![performer],
            attachments: vec![],
            refs: vec![],
            data: data_of(order)?,
        },
    ))
}

/// `hearth.void/1`: withdraws a record sealed by mistake (e.g. the wrong
/// order). The original stays; the void names it and says why.
pub fn void(
    meta: RecordMeta,
    work_order_id: Option<&WorkOrderId>,
    original: RecordRef,
    reason: &str,
    performer: Signer,
) -> Result<Content, RecordError> {
    require_role(
        &performer,
        SignerRole::Performer,
        "a void is signed by the technician who withdraws the record",
    )?;
    let voided = content(
        meta,
        Parts {
            schema: schema::VOID,
            work_order_id: work_order_id.map(|w| w.as_str().to_owned()),
            signers: vec![performer],
            attachments: vec![],
            refs: vec![],
            data: Map::new(),
        },
    );
    supersede(voided, &original.record_id, original.content_hash, reason)
}

/// Makes `correction` a correction of `original`: both records stay, the new
/// one names the old one and says why (sealed means immutable).
pub fn supersede(
    mut correction: Content,
    original_record_id: &str,
    original_content_hash: Digest,
    reason: &str,
) -> Result<Content, RecordError> {
    if reason.trim().is_empty() {
        return Err(RecordError::Binding("a correction must say why"));
    }
    if original_record_id == correction.record_id {
        return Err(RecordError::Binding("a record cannot correct itself"));
    }
    correction.supersedes = Some(Supersedes {
        record_id: original_record_id.to_owned(),
        content_hash: original_content_hash,
        reason: reason.trim().to_owned(),
    });
    Ok(correction)
}

/// What a late notice says: who was told, when, and the new arrival time.
pub use hearth_domain::LateNotice;

/// `hearth.late_notice/1`: the customer was told the technician will be
/// late — the evidence the late-notice deadline is judged on.
pub fn late_notice(
    meta: RecordMeta,
    work_order_id: &WorkOrderId,
    notice: &LateNotice,
    performer: Signer,
) -> Result<Content, RecordError> {
    require_role(&performer, SignerRole::Performer, "a late notice is signed by the technician who gave it")?;
    if notice.told_whom.trim().is_empty() {
        return Err(RecordError::Binding("a late notice says who was told"));
    }
    Ok(content(
        meta,
        Parts {
            schema: schema::LATE_NOTICE,
            work_order_id: Some(work_order_id.as_str().to_owned()),
            signers: vec![performer],
            attachments: vec![],
            refs: vec![],
            data: data_of(notice)?,
        },
    ))
}

/// `hearth.order_accepted/1`: the technician accepted the order dispatch
/// passed on (接单) — the evidence the acceptance deadline is judged on.
pub fn order_accepted(
    meta: RecordMeta,
    work_order_id: &WorkOrderId,
    accepted: &hearth_domain::OrderAccepted,
    performer: Signer,
) -> Result<Content, RecordError> {
    require_role(&performer, SignerRole::Performer, "an acceptance is signed by the technician who accepts")?;
    Ok(content(
        meta,
        Parts {
            schema: schema::ORDER_ACCEPTED,
            work_order_id: Some(work_order_id.as_str().to_owned()),
            signers: vec![performer],
            attachments: vec![],
            refs: vec![],
            data: data_of(accepted)?,
        },
    ))
}
