//! What a technician does on the tablet, as evidence the tests hand to
//! `hearth_tablet::App`: the seven steps of a repair visit and a room
//! reading, at times within the visit hours whenever the tests run.

use chrono::Utc;
use hearth_domain::*;
use hearth_tablet::ReadingInput;

/// Standard base64, as the UI hands images to the app.
pub fn b64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Tomorrow 10:00 company time: within the visit hours whenever the test runs.
pub fn tomorrow_at_ten() -> chrono::DateTime<Utc> {
    let zone = chrono::FixedOffset::east_opt(8 * 3600).unwrap();
    let tomorrow = (Utc::now().with_timezone(&zone) + chrono::Duration::days(1)).date_naive();
    tomorrow.and_hms_opt(10, 0, 0).unwrap().and_local_timezone(zone).unwrap().with_timezone(&Utc)
}

/// The seven steps of a repair visit (a valve replaced with the customer's
/// consent), the arrival photographed with `photo`.
pub fn steps(photo: Sha256Hex) -> Vec<StepEvidence> {
    let start = tomorrow_at_ten();
    vec![
        StepEvidence::Appointment(AppointmentEvidence {
            agreed: Appointment::new(start, start + chrono::Duration::hours(1)).unwrap(),
            customer_confirmed: true,
            note: None,
        }),
        StepEvidence::Arrival(ArrivalEvidence {
            body_camera_on: true,
            knocked_gently: true,
            work_id_shown: true,
            note: None,
            photos: vec![photo],
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

/// A room reading as typed, consented to and shown to the customer.
pub fn reading(kind: RoomKind, label: &str, celsius: &str) -> ReadingInput {
    ReadingInput {
        room_kind: kind,
        label: label.into(),
        celsius_text: celsius.into(),
        consent_to_enter: true,
        shown_to_customer: true,
        outlier_reason: None,
    }
}

/// A customer's signature as the pad gives it: a wavy stroke on a
/// transparent 600 × 200 PNG.
pub fn signature_png() -> Vec<u8> {
    let (w, h) = (600u32, 200u32);
    let mut px = vec![0u8; (w * h * 4) as usize];
    for i in 0..1200 {
        let t = i as f32 / 1200.0;
        let (x, y) = (60.0 + 480.0 * t, 100.0 + 40.0 * (t * 12.0).sin());
        for d in -2i32..=2 {
            let (px_x, px_y) = (x as i32 + d, y as i32 + d.signum());
            if (0..w as i32).contains(&px_x) && (0..h as i32).contains(&px_y) {
                px[((px_y as u32 * w + px_x as u32) * 4 + 3) as usize] = 255;
            }
        }
    }
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, w, h);
    enc.set_color(png::ColorType::Rgba);
    enc.set_depth(png::BitDepth::Eight);
    let mut writer = enc.write_header().expect("a PNG header");
    writer.write_image_data(&px).expect("the pixels");
    writer.finish().expect("the PNG ends");
    out
}
