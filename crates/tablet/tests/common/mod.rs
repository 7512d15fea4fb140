//! An enrolled tablet without a server: a real store in a tempdir, linked
//! as if enrolled, two technicians with keys, and a feed with orders,
//! technicians and thermometers — as the sync engine would have left it.
#![allow(dead_code)]

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, TimeZone, Utc};
use hearth_domain::{Address, Customer, Thermometer, WorkOrder, WorkOrderCategory};
use hearth_protocol::SigningKey;
use hearth_protocol::api::{FeedItem, FeedKind, FeedPage};
use hearth_protocol::seal::kid_of;
use hearth_store::{Pin, ServerLink};
use hearth_tablet::{App, AppError};
use serde_json::json;

pub const PERFORMER: &str = "T0017";
pub const PERFORMER_PIN: &str = "482913";
pub const WITNESS: &str = "T0023";
pub const WITNESS_PIN: &str = "739164";
pub const REPAIR: &str = "WO-R-1";
pub const TEST: &str = "WO-T-1";
pub const GOOD_THERMOMETER: &str = "TM-2291";
pub const COMPANY: &str = "阳泉市热力有限公司";
pub const HOTLINE: &str = "0353-2021234";
/// The server the test tablets are linked to (nothing listens there).
pub const SERVER_URL: &str = "http://127.0.0.1:9";
pub const EXPIRED_THERMOMETER: &str = "TM-1987";

/// 2026-11-23 10:00 in Shanghai.
pub fn start_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 2, 0, 0).unwrap()
}

/// A clock that moves on a second at every reading, so record times keep
/// their order, and that a test can push forward.
#[derive(Clone)]
pub struct TestClock(pub Arc<AtomicI64>);

impl TestClock {
    pub fn new(at: DateTime<Utc>) -> Self {
        Self(Arc::new(AtomicI64::new(at.timestamp_millis())))
    }

    pub fn clock(&self) -> hearth_tablet::Clock {
        let ms = self.0.clone();
        Arc::new(move || {
            let now = ms.fetch_add(1000, Ordering::SeqCst);
            DateTime::from_timestamp_millis(now).unwrap()
        })
    }

    pub fn advance_minutes(&self, minutes: i64) {
        self.0.fetch_add(minutes * 60_000, Ordering::SeqCst);
    }
}

pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub clock: TestClock,
    pub app: App,
}

impl Fixture {
    /// Drops the app and opens the same store again (a restart).
    pub fn restart(self) -> Fixture {
        let Fixture { dir, clock, app } = self;
        drop(app);
        let app = App::open_with_clock(dir.path(), clock.clock(), 480).expect("the app reopens");
        Fixture { dir, clock, app }
    }
}

fn order(id: &str, category: WorkOrderCategory, received: DateTime<Utc>) -> WorkOrder {
    let address = Address::new("阳光花园", "3号楼", "2单元", "501").unwrap();
    let customer = Customer::new("孙丽华", "13935100001", address).unwrap();
    let mut o = WorkOrder::new(id, category, customer, "客厅温度低", received).unwrap();
    o.assign(hearth_domain::TechnicianId::parse(PERFORMER).unwrap());
    o
}

fn item(seq: u64, kind: FeedKind, id: &str, body: serde_json::Value) -> FeedItem {
    FeedItem { feed_seq: seq, kind, id: id.into(), rev: 1, body: Some(body) }
}

/// Links the store as an enrolled device and fills its feed.
pub fn prepare_store(dir: &Path) {
    let mut store = hearth_store::Store::open(dir).unwrap();
    let server = SigningKey::from_bytes(&[7; 32]).verifying_key();
    let link = ServerLink {
        server_url: SERVER_URL.into(),
        device_token: "token".into(),
        server_kid: kid_of(&server),
        server_public_key: server.to_bytes(),
    };
    store.link_server("dev-test", &link, 1).unwrap();
    store.enrol_technician(PERFORMER, &Pin::new(PERFORMER_PIN).unwrap()).unwrap();
    store.enrol_technician(WITNESS, &Pin::new(WITNESS_PIN).unwrap()).unwrap();
    let received = start_time() - chrono::Duration::minutes(30);
    let thermometer = |serial: &str, until: (i32, u32, u32)| {
        let date = chrono::NaiveDate::from_ymd_opt(until.0, until.1, until.2).unwrap();
        serde_json::to_value(Thermometer::new(serial, "JJG-2026-0457", date).unwrap()).unwrap()
    };
    let items = vec![
        item(
            1,
            FeedKind::Technician,
            PERFORMER,
            json!({"tech_id": PERFORMER, "name": "王建国", "phone": "13803510017"}),
        ),
        item(
            2,
            FeedKind::Technician,
            WITNESS,
            json!({"tech_id": WITNESS, "name": "李秀英", "phone": "13803510023"}),
        ),
        item(3, FeedKind::Thermometer, GOOD_THERMOMETER, thermometer(GOOD_THERMOMETER, (2027, 6, 30))),
        item(
            7,
            FeedKind::RuleSet,
            "company",
            serde_json::to_value(hearth_domain::RuleSet::default().with_company(
                hearth_domain::CompanyProfile { name: COMPANY.into(), hotline: HOTLINE.into() },
            ))
            .unwrap(),
        ),
        item(4, FeedKind::Thermometer, EXPIRED_THERMOMETER, thermometer(EXPIRED_THERMOMETER, (2026, 10, 31))),
        item(
            5,
            FeedKind::WorkOrder,
            REPAIR,
            json!({"order": order(REPAIR, WorkOrderCategory::Repair, received), "status": "open"}),
        ),
        item(
            6,
            FeedKind::WorkOrder,
            TEST,
            json!({"order": order(TEST, WorkOrderCategory::TemperatureTest, received), "status": "open"}),
        ),
    ];
    store.apply_feed_page(&FeedPage { items, cursor: "7".into(), has_more: false }, 1).unwrap();
}

/// An enrolled tablet with the performer signed in.
pub fn signed_in() -> Fixture {
    let f = enrolled();
    f.app.sign_in(PERFORMER, PERFORMER_PIN).expect("the performer signs in");
    f
}

/// An enrolled tablet, nobody signed in.
pub fn enrolled() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    prepare_store(dir.path());
    let clock = TestClock::new(start_time());
    let app = App::open_with_clock(dir.path(), clock.clock(), 480).unwrap();
    Fixture { dir, clock, app }
}

/// The code of an error, with a check that no PIN leaked into it.
#[track_caller]
pub fn code<T: std::fmt::Debug>(result: Result<T, AppError>) -> String {
    let e = result.expect_err("the command must refuse");
    for pin in [PERFORMER_PIN, WITNESS_PIN, "111111", "000000"] {
        assert!(!e.message.contains(pin), "a PIN leaked into {e:?}");
    }
    e.code.as_str().to_owned()
}

/// A camera's photo of a heat meter: 1200×900 JPEG taken turned (EXIF
/// orientation 6), with a capture time (2026-11-23 10:05:12 +08:00), the
/// camera's make and a GPS position that must never reach the stored photo.
pub const CAMERA_JPEG: &[u8] = include_bytes!("../../../../tests/fixtures/meter.jpg");

/// A tiny real PNG (1×1) and a JPEG header, enough for the magic-byte check.
pub const PNG: &[u8] = &[
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13, b'I', b'H', b'D', b'R', 0, 0, 0, 1, 0, 0, 0,
    1, 8, 6, 0, 0, 0, 0x1F, 0x15, 0xC4, 0x89,
];
pub const JPEG: &[u8] =
    &[0xFF, 0xD8, 0xFF, 0xE0, 0, 16, b'J', b'F', b'I', b'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0];

pub fn b64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A signature as the pad draws it: black strokes on a transparent 600×200 PNG.
pub fn drawn_signature_png() -> Vec<u8> {
    let (w, h) = (600usize, 200usize);
    let mut px = vec![0u8; w * h * 4];
    for i in 0..2000 {
        let t = i as f32 / 2000.0;
        let (x, y) = (60.0 + 480.0 * t, 100.0 + 50.0 * (t * 14.0).sin());
        for dy in -3i32..=3 {
            for dx in -3i32..=3 {
                let (px_x, px_y) = ((x as i32 + dx) as usize, (y as i32 + dy) as usize);
                if px_x < w && px_y < h {
                    px[(px_y * w + px_x) * 4 + 3] = 255;
                }
            }
        }
    }
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, w as u32, h as u32);
    enc.set_color(png::ColorType::Rgba);
    enc.set_depth(png::BitDepth::Eight);
    let mut writer = enc.write_header().unwrap();
    writer.write_image_data(&px).unwrap();
    writer.finish().unwrap();
    out
}

// ---- the evidence of a visit, as a technician fills it in ----

use hearth_domain::{
    Appointment, AppointmentEvidence, ArrivalEvidence, CommunicateEvidence, EntryEvidence, FarewellEvidence,
    InspectEvidence, PartReplacement, ResolveEvidence, RoomKind, Sha256Hex, StepEvidence,
};

/// 一预约: a visit agreed for half an hour after the fixture's start.
pub fn appointment() -> StepEvidence {
    let start = start_time() + chrono::Duration::minutes(30);
    StepEvidence::Appointment(AppointmentEvidence {
        agreed: Appointment::new(start, start + chrono::Duration::hours(1)).unwrap(),
        customer_confirmed: true,
        note: None,
    })
}

pub fn arrival(photos: Vec<Sha256Hex>) -> StepEvidence {
    StepEvidence::Arrival(ArrivalEvidence {
        body_camera_on: true,
        knocked_gently: true,
        work_id_shown: true,
        note: None,
        photos,
    })
}

pub fn entry() -> StepEvidence {
    StepEvidence::Entry(EntryEvidence { uniform: true, badge: true, shoe_covers: true, note: None })
}

pub fn communicate(problem: &str) -> StepEvidence {
    StepEvidence::Communicate(CommunicateEvidence {
        confirmed_problem: problem.into(),
        paid_service_told: Some(true),
    })
}

pub fn inspect() -> StepEvidence {
    StepEvidence::Inspect(InspectEvidence { findings: "暖气片阀门堵塞".into(), ..Default::default() })
}

/// 六解决 with a DN20 valve replaced at ¥45.00, told and agreed.
pub fn resolve() -> StepEvidence {
    StepEvidence::Resolve(ResolveEvidence {
        action: "更换阀门".into(),
        parts: vec![PartReplacement {
            part: "DN20 阀门".into(),
            price_told_cents: Some(4500),
            customer_consented: true,
        }],
        ..Default::default()
    })
}

pub fn farewell(note: Option<&str>) -> StepEvidence {
    StepEvidence::Farewell(FarewellEvidence {
        cleaned_up: true,
        explained_care: true,
        thanked: true,
        note: note.map(str::to_owned),
        photos: vec![],
    })
}

/// Steps three to seven, after the appointment and the arrival.
pub fn rest_of_visit() -> Vec<StepEvidence> {
    vec![entry(), communicate("卧室暖气片不热"), inspect(), resolve(), farewell(None)]
}

/// One room's reading, entered with consent and shown to the customer.
pub fn reading(kind: RoomKind, label: &str, celsius: &str) -> hearth_tablet::ReadingInput {
    hearth_tablet::ReadingInput {
        room_kind: kind,
        label: label.into(),
        celsius_text: celsius.into(),
        consent_to_enter: true,
        shown_to_customer: true,
        outlier_reason: None,
    }
}
