//! The customer's copy (一式两份): after a sign-off or a refusal the tablet
//! makes, offline, a Chinese PDF of what the customer answered — the visit's
//! steps or the test's readings, the signature or the refusal and its
//! reason — with a QR code holding the sign-off record's id and content hash,
//! so the office can check a copy against the server later. It is made from
//! the sealed records only, once, and kept beside the store (the signature
//! image leaves the tablet after upload; the copy stays for a reprint).

use std::collections::HashMap;
use std::io::Write as _;
use std::path::PathBuf;

use hearth_copy::{
    Answer, Body, CjkFont, Company, CustomerCopy, PartRow, ReadingRow, StepSection, Technician,
};
use hearth_domain::{CustomerSignoff, RoomVerdict, StepEvidence, WorkOrder};
use hearth_protocol::api::FeedKind;
use hearth_store::{ChainRecord, Store};
use serde_json::Value;

use crate::app::{App, lock};
use crate::error::AppError;
use crate::replay::VisitState;
use crate::summary::{self, time};
use crate::temperature::TestState;
use crate::views::CustomerCopyView;

/// Where copies are kept inside the store's directory.
const COPY_DIR: &str = "copies";

/// A technician as the copy names them: name and phone from the office's list.
struct Contact {
    name: String,
    phone: String,
}

fn contacts(store: &Store) -> Result<HashMap<String, Contact>, AppError> {
    Ok(store
        .snapshots(FeedKind::Technician)?
        .into_iter()
        .map(|(id, _, body)| {
            let text = |k: &str| body.get(k).and_then(Value::as_str).unwrap_or_default().to_owned();
            (id, Contact { name: text("name"), phone: text("phone") })
        })
        .collect())
}

fn technician(role: &str, tech_id: &str, contacts: &HashMap<String, Contact>) -> Technician {
    let c = contacts.get(tech_id);
    Technician {
        role: role.to_owned(),
        name: c.map(|c| c.name.clone()).filter(|n| !n.is_empty()).unwrap_or_else(|| tech_id.to_owned()),
        tech_id: tech_id.to_owned(),
        phone: c.map(|c| c.phone.clone()).unwrap_or_default(),
    }
}

fn address(order: Option<&WorkOrder>) -> String {
    order.map_or_else(String::new, |o| {
        let a = &o.customer.address;
        format!("{} {} {} {}", a.community, a.building, a.unit, a.room)
    })
}

fn copy_view(
    work_order_id: &str,
    record: &ChainRecord,
    path: &std::path::Path,
) -> Result<CustomerCopyView, AppError> {
    let bytes = std::fs::metadata(path).map_err(storage)?.len();
    Ok(CustomerCopyView {
        work_order_id: work_order_id.to_owned(),
        signoff_record_id: record.content.record_id.clone(),
        content_hash: record.content_hash.to_hex(),
        path: path.display().to_string(),
        bytes,
    })
}

impl App {
    /// The customer's copy of the order's sign-off (the temperature test's,
    /// else the visit's): made on first asking, then kept. `no_signoff` until
    /// the customer has signed or refused.
    pub fn customer_copy(&self, work_order_id: &str) -> Result<CustomerCopyView, AppError> {
        let store = self.db();
        self.make_customer_copy(&store, work_order_id)
    }

    pub(crate) fn make_customer_copy(
        &self,
        store: &Store,
        work_order_id: &str,
    ) -> Result<CustomerCopyView, AppError> {
        let order = self.order(store, work_order_id).ok();
        let test = self.test_state(store, work_order_id)?.filter(|s| s.signoff.is_some());
        let visit = match (&test, &order) {
            (None, Some(order)) => Some(self.visit_state(store, order)?),
            _ => None,
        };
        // The copy made at sign-off is the customer's copy: once made it is
        // kept and opened as it is, even after the signature image it holds
        // was pruned from the tablet (the server has it, protocol §10.9).
        let signed = test
            .as_ref()
            .and_then(|s| s.signoff.as_ref())
            .or_else(|| visit.as_ref().and_then(|v| v.signoff.as_ref()))
            .map(|(_, r)| r);
        let dir = store.dir().join(COPY_DIR);
        if let Some(record) = signed {
            let path = dir.join(format!("{}.pdf", record.content.record_id));
            if path.is_file() {
                return copy_view(work_order_id, record, &path);
            }
        }
        let (copy, record) = match (&test, visit.as_ref(), order.as_ref()) {
            (Some(state), _, _) => self.test_copy(store, order.as_ref(), state)?,
            (None, Some(state), Some(order)) => self.visit_copy(store, order, state)?,
            _ => return Err(AppError::unknown_work_order(work_order_id)),
        };
        let path = dir.join(format!("{}.pdf", record.content.record_id));
        if !path.is_file() {
            let pdf = hearth_copy::render(&copy, &self.cjk_font()?)?;
            write_durably(&dir, &path, &pdf)?;
        }
        copy_view(work_order_id, &record, &path)
    }

    /// The device's CJK font, found once (fonts-noto-cjk on Linux, the system font on Android).
    fn cjk_font(&self) -> Result<CjkFont, AppError> {
        let mut cached = lock(&self.font);
        if let Some(font) = cached.as_ref() {
            return Ok(font.clone());
        }
        let font = CjkFont::find(None)?;
        *cached = Some(font.clone());
        Ok(font)
    }

    fn copy_header(
        &self,
        store: &Store,
        title: &str,
        work_order_id: &str,
        order: Option<&WorkOrder>,
    ) -> Result<CustomerCopy, AppError> {
        let company = self.rules(store)?.company().clone();
        Ok(CustomerCopy {
            company: Company { name: company.name, hotline: company.hotline },
            title: title.to_owned(),
            work_order_id: work_order_id.to_owned(),
            customer_name: order.map(|o| o.customer.name.expose().to_owned()).unwrap_or_default(),
            address: address(order),
            technicians: vec![],
            started_at: String::new(),
            ended_at: String::new(),
            body: Body::Visit { steps: vec![], parts: vec![], outcome: String::new() },
            answer: Answer::Refused { reason: String::new(), at: String::new() },
            record_id: String::new(),
            content_hash: String::new(),
            made_at: time(&self.now(), self.tz()),
            // The server the tablet syncs with over 4G answers the customer's phone too.
            verify_url: store.server_link()?.map(|l| l.server_url).unwrap_or_default(),
        })
    }

    /// The copy with what the customer answered and the record its QR code names.
    fn finish_copy(
        &self,
        store: &Store,
        mut copy: CustomerCopy,
        signoff: &CustomerSignoff,
        record: &ChainRecord,
    ) -> Result<(CustomerCopy, ChainRecord), AppError> {
        copy.answer = self.answer(store, signoff, record)?;
        copy.record_id = record.content.record_id.clone();
        copy.content_hash = record.content_hash.to_hex();
        Ok((copy, record.clone()))
    }

    /// What the customer answered, with the signature image the sign-off names.
    fn answer(
        &self,
        store: &Store,
        signoff: &CustomerSignoff,
        record: &ChainRecord,
    ) -> Result<Answer, AppError> {
        let at = time(&self.sealed_at(record), self.tz());
        Ok(match signoff {
            CustomerSignoff::Refused { reason, .. } => {
                Answer::Refused { reason: reason.as_str().to_owned(), at }
            }
            CustomerSignoff::Signed { signature_png_sha256, satisfaction, comment, .. } => {
                let sha = signature_png_sha256
                    .as_str()
                    .parse()
                    .map_err(|_| AppError::internal("a sign-off names a bad signature hash"))?;
                let png = store.read_blob(&sha)?.ok_or_else(|| {
                    AppError::new("signature_gone", "the signature image is no longer on this tablet")
                })?;
                Answer::Signed {
                    signature_png: png,
                    satisfaction: satisfaction.value(),
                    comment: comment.as_ref().map(|c| c.as_str().to_owned()),
                    at,
                }
            }
        })
    }

    fn sealed_at(&self, record: &ChainRecord) -> chrono::DateTime<chrono::Utc> {
        chrono::DateTime::from_timestamp_millis(record.sealed_at_ms).unwrap_or_else(|| self.now())
    }

    fn visit_copy(
        &self,
        store: &Store,
        order: &WorkOrder,
        state: &VisitState,
    ) -> Result<(CustomerCopy, ChainRecord), AppError> {
        let (signoff, record) = answered(state.signoff.as_ref())?;
        let tz = self.tz();
        let contacts = contacts(store)?;
        let mut copy = self.copy_header(store, "入户维修服务确认单", order.id.as_str(), Some(order))?;
        let mut performers: Vec<&str> = Vec::new();
        for s in &state.steps {
            for signer in &s.record.content.signers {
                if !performers.contains(&signer.tech_id.as_str()) {
                    performers.push(&signer.tech_id);
                }
            }
        }
        copy.technicians = performers.iter().map(|t| technician("维修人员", t, &contacts)).collect();
        copy.started_at = state.steps.first().map(|s| time(&s.step.at, tz)).unwrap_or_default();
        copy.ended_at = time(&self.sealed_at(record), tz);
        let mut parts = Vec::new();
        let steps = state
            .steps
            .iter()
            .map(|s| {
                let text = summary::step_text(&s.step.evidence, tz);
                let mut lines = text.lines;
                if let Some(c) = &s.record.content.supersedes {
                    lines.push(format!("（已更正，原因：{}）", c.reason));
                }
                if let StepEvidence::Resolve(e) = &s.step.evidence {
                    parts.extend(e.parts.iter().map(|p| {
                        let (name, price, consent) = summary::part_text(p);
                        PartRow { name, price, consent: format!("客户同意：{consent}") }
                    }));
                }
                StepSection { title: text.title.to_owned(), time: time(&s.step.at, tz), lines }
            })
            .collect();
        let outcome = match &state.outcome {
            Some((c, _)) => summary::outcome_text(&c.outcome, tz),
            // The copy is made at the sign-off, before the technician ends the visit.
            None if state.visit.next_step().is_none() => "七步服务已全部完成".to_owned(),
            None => "服务尚未全部完成".to_owned(),
        };
        copy.body = Body::Visit { steps, parts, outcome };
        self.finish_copy(store, copy, signoff, record)
    }

    fn test_copy(
        &self,
        store: &Store,
        order: Option<&WorkOrder>,
        state: &TestState,
    ) -> Result<(CustomerCopy, ChainRecord), AppError> {
        let (signoff, record) = answered(state.signoff.as_ref())?;
        let tz = self.tz();
        let rules = self.rules(store)?;
        let temperature = rules.temperature();
        let contacts = contacts(store)?;
        let start = &state.start;
        let mut copy = self.copy_header(store, "入户测温记录", &start.work_order_id, order)?;
        copy.technicians = vec![
            technician("测温人员（主测）", &start.performer, &contacts),
            technician("测温人员（复核）", &start.witness, &contacts),
        ];
        copy.started_at = time(&start.started_at, tz);
        copy.ended_at = state.report.as_ref().map(|(_, r)| time(&self.sealed_at(r), tz)).unwrap_or_default();
        let rows = state
            .in_force()
            .map(|(reading, r)| {
                let verdict = summary::room_verdict(reading, temperature);
                let mut notes = Vec::new();
                if let Some(s) = &r.content.supersedes {
                    notes.push(format!("更正：{}", s.reason));
                }
                if let Some(o) = &reading.outlier_reason {
                    notes.push(format!("说明：{o}"));
                }
                ReadingRow {
                    room: summary::room(reading.room_kind).to_owned(),
                    label: reading.label.as_str().to_owned(),
                    reading: summary::celsius(reading.centi_celsius),
                    time: reading.taken_at.with_timezone(&tz).format("%H:%M").to_string(),
                    minimum: reading
                        .required_minimum(temperature)
                        .map_or_else(|| "—".to_owned(), summary::celsius),
                    verdict: summary::verdict(verdict).to_owned(),
                    below_standard: verdict == RoomVerdict::BelowStandard,
                    note: notes.join("；"),
                }
            })
            .collect();
        let compliance = summary::test_compliance(state, temperature);
        let t = &start.thermometer;
        copy.body = Body::Test {
            thermometer: hearth_copy::Thermometer {
                serial: t.serial.as_str().to_owned(),
                certificate: t.certificate_no.as_str().to_owned(),
                valid_until: t.valid_until.format("%Y-%m-%d").to_string(),
            },
            rows,
            conclusion: compliance.as_ref().map(|c| summary::overall(c.verdict)).unwrap_or("—").to_owned(),
            below_standard: compliance.is_some_and(|c| c.verdict == hearth_domain::Compliance::BelowStandard),
        };
        self.finish_copy(store, copy, signoff, record)
    }
}

/// The customer's answer, or `no_signoff` while there is none.
fn answered(
    signoff: Option<&(CustomerSignoff, ChainRecord)>,
) -> Result<(&CustomerSignoff, &ChainRecord), AppError> {
    signoff
        .map(|(s, r)| (s, r))
        .ok_or_else(|| AppError::new("no_signoff", "the customer has not signed or refused yet"))
}

fn storage(e: std::io::Error) -> AppError {
    AppError::new("storage", e.to_string())
}

/// Temporary file, fsynced, renamed, directory fsynced: a half-written copy
/// never looks made.
fn write_durably(dir: &std::path::Path, path: &PathBuf, bytes: &[u8]) -> Result<(), AppError> {
    std::fs::create_dir_all(dir).map_err(storage)?;
    let temp = path.with_extension("partial");
    let mut file = std::fs::File::create(&temp).map_err(storage)?;
    file.write_all(bytes).map_err(storage)?;
    file.sync_all().map_err(storage)?;
    drop(file);
    std::fs::rename(&temp, path).map_err(storage)?;
    std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(storage)
}
