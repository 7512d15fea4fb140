//! The customer's copy built from sealed records. The tablet calls it at the
//! sign-off and the server for a reprint, over the same records, so the
//! customer, the company and an auditor hold the same document: only the
//! reprint mark and the time the copy was made differ.
//!
//! A copy is of one sign-off and shows what was sealed up to it, in chain
//! order — never what came after (the visit's outcome, a later correction):
//! made again a year later it says what it said at the door. Times are
//! printed in the time zone of the tablet that took the sign-off (the
//! record says which), whoever prints. The signature image arrives as bytes
//! from wherever it is kept (the tablet's store, the server's blobs), so a
//! tablet that pruned it can have it back from the server and make the copy
//! again.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, FixedOffset, Utc};
use hearth_domain::time::{company_offset, ms_to_utc};
use hearth_domain::{
    Compliance, CustomerSignoff, ReadingRecord, RoomVerdict, RuleSet, StepEvidence, TemperatureReport,
    Thermometer, WorkOrder,
};
use hearth_protocol::{Sealed, schema};

use crate::replay::{ReplayError, Supersessions, data_as, replay_visit};
use crate::text::{self, time};
use crate::{Answer, Body, Company, CustomerCopy, PartRow, ReadingRow, StepSection, Technician};

/// A technician as the copy names them: the office's list, by tech id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Contact {
    pub name: String,
    pub phone: String,
}

/// What the holder of the records knows besides them.
#[derive(Debug, Clone, Copy)]
pub struct Holder<'a> {
    /// The work order (a visit's copy needs it; a test's prints without it).
    pub order: Option<&'a WorkOrder>,
    /// The company's rule set when the customer answered: the company's
    /// name and hotline, each room's minimum and verdict.
    pub rules: &'a RuleSet,
    /// Technicians' names and phones by tech id.
    pub contacts: &'a HashMap<String, Contact>,
    /// The test's thermometer as registered (the records name its serial
    /// only); `None`: its certificate is printed as unknown.
    pub thermometer: Option<&'a Thermometer>,
    /// The server's address the QR code links to (empty: the QR code holds
    /// the record id and hash as text).
    pub verify_url: &'a str,
}

/// When and how this copy is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Printing {
    /// The copy left with the customer, made at the sign-off (or made again on the tablet).
    Original(DateTime<Utc>),
    /// Made again by the office from the server's records: marked 重印.
    Reprint(DateTime<Utc>),
}

/// Why no copy could be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BuildError {
    #[error("the customer has not signed or refused yet")]
    NoSignoff,
    #[error("the work order {0} is not known here")]
    UnknownWorkOrder(String),
    #[error("the customer's signature image is not at hand")]
    SignatureMissing,
    #[error(transparent)]
    Unreadable(#[from] ReplayError),
}

impl BuildError {
    /// The `{code}` of the error shape at the boundaries.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NoSignoff => "no_signoff",
            Self::UnknownWorkOrder(_) => "unknown_work_order",
            Self::SignatureMissing => "signature_missing",
            Self::Unreadable(_) => "internal",
        }
    }
}

/// The sign-off a customer's copy is of: the latest (in the order given)
/// that binds a temperature report, else the latest — a test's copy is the
/// test form, as the tablet shows it. Withdrawn records are left out.
pub fn latest_signoff<R: Sealed>(records: &[R]) -> Option<&R> {
    let supersessions = Supersessions::of(records);
    let reports: HashSet<&str> = records
        .iter()
        .map(Sealed::content)
        .filter(|c| c.schema == schema::TEMPERATURE_TEST)
        .map(|c| c.record_id.as_str())
        .collect();
    let signoffs = || {
        records.iter().filter(|r| {
            let c = r.content();
            c.schema == schema::CUSTOMER_SIGNOFF && supersessions.superseded_by(&c.record_id).is_none()
        })
    };
    signoffs()
        .rfind(|r| r.content().refs.iter().any(|x| reports.contains(x.record_id.as_str())))
        .or_else(|| signoffs().next_back())
}

/// A sign-off with the records sealed up to it: what its copy is made of.
#[derive(Debug)]
pub struct SignedOff<'a, R> {
    /// The device's records of the order, in chain order, up to and with the sign-off.
    records: &'a [R],
    signoff: CustomerSignoff,
    /// The temperature report the sign-off binds, for a test.
    report: Option<(TemperatureReport, &'a R)>,
}

fn at(record: &impl Sealed) -> DateTime<Utc> {
    ms_to_utc(record.content().created.device_time_ms)
}

impl<'a, R: Sealed + Clone> SignedOff<'a, R> {
    /// `chain`: the records of the sign-off's device for its order, in chain
    /// order (what that tablet held); those after the sign-off are left out.
    pub fn new(chain: &'a [R], signoff_record_id: &str) -> Result<Self, BuildError> {
        let end = chain
            .iter()
            .position(|r| {
                let c = r.content();
                c.record_id == signoff_record_id && c.schema == schema::CUSTOMER_SIGNOFF
            })
            .ok_or(BuildError::NoSignoff)?;
        let records = &chain[..=end];
        let record = &records[end];
        let signoff: CustomerSignoff = data_as(record)?;
        let report = record
            .content()
            .refs
            .iter()
            .find_map(|x| {
                records.iter().find(|r| {
                    let c = r.content();
                    c.record_id == x.record_id && c.schema == schema::TEMPERATURE_TEST
                })
            })
            .map(|r| data_as::<TemperatureReport>(r).map(|rep| (rep, r)))
            .transpose()?;
        Ok(Self { records, signoff, report })
    }

    /// The sign-off record (its id and hash are the copy's QR code).
    pub fn record(&self) -> &'a R {
        &self.records[self.records.len() - 1]
    }

    /// The signature image the copy prints, by its SHA-256 (`None`: a refusal).
    pub fn signature_png_sha256(&self) -> Option<&str> {
        match &self.signoff {
            CustomerSignoff::Signed { signature_png_sha256, .. } => Some(signature_png_sha256.as_str()),
            CustomerSignoff::Refused { .. } => None,
        }
    }

    /// The serial of the test's thermometer, for a test's copy.
    pub fn thermometer_serial(&self) -> Option<&str> {
        self.report.as_ref().map(|(r, _)| r.thermometer_serial.as_str())
    }

    /// When the customer answered, by the tablet's clock: which rule set was in force.
    pub fn answered_at(&self) -> DateTime<Utc> {
        at(self.record())
    }

    /// The time zone the copy is printed in: the sign-off tablet's.
    fn tz(&self) -> FixedOffset {
        FixedOffset::east_opt(self.record().content().created.tz_offset_min.saturating_mul(60))
            .unwrap_or_else(company_offset)
    }

    /// The customer's copy. `signature_png`: the image the sign-off names
    /// (ignored for a refusal; `SignatureMissing` when a signature has none).
    pub fn copy(
        &self,
        holder: &Holder<'_>,
        printing: Printing,
        signature_png: Option<Vec<u8>>,
    ) -> Result<CustomerCopy, BuildError> {
        let tz = self.tz();
        let record = self.record();
        let (title, mut copy) = match &self.report {
            Some((report, report_record)) => ("入户测温记录", self.test(holder, report, *report_record, tz)?),
            None => ("入户维修服务确认单", self.visit(holder, tz)?),
        };
        let (title, made_at) = match printing {
            Printing::Original(now) => (title.to_owned(), time(&now, tz)),
            Printing::Reprint(now) => (format!("{title}（重印）"), format!("重印 {}", time(&now, tz))),
        };
        let answered = time(&at(record), tz);
        copy.answer = match &self.signoff {
            CustomerSignoff::Refused { reason, .. } => {
                Answer::Refused { reason: reason.as_str().to_owned(), at: answered }
            }
            CustomerSignoff::Signed { satisfaction, comment, .. } => Answer::Signed {
                signature_png: signature_png.ok_or(BuildError::SignatureMissing)?,
                satisfaction: satisfaction.value(),
                comment: comment.as_ref().map(|c| c.as_str().to_owned()),
                at: answered,
            },
        };
        let company = holder.rules.company();
        copy.company = Company { name: company.name.clone(), hotline: company.hotline.clone() };
        copy.title = title;
        copy.made_at = made_at;
        copy.record_id = record.content().record_id.clone();
        copy.content_hash = record.content_hash().to_hex();
        copy.verify_url = holder.verify_url.to_owned();
        let order = holder.order;
        copy.customer_name = order.map(|o| o.customer.name.expose().to_owned()).unwrap_or_default();
        copy.address = order.map_or_else(String::new, |o| {
            let a = &o.customer.address;
            format!("{} {} {} {}", a.community, a.building, a.unit, a.room)
        });
        Ok(copy)
    }

    fn visit(&self, holder: &Holder<'_>, tz: FixedOffset) -> Result<CustomerCopy, BuildError> {
        let work_order_id = self.record().content().work_order_id.clone().unwrap_or_default();
        let order = holder.order.ok_or_else(|| BuildError::UnknownWorkOrder(work_order_id.clone()))?;
        let state = replay_visit(order, self.records, Supersessions::of(self.records))?;
        let mut performers: Vec<&str> = Vec::new();
        for s in &state.steps {
            for signer in &s.record.content().signers {
                if !performers.contains(&signer.tech_id.as_str()) {
                    performers.push(&signer.tech_id);
                }
            }
        }
        let mut parts = Vec::new();
        let steps = state
            .steps
            .iter()
            .map(|s| {
                let wording = text::step_text(&s.step.evidence, tz);
                let mut lines = wording.lines;
                if let Some(c) = &s.record.content().supersedes {
                    lines.push(format!("（已更正，原因：{}）", c.reason));
                }
                if let StepEvidence::Resolve(e) = &s.step.evidence {
                    parts.extend(e.parts.iter().map(|p| {
                        let (name, price, consent) = text::part_text(p);
                        PartRow { name, price, consent: format!("用户同意：{consent}") }
                    }));
                }
                StepSection { title: wording.title.to_owned(), time: time(&s.step.at, tz), lines }
            })
            .collect();
        let outcome = match &state.outcome {
            Some((c, _)) => text::outcome_text(&c.outcome, tz),
            // The copy is of the sign-off, taken before the technician ends the visit.
            None if state.visit.next_step().is_none() => "七步服务已全部完成".to_owned(),
            None => "服务尚未全部完成".to_owned(),
        };
        Ok(CustomerCopy {
            technicians: performers.iter().map(|t| technician("维修人员", t, holder.contacts)).collect(),
            started_at: state.steps.first().map(|s| time(&s.step.at, tz)).unwrap_or_default(),
            ended_at: time(&at(self.record()), tz),
            body: Body::Visit { steps, parts, outcome },
            ..blank(work_order_id)
        })
    }

    fn test(
        &self,
        holder: &Holder<'_>,
        report: &TemperatureReport,
        report_record: &R,
        tz: FixedOffset,
    ) -> Result<CustomerCopy, BuildError> {
        let temperature = holder.rules.temperature();
        // The report binds exactly the readings in force when both testers signed.
        let bound: HashSet<&str> =
            report_record.content().refs.iter().map(|x| x.record_id.as_str()).collect();
        let mut readings = Vec::new();
        for r in self.records {
            let c = r.content();
            if c.schema == schema::TEMPERATURE_READING && bound.contains(c.record_id.as_str()) {
                readings.push((data_as::<ReadingRecord>(r)?.reading, c));
            }
        }
        let rows = readings
            .iter()
            .map(|(reading, c)| {
                let verdict = text::room_verdict(reading, temperature);
                let mut notes = Vec::new();
                if let Some(s) = &c.supersedes {
                    notes.push(format!("更正：{}", s.reason));
                }
                if let Some(o) = &reading.outlier_reason {
                    notes.push(format!("说明：{o}"));
                }
                ReadingRow {
                    room: text::room(reading.room_kind).to_owned(),
                    label: reading.label.as_str().to_owned(),
                    reading: text::celsius(reading.centi_celsius),
                    time: reading.taken_at.with_timezone(&tz).format("%H:%M").to_string(),
                    minimum: reading
                        .required_minimum(temperature)
                        .map_or_else(|| "—".to_owned(), text::celsius),
                    verdict: text::verdict(verdict).to_owned(),
                    below_standard: verdict == RoomVerdict::BelowStandard,
                    note: notes.join("；"),
                }
            })
            .collect();
        let serial = report.thermometer_serial.as_str();
        let registered = holder.thermometer.filter(|t| t.serial.as_str() == serial);
        let verdict = report.compliance.verdict;
        Ok(CustomerCopy {
            technicians: vec![
                technician("测温人员（主测）", report.performer.as_str(), holder.contacts),
                technician("测温人员（复核）", report.witness.as_str(), holder.contacts),
            ],
            // The records say when the first room was measured, not when the
            // testers opened the form: the copy starts there.
            started_at: readings
                .iter()
                .map(|(r, _)| r.taken_at)
                .min()
                .map(|t| time(&t, tz))
                .unwrap_or_default(),
            ended_at: time(&at(report_record), tz),
            body: Body::Test {
                thermometer: crate::Thermometer {
                    serial: serial.to_owned(),
                    certificate: registered
                        .map_or_else(|| "—".to_owned(), |t| t.certificate_no.as_str().to_owned()),
                    valid_until: registered
                        .map_or_else(|| "—".to_owned(), |t| t.valid_until.format("%Y-%m-%d").to_string()),
                },
                rows,
                conclusion: text::overall(verdict).to_owned(),
                below_standard: verdict == Compliance::BelowStandard,
            },
            ..blank(report.work_order_id.as_str().to_owned())
        })
    }
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

/// The fields `copy` fills in for both kinds.
fn blank(work_order_id: String) -> CustomerCopy {
    CustomerCopy {
        company: Company { name: String::new(), hotline: String::new() },
        title: String::new(),
        work_order_id,
        customer_name: String::new(),
        address: String::new(),
        technicians: vec![],
        started_at: String::new(),
        ended_at: String::new(),
        body: Body::Visit { steps: vec![], parts: vec![], outcome: String::new() },
        answer: Answer::Refused { reason: String::new(), at: String::new() },
        record_id: String::new(),
        content_hash: String::new(),
        made_at: String::new(),
        verify_url: String::new(),
    }
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, NaiveDate, TimeZone};
    use hearth_domain::*;
    use hearth_protocol::{Content, Created, Digest, RecordRef, Signer, SignerRole, Supersedes};
    use serde::Serialize;

    use super::*;

    /// A record as some holder keeps it.
    #[derive(Debug, Clone)]
    struct Rec {
        content: Content,
        hash: Digest,
    }

    impl Sealed for Rec {
        fn content(&self) -> &Content {
            &self.content
        }
        fn content_hash(&self) -> Digest {
            self.hash
        }
    }

    const WO: &str = "WO-COPY-1";

    fn zone() -> FixedOffset {
        FixedOffset::east_opt(8 * 3600).unwrap()
    }

    /// 2026-12-01 10:00 in Beijing, plus `minutes`.
    fn at(minutes: i64) -> DateTime<Utc> {
        zone().with_ymd_and_hms(2026, 12, 1, 10, 0, 0).unwrap().with_timezone(&Utc)
            + Duration::minutes(minutes)
    }

    struct Chain(Vec<Rec>);

    impl Chain {
        fn seal(&mut self, schema: &str, minute: i64, tech: &str, data: impl Serialize) -> RecordRef {
            self.seal_with(schema, minute, tech, data, vec![], None)
        }

        fn seal_with(
            &mut self,
            schema: &str,
            minute: i64,
            tech: &str,
            data: impl Serialize,
            refs: Vec<RecordRef>,
            supersedes: Option<Supersedes>,
        ) -> RecordRef {
            let n = self.0.len() + 1;
            let serde_json::Value::Object(data) = serde_json::to_value(data).unwrap() else {
                panic!("an object")
            };
            let content = Content {
                schema: schema.to_owned(),
                record_id: format!("rec-{n:02}"),
                work_order_id: Some(WO.to_owned()),
                created: Created {
                    device_time_ms: at(minute).timestamp_millis(),
                    tz_offset_min: 480,
                    boot_id: "boot".into(),
                    monotonic_ms: n as i64,
                    last_server_time_ms: None,
                },
                signers: vec![Signer { role: SignerRole::Performer, tech_id: tech.into(), kid: "k".into() }],
                supersedes,
                attachments: vec![],
                refs,
                data,
            };
            let hash: Digest = format!("{n:064x}").parse().unwrap();
            self.0.push(Rec { content, hash });
            RecordRef { record_id: format!("rec-{n:02}"), content_hash: hash }
        }
    }

    fn order() -> WorkOrder {
        let address = Address::new("阳光花园", "9号楼", "2单元", "302").unwrap();
        let customer = Customer::new("张三", "13812345678", address).unwrap();
        WorkOrder::new(WO, WorkOrderCategory::Repair, customer, "暖气片不热", at(-60)).unwrap()
    }

    fn seven_steps() -> Vec<StepEvidence> {
        let start = at(0);
        vec![
            StepEvidence::Appointment(AppointmentEvidence {
                agreed: Appointment::new(start, start + Duration::hours(1)).unwrap(),
                customer_confirmed: true,
                note: None,
            }),
            StepEvidence::Arrival(ArrivalEvidence {
                body_camera_on: true,
                knocked_gently: true,
                work_id_shown: true,
                note: None,
                photos: vec![],
            }),
            StepEvidence::Entry(EntryEvidence { uniform: true, badge: true, shoe_covers: true, note: None }),
            StepEvidence::Communicate(CommunicateEvidence {
                confirmed_problem: "厨房阀门漏水".into(),
                paid_service_told: Some(true),
            }),
            StepEvidence::Inspect(InspectEvidence { findings: "阀芯老化".into(), ..Default::default() }),
            StepEvidence::Resolve(ResolveEvidence {
                action: "更换阀门".into(),
                parts: vec![PartReplacement {
                    part: "DN15 阀门".into(),
                    price_told_cents: Some(3800),
                    customer_consented: true,
                }],
                ..Default::default()
            }),
            StepEvidence::Farewell(FarewellEvidence {
                cleaned_up: true,
                explained_care: true,
                thanked: true,
                note: None,
                photos: vec![],
            }),
        ]
    }

    const PNG_SHA: &str = "aa00000000000000000000000000000000000000000000000000000000000000";

    /// Seven steps (the first corrected), a signed sign-off, then the visit's end.
    fn signed_visit() -> Chain {
        let mut chain = Chain(vec![]);
        let mut accepted = Vec::new();
        for (i, evidence) in seven_steps().into_iter().enumerate() {
            let step = CompletedStep { at: at(i as i64 * 5), evidence };
            accepted.push(chain.seal(schema::VISIT_STEP, i as i64 * 5, "T0017", &step));
        }
        let first = CompletedStep { at: at(0), evidence: seven_steps().remove(0) };
        let mut corrected = first.clone();
        if let StepEvidence::Appointment(e) = &mut corrected.evidence {
            e.note = Some("客户改约".into());
        }
        let fix = chain.seal_with(
            schema::VISIT_STEP,
            31,
            "T0017",
            &corrected,
            vec![],
            Some(Supersedes {
                record_id: accepted[0].record_id.clone(),
                content_hash: accepted[0].content_hash,
                reason: "备注漏填".into(),
            }),
        );
        accepted[0] = fix;
        let signoff =
            CustomerSignoff::signed(PNG_SHA, PNG_SHA, "工单号：WO-COPY-1", 4, Some("师傅很细心")).unwrap();
        chain.seal_with(schema::CUSTOMER_SIGNOFF, 35, "T0017", &signoff, accepted, None);
        let end = ConcludedVisit { at: at(40), outcome: VisitOutcome::Resolved };
        chain.seal(schema::VISIT_OUTCOME, 40, "T0017", &end);
        chain
    }

    fn contacts() -> HashMap<String, Contact> {
        [("T0017", "王建国", "13900000017"), ("T0023", "李秀英", "13900000023")]
            .into_iter()
            .map(|(id, name, phone)| (id.to_owned(), Contact { name: name.into(), phone: phone.into() }))
            .collect()
    }

    #[test]
    fn a_visits_copy_is_what_was_sealed_up_to_the_signoff_and_a_reprint_differs_only_in_its_mark() {
        let chain = signed_visit();
        let signoff = latest_signoff(&chain.0).expect("a sign-off");
        assert_eq!(signoff.content.record_id, "rec-09");
        let signed_off = SignedOff::new(&chain.0, &signoff.content.record_id).unwrap();
        assert_eq!(signed_off.signature_png_sha256(), Some(PNG_SHA));
        assert_eq!(signed_off.thermometer_serial(), None);
        let (order, rules, contacts) = (order(), RuleSet::default(), contacts());
        let holder = Holder {
            order: Some(&order),
            rules: &rules,
            contacts: &contacts,
            thermometer: None,
            verify_url: "https://heat.example.cn",
        };
        let original = signed_off.copy(&holder, Printing::Original(at(36)), Some(vec![1, 2, 3])).unwrap();
        assert_eq!(original.title, "入户维修服务确认单");
        assert_eq!(original.made_at, "2026-12-01 10:36", "in the sign-off tablet's time zone");
        assert_eq!(original.customer_name, "张三");
        assert_eq!(original.address, "阳光花园 9号楼 2单元 302");
        assert_eq!(original.technicians.len(), 1);
        assert_eq!(
            (original.technicians[0].name.as_str(), original.technicians[0].phone.as_str()),
            ("王建国", "13900000017")
        );
        assert_eq!(
            (original.started_at.as_str(), original.ended_at.as_str()),
            ("2026-12-01 10:00", "2026-12-01 10:35")
        );
        assert_eq!(
            (original.record_id.as_str(), original.content_hash.as_str()),
            ("rec-09", &*format!("{:064x}", 9))
        );
        let Body::Visit { steps, parts, outcome } = &original.body else { panic!("a visit") };
        assert_eq!(steps.len(), 7);
        assert_eq!(steps[0].title, "一、预约");
        assert!(
            steps[0].lines.iter().any(|l| l == "备注：客户改约"),
            "the correction in place: {:?}",
            steps[0]
        );
        assert!(steps[0].lines.iter().any(|l| l == "（已更正，原因：备注漏填）"), "{:?}", steps[0]);
        assert_eq!(parts.len(), 1);
        assert_eq!((parts[0].name.as_str(), parts[0].price.as_str()), ("DN15 阀门", "¥38.00"));
        assert_eq!(outcome, "七步服务已全部完成", "the visit's end was sealed after the sign-off");
        let Answer::Signed { satisfaction, comment, at: answered, .. } = &original.answer else {
            panic!("signed")
        };
        assert_eq!(
            (*satisfaction, comment.as_deref(), answered.as_str()),
            (4, Some("师傅很细心"), "2026-12-01 10:35")
        );

        let reprint =
            signed_off.copy(&holder, Printing::Reprint(at(60 * 24 * 30)), Some(vec![1, 2, 3])).unwrap();
        assert_eq!(reprint.title, "入户维修服务确认单（重印）");
        assert_eq!(reprint.made_at, "重印 2026-12-31 10:00");
        assert_eq!(
            CustomerCopy { title: original.title.clone(), made_at: original.made_at.clone(), ..reprint },
            original,
            "a month later the server's reprint says the same"
        );

        assert_eq!(
            signed_off.copy(&holder, Printing::Original(at(36)), None),
            Err(BuildError::SignatureMissing)
        );
        let no_order = Holder { order: None, ..holder };
        assert_eq!(
            signed_off.copy(&no_order, Printing::Original(at(36)), Some(vec![1])).unwrap_err().code(),
            "unknown_work_order"
        );
        assert_eq!(
            SignedOff::new(&chain.0, "rec-01").unwrap_err(),
            BuildError::NoSignoff,
            "a step is no sign-off"
        );
        assert_eq!(SignedOff::new(&chain.0[..8], "rec-09").unwrap_err(), BuildError::NoSignoff);
    }

    #[test]
    fn a_tests_copy_shows_the_readings_its_report_binds_and_the_test_signoff_is_the_copys() {
        let mut chain = signed_visit();
        let rules = RuleSet::default();
        let thermometer =
            Thermometer::new("TM-2291", "JD-2026-0042", NaiveDate::from_ymd_opt(2027, 6, 30).unwrap())
                .unwrap();
        let mut test = TemperatureTest::start(NewTemperatureTest {
            test_id: TestId::parse("test-1").unwrap(),
            work_order_id: WorkOrderId::parse(WO).unwrap(),
            performer: TechnicianId::parse("T0017").unwrap(),
            witness: TechnicianId::parse("T0023").unwrap(),
            thermometer: thermometer.clone(),
            started_at: (at(45) - Duration::minutes(3)).with_timezone(&zone()),
        })
        .unwrap();
        let reading = |kind, label: &str, centi: i32, minute: i64| {
            TemperatureReading::new(
                NewReading {
                    test_id: TestId::parse("test-1").unwrap(),
                    room_kind: kind,
                    label,
                    centi_celsius: centi,
                    taken_at: at(minute).with_timezone(&zone()),
                    consent_to_enter: true,
                    shown_to_customer: true,
                    outlier_reason: None,
                },
                rules.temperature(),
            )
            .unwrap()
        };
        let sealed = |r: &TemperatureReading| ReadingRecord {
            thermometer_serial: "TM-2291".into(),
            reading: r.clone(),
        };
        let wrong = reading(RoomKind::LivingRoom, "客厅", 1680, 45);
        let wrong_ref = chain.seal(schema::TEMPERATURE_READING, 45, "T0017", sealed(&wrong));
        let bedroom = reading(RoomKind::Bedroom, "主卧", 1840, 50);
        let bedroom_ref = chain.seal(schema::TEMPERATURE_READING, 50, "T0017", sealed(&bedroom));
        let right = reading(RoomKind::LivingRoom, "客厅", 1690, 45);
        let right_ref = chain.seal_with(
            schema::TEMPERATURE_READING,
            52,
            "T0017",
            sealed(&right),
            vec![],
            Some(Supersedes {
                record_id: wrong_ref.record_id.clone(),
                content_hash: wrong_ref.content_hash,
                reason: "读数抄错".into(),
            }),
        );
        test.add_reading(bedroom.clone()).unwrap();
        test.add_reading(right.clone()).unwrap();
        let report = test.report(rules.temperature()).unwrap();
        let report_ref = chain.seal_with(
            schema::TEMPERATURE_TEST,
            55,
            "T0017",
            &report,
            vec![bedroom_ref, right_ref],
            None,
        );
        let refused = CustomerSignoff::refused("不认可测量结果", "入户测温记录").unwrap();
        chain.seal_with(schema::CUSTOMER_SIGNOFF, 58, "T0017", &refused, vec![report_ref], None);

        let signoff = latest_signoff(&chain.0).unwrap();
        assert_eq!(signoff.content.record_id, "rec-15", "the test's sign-off, not the visit's");
        let signed_off = SignedOff::new(&chain.0, &signoff.content.record_id).unwrap();
        assert_eq!(
            (signed_off.thermometer_serial(), signed_off.signature_png_sha256()),
            (Some("TM-2291"), None)
        );
        let contacts = contacts();
        let holder = Holder {
            order: None,
            rules: &rules,
            contacts: &contacts,
            thermometer: Some(&thermometer),
            verify_url: "",
        };
        let copy = signed_off.copy(&holder, Printing::Original(at(59)), None).unwrap();
        assert_eq!(copy.title, "入户测温记录");
        assert_eq!(copy.work_order_id, WO);
        let names: Vec<&str> = copy.technicians.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["王建国", "李秀英"]);
        assert_eq!(copy.technicians[1].role, "测温人员（复核）");
        assert_eq!(
            (copy.started_at.as_str(), copy.ended_at.as_str()),
            ("2026-12-01 10:45", "2026-12-01 10:55"),
            "from the first reading to the report"
        );
        let Body::Test { thermometer: t, rows, conclusion, below_standard } = &copy.body else {
            panic!("a test")
        };
        assert_eq!((t.certificate.as_str(), t.valid_until.as_str()), ("JD-2026-0042", "2027-06-30"));
        let shown: Vec<(&str, &str, &str)> =
            rows.iter().map(|r| (r.label.as_str(), r.reading.as_str(), r.note.as_str())).collect();
        assert_eq!(
            shown,
            [("主卧", "18.40℃", ""), ("客厅", "16.90℃", "更正：读数抄错")],
            "chain order, the report's readings"
        );
        assert!(rows[1].below_standard && !rows[0].below_standard);
        assert_eq!((conclusion.as_str(), *below_standard), ("室温不达标", true));
        assert_eq!(
            copy.answer,
            Answer::Refused { reason: "不认可测量结果".into(), at: "2026-12-01 10:58".into() }
        );

        let unknown = Holder { thermometer: None, ..holder };
        let Body::Test { thermometer: t, .. } =
            signed_off.copy(&unknown, Printing::Original(at(59)), None).unwrap().body
        else {
            panic!("a test")
        };
        assert_eq!((t.serial.as_str(), t.certificate.as_str()), ("TM-2291", "—"), "not in the office's list");
    }
}
