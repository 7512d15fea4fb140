//! The office's reprint is the customer's copy: `hearth_tablet::App`, enrolled
//! with the real server (demo day), takes a signed repair visit and a
//! temperature test the customer refuses to sign, prints each customer's copy
//! at the sign-off, ends the visit afterwards and syncs; the server then
//! reprints both from its records. Read back with pdftotext, each reprint says
//! what the tablet's copy says: only the 重印 mark and the time it was made
//! differ (issue 16).

use std::path::Path;
use std::time::Duration;

use hearth_domain::*;
use hearth_sync::SyncConfig;
use hearth_tablet::{App, SignoffInput};
use hearth_tests::system::Server;
use hearth_tests::visit::{b64, reading, signature_png, steps};

const PERFORMER: &str = "T0017";
const PERFORMER_PIN: &str = "482913";
const WITNESS: &str = "T0023";
const WITNESS_PIN: &str = "739164";
/// The demo's leak order for T0017, and its temperature test for T0017 and T0023.
const REPAIR: &str = "WO-DEMO-0010";
const TEST: &str = "WO-DEMO-0001";
const CAMERA_JPEG: &[u8] = include_bytes!("../fixtures/meter.jpg");

fn pdftotext(path: &Path) -> String {
    let out = std::process::Command::new("pdftotext")
        .arg(path)
        .arg("-")
        .output()
        .unwrap_or_else(|e| panic!("pdftotext (apt-get install poppler-utils): {e}"));
    assert!(out.status.success(), "pdftotext {}: {}", path.display(), String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("pdftotext writes UTF-8")
}

/// The text with what may differ taken out — the 重印 mark after the title
/// and before the time the copy was made, and that time — and the layout's
/// line breaks and spacing (a longer footer wraps elsewhere) ignored.
fn without_print_marks(text: &str) -> String {
    let text = text.replace("（重印）", "").replace("本单生成于 重印 ", "本单生成于 ");
    let mut out = String::new();
    let mut rest = text.as_str();
    while let Some(i) = rest.find("本单生成于 ") {
        let (before, after) = rest.split_at(i + "本单生成于 ".len());
        out.push_str(before);
        out.push_str("<made at>");
        // "YYYY-MM-DD HH:MM": 16 characters, all ASCII.
        rest = after.get(16..).unwrap_or_default();
    }
    out.push_str(rest);
    out.split_whitespace().collect()
}

async fn reprint(server: &Server, operator: &str, work_order_id: &str) -> String {
    let url = format!(
        "{}/v1/office/work-orders/{work_order_id}/copy.pdf?server={}",
        server.base,
        url_encode(&server.base)
    );
    let resp = reqwest::Client::new().get(url).bearer_auth(operator).send().await.unwrap();
    assert_eq!(resp.status(), 200, "the reprint of {work_order_id}");
    let pdf = resp.bytes().await.unwrap();
    let path = server.dir.path().join(format!("{work_order_id}-reprint.pdf"));
    std::fs::write(&path, &pdf).unwrap();
    pdftotext(&path)
}

fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_offices_reprint_says_what_the_customers_copy_says() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let app = App::open(dir.path()).unwrap();
    let code = server.admin(&["device-code"]);
    app.enrol_device(&server.base, &code, "reprint tablet").await.unwrap();
    for (tech, pin) in [(PERFORMER, PERFORMER_PIN), (WITNESS, WITNESS_PIN)] {
        let code = server.admin(&["technician-code", "--id", tech]);
        app.enrol_technician(tech, &code, pin, pin).await.unwrap();
    }
    let engine = app.start_sync(SyncConfig::default()).unwrap();
    engine.sync_until_drained(Duration::from_secs(60)).await.unwrap_or_else(|s| panic!("feed: {s:?}"));
    app.sign_in(PERFORMER, PERFORMER_PIN).unwrap();

    // A repair visit, signed at the door; its copy is printed then.
    let photo = app.put_photo(CAMERA_JPEG).unwrap();
    for evidence in steps(Sha256Hex::parse(&photo.sha256).unwrap()) {
        app.complete_step(REPAIR, evidence).unwrap();
    }
    let signed = SignoffInput::Signed {
        signature_png_base64: b64(&signature_png()),
        strokes_json: r#"{"strokes":[[[0,0],[10,12]]]}"#.into(),
        satisfaction: 4,
        comment: Some("师傅很细心".into()),
    };
    app.customer_signoff(REPAIR, signed).unwrap();
    let visit_copy = app.customer_copy(REPAIR).unwrap();
    // Ended after the customer signed: the copy of that sign-off does not say so.
    app.conclude_visit(REPAIR, VisitOutcome::Resolved).unwrap();

    // A temperature test with a corrected reading, refused by the customer.
    app.start_temperature_test(TEST, WITNESS, WITNESS_PIN, "TM-2291").unwrap();
    let t = app.add_reading(TEST, reading(RoomKind::LivingRoom, "客厅", "16.8")).unwrap();
    app.add_reading(TEST, reading(RoomKind::Bedroom, "主卧", "18.4")).unwrap();
    app.correct_reading(
        TEST,
        &t.readings[0].record.record_id,
        "读数抄错",
        reading(RoomKind::LivingRoom, "客厅", "16.9"),
    )
    .unwrap();
    app.sign_report(TEST, PERFORMER_PIN, WITNESS_PIN, None).unwrap();
    app.customer_signoff(TEST, SignoffInput::Refused { reason: "不认可测量结果".into() }).unwrap();
    let test_copy = app.customer_copy(TEST).unwrap();

    app.sync_now().await.unwrap();
    engine
        .sync_until_drained(Duration::from_secs(120))
        .await
        .unwrap_or_else(|s| panic!("not drained: {s:?}"));
    let operator = server.admin(&["operator-token"]);

    for (work_order_id, copy, must_say) in [
        (
            REPAIR,
            &visit_copy,
            &[
                "入户维修服务确认单",
                "一、预约",
                "七、道别",
                "DN15 阀门",
                "¥38.00",
                "七步服务已全部完成",
                "王建国",
            ][..],
        ),
        (
            TEST,
            &test_copy,
            &[
                "入户测温记录",
                "客厅",
                "16.90℃",
                "18.40℃",
                "更正：读数抄错",
                "TM-2291",
                "不认可测量结果",
                "李秀英",
            ][..],
        ),
    ] {
        let original = pdftotext(Path::new(&copy.path));
        let reprinted = reprint(&server, &operator, work_order_id).await;
        for words in must_say {
            assert!(
                original.contains(words),
                "the tablet's copy of {work_order_id} says {words}: {original}"
            );
        }
        assert!(!original.contains("重印"), "the customer's copy is no reprint: {original}");
        assert!(
            reprinted.contains("（重印）") && reprinted.contains("本单生成于 重印 "),
            "marked: {reprinted}"
        );
        assert!(reprinted.contains(&copy.signoff_record_id), "the same sign-off: {reprinted}");
        assert_eq!(
            without_print_marks(&reprinted),
            without_print_marks(&original),
            "the reprint of {work_order_id} says what the customer's copy says\n--- tablet:\n{original}\n--- server:\n{reprinted}"
        );
    }
    assert!(
        !pdftotext(Path::new(&visit_copy.path)).contains("已解决"),
        "the visit's end came after the sign-off: not on its copy"
    );
}
