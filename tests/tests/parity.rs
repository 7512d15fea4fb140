//! Parity: what the tablet shows and what the office judges agree (issue 14).
//!
//! For generated histories of one work order — the steps and outcomes a
//! technician seals (a fix, nobody home, a refused entry, cannot finish), a
//! late notice, temperature readings and a report, dispatch's own entries,
//! records arriving late from a tablet that was offline — the tablet's
//! deadline statuses (its own domain values, as `App` replays them) must
//! equal the office's (the same records as sealed content, read back through
//! the server's `compute::milestone_claims` and bracketed by their arrival).
//! The tablet's clock may run slow or fast: once receipted, the tablet
//! places each claim as the server does (`App` reads the receipt's time;
//! `tests/app.rs` proves it against the real office with a fast clock).

use chrono::{DateTime, Duration, TimeZone, Utc};
use hearth_domain::{
    Address, Appointment, AppointmentEvidence, ArrivalEvidence, CompletedStep, ConcludedVisit, Customer,
    EvidenceRecord, LateNotice, Milestones, NoticePlacement, RoomKind, RuleSet, StepEvidence,
    TemperatureReading, TestId, VisitOutcome, WorkOrder, WorkOrderCategory, deadlines, effective_milestones,
    milestone_claim,
};
use hearth_protocol::{Content, Created, Signer, SignerRole};
use hearth_server::office::compute::{self, Evidence, Evidenced, bracket, ms_to_utc};
use hearth_tablet::records::{self, RecordMeta};
use proptest::prelude::*;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 4, 1, 0, 0).single().unwrap_or_default()
}

fn at(minutes: i64) -> DateTime<Utc> {
    t0() + Duration::minutes(minutes)
}

/// One event a technician seals, `minutes` after the order was received.
#[derive(Debug, Clone)]
enum Event {
    Appointment(i64),
    Arrival(i64),
    Resolved(i64),
    NobodyHome { first_knock: i64 },
    Refused(i64),
    CannotFinish(i64),
    LateNotice(i64),
    Reading(i64),
    Report(i64),
    Accepted(i64),
}

fn event() -> impl Strategy<Value = Event> {
    let m = 0i64..3000;
    prop_oneof![
        m.clone().prop_map(Event::Appointment),
        m.clone().prop_map(Event::Arrival),
        m.clone().prop_map(Event::Resolved),
        m.clone().prop_map(|k| Event::NobodyHome { first_knock: k }),
        m.clone().prop_map(Event::Refused),
        m.clone().prop_map(Event::CannotFinish),
        m.clone().prop_map(Event::LateNotice),
        m.clone().prop_map(Event::Reading),
        m.clone().prop_map(Event::Report),
        m.prop_map(Event::Accepted),
    ]
}

fn signer() -> Signer {
    Signer { role: SignerRole::Performer, tech_id: "T0017".into(), kid: "0".repeat(32) }
}

fn meta(n: usize, made: DateTime<Utc>) -> RecordMeta {
    RecordMeta {
        record_id: format!("0190aaaa-0000-7000-8000-{n:012}"),
        created: Created {
            device_time_ms: made.timestamp_millis(),
            tz_offset_min: 480,
            boot_id: "boot".into(),
            monotonic_ms: n as i64,
            last_server_time_ms: None,
        },
    }
}

fn outcome(at_: DateTime<Utc>, outcome: VisitOutcome) -> ConcludedVisit {
    ConcludedVisit { at: at_, outcome }
}

/// The domain value the tablet replays, and the content it seals for it.
fn sealed(
    n: usize,
    order: &WorkOrder,
    e: &Event,
) -> (Option<(hearth_domain::Milestone, DateTime<Utc>)>, Content) {
    let wo = &order.id;
    let step = |m: i64, evidence: StepEvidence| CompletedStep { at: at(m), evidence };
    match e {
        Event::Appointment(m) | Event::Arrival(m) => {
            let s = match e {
                Event::Appointment(_) => step(
                    *m,
                    StepEvidence::Appointment(AppointmentEvidence {
                        agreed: Appointment::new(at(m + 60), at(m + 120)).unwrap_or_else(|e| panic!("{e}")),
                        customer_confirmed: true,
                        note: None,
                    }),
                ),
                _ => step(
                    *m,
                    StepEvidence::Arrival(ArrivalEvidence {
                        body_camera_on: true,
                        knocked_gently: true,
                        work_id_shown: true,
                        ..ArrivalEvidence::default()
                    }),
                ),
            };
            let c = records::visit_step(meta(n, at(*m)), wo, &s, signer(), vec![])
                .unwrap_or_else(|e| panic!("{e}"));
            (milestone_claim(EvidenceRecord::Step(&s)), c)
        }
        Event::Resolved(m)
        | Event::Refused(m)
        | Event::CannotFinish(m)
        | Event::NobodyHome { first_knock: m } => {
            let o = match e {
                Event::Resolved(_) => outcome(at(*m), VisitOutcome::Resolved),
                Event::Refused(_) => outcome(at(*m), VisitOutcome::RefusedEntry { reason: "不开门".into() }),
                Event::CannotFinish(_) => {
                    outcome(at(*m), VisitOutcome::NotResolved { next_appointment: None })
                }
                _ => outcome(
                    at(m + 10),
                    VisitOutcome::NobodyHome {
                        knocks: vec![at(*m), at(m + 2), at(m + 4)],
                        phone_attempt_at: Some(at(m + 6)),
                        notice_photo_sha256: None,
                        notice_placement: NoticePlacement::UnderDoor,
                        next_appointment: None,
                    },
                ),
            };
            let c = records::visit_outcome(meta(n, o.at), wo, &o, signer(), vec![], vec![])
                .unwrap_or_else(|e| panic!("{e}"));
            (milestone_claim(EvidenceRecord::Outcome(&o)), c)
        }
        Event::LateNotice(m) => {
            let notice = LateNotice {
                told_whom: "客户本人".into(),
                told_at_ms: at(*m).timestamp_millis(),
                new_eta_ms: at(m + 90).timestamp_millis(),
            };
            let c = records::late_notice(meta(n, at(*m)), wo, &notice, signer())
                .unwrap_or_else(|e| panic!("{e}"));
            (milestone_claim(EvidenceRecord::LateNotice(&notice)), c)
        }
        Event::Reading(m) => {
            let r = TemperatureReading {
                test_id: TestId::parse("TT-1").unwrap_or_else(|e| panic!("{e}")),
                room_kind: RoomKind::LivingRoom,
                label: hearth_domain::NonEmptyText::parse("客厅").unwrap_or_else(|e| panic!("{e}")),
                centi_celsius: hearth_domain::CentiCelsius(1750),
                taken_at: at(*m)
                    .with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).unwrap_or_else(|| panic!())),
                consent_to_enter: true,
                shown_to_customer: true,
                outlier_reason: None,
            };
            let c = records::temperature_reading(meta(n, at(*m)), wo, "TM-2291", &r, signer())
                .unwrap_or_else(|e| panic!("{e}"));
            (milestone_claim(EvidenceRecord::Reading(&r)), c)
        }
        Event::Accepted(m) => {
            let a = hearth_domain::OrderAccepted { accepted_at: at(*m) };
            let c =
                records::order_accepted(meta(n, at(*m)), wo, &a, signer()).unwrap_or_else(|e| panic!("{e}"));
            (milestone_claim(EvidenceRecord::Accepted { at: a.accepted_at }), c)
        }
        Event::Report(m) => {
            // The office reads a report's time from its record's creation; so does the tablet.
            let mut c = records::late_notice(
                meta(n, at(*m)),
                wo,
                &LateNotice { told_whom: "x".into(), told_at_ms: 0, new_eta_ms: 0 },
                signer(),
            )
            .unwrap_or_else(|e| panic!("{e}"));
            c.schema = hearth_protocol::schema::TEMPERATURE_TEST.into();
            let made_at = ms_to_utc(c.created.device_time_ms);
            (milestone_claim(EvidenceRecord::Report { made_at }), c)
        }
    }
}

fn category() -> impl Strategy<Value = WorkOrderCategory> {
    prop_oneof![
        Just(WorkOrderCategory::Repair),
        Just(WorkOrderCategory::Leak),
        Just(WorkOrderCategory::TemperatureTest),
        Just(WorkOrderCategory::ValveOpen),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn the_tablet_and_the_office_judge_every_history_alike(
        category in category(),
        events in prop::collection::vec(event(), 0..8),
        // Minutes each record waited on the tablet before it reached the server.
        delays in prop::collection::vec(0i64..2000, 8),
        // Minutes the tablet's clock runs ahead (negative: behind).
        skew in -90i64..90,
        dispatch_contacted in prop::option::of(0i64..3000),
        appointment in prop::option::of(0i64..2000),
        running_late in any::<bool>(),
        assigned in any::<bool>(),
        now in 0i64..6000,
    ) {
        let address = Address::new("阳光花园", "3号楼", "2单元", "501").unwrap_or_else(|e| panic!("{e}"));
        let customer = Customer::new("孙丽华", "13935100001", address).unwrap_or_else(|e| panic!("{e}"));
        let mut order = WorkOrder::new("WO-PARITY", category, customer, "暖气不热", t0()).unwrap_or_else(|e| panic!("{e}"));
        if assigned {
            order.assign(hearth_domain::TechnicianId::parse("T0017").unwrap_or_else(|e| panic!("{e}")));
        }
        order.appointment = appointment.map(|a| Appointment::new(at(a), at(a + 120)).unwrap_or_else(|e| panic!("{e}")));
        order.milestones = Milestones { contacted_at: dispatch_contacted.map(at), running_late, ..Milestones::default() };
        let rules = RuleSet::default();
        let now = at(now);

        let mut tablet_claims = Vec::new();
        let mut office = Evidence::default();
        for (n, e) in events.iter().enumerate() {
            let (claim, content) = sealed(n, &order, e);
            // The server's clock: the tablet's claims less its skew, plus the wait.
            let received = claim.map_or(ms_to_utc(content.created.device_time_ms), |(_, c)| c)
                .max(ms_to_utc(content.created.device_time_ms))
                - Duration::minutes(skew)
                + Duration::minutes(delays[n]);
            // The tablet, once receipted: its claim placed by the receipt's time.
            tablet_claims.extend(claim.map(|(m, claimed)| (m, bracket(claimed, None, received).at)));
            // The office: the sealed data read back, bracketed by its arrival.
            for (milestone, claimed) in compute::milestone_claims(&content.schema, &content.data, content.created.device_time_ms) {
                office.offer(milestone, Evidenced { record_id: content.record_id.clone(), time: bracket(claimed, None, received) });
            }
        }
        let tablet = WorkOrder { milestones: effective_milestones(&order.milestones, tablet_claims), ..order.clone() };
        let server = WorkOrder { milestones: compute::effective_milestones(&order.milestones, &office), ..order.clone() };
        prop_assert_eq!(&tablet.milestones, &server.milestones);
        prop_assert_eq!(deadlines(&tablet, &rules, now), deadlines(&server, &rules, now));
    }
}
