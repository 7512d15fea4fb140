//! The customer's copy of real visits and tests, made through `App` from
//! the sealed records: read back with the real tools (pdftotext, pdftoppm,
//! zbarimg — poppler-utils and zbar-tools, which `.ci/run` installs; the
//! tests fail, never skip, without them), the QR code checked against the
//! sign-off record's content hash. Pages are kept as PNG under
//! `target/customer-copies/` to look at.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use hearth_domain::*;
use hearth_tablet::{CustomerCopyView, SignoffInput, SignoffResult};

fn run(tool: &str, args: &[&str]) -> String {
    let package = if tool == "zbarimg" { "zbar-tools" } else { "poppler-utils" };
    let out = Command::new(tool)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {tool} ({e}): apt-get install {package}"));
    assert!(out.status.success(), "{tool} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Where the pages are kept for a human to look at.
fn samples() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/customer-copies");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The PDF's text, and the QR payload read off its first page (kept as `name-1.png`).
fn read_back(copy: &CustomerCopyView, name: &str) -> (String, String) {
    let pdf = Path::new(&copy.path);
    assert!(pdf.is_file(), "the copy is on the tablet at {}", copy.path);
    let text = run("pdftotext", &["-layout", &copy.path, "-"]);
    let prefix = samples().join(name);
    run("pdftoppm", &["-r", "150", "-png", &copy.path, prefix.to_str().unwrap()]);
    let page = std::fs::read_dir(samples())
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with(&format!("{name}-")))
        .min()
        .expect("pdftoppm wrote the first page");
    let qr = run("zbarimg", &["--raw", "-q", page.to_str().unwrap()]);
    (text, qr.trim().to_owned())
}

fn signature() -> SignoffInput {
    use base64::Engine as _;
    SignoffInput::Signed {
        signature_png_base64: base64::engine::general_purpose::STANDARD.encode(drawn_signature_png()),
        strokes_json: r#"{"aspect":3,"strokes":[[[0.1,0.5],[0.9,0.5]]]}"#.into(),
        satisfaction: 4,
        comment: Some("师傅很专业".into()),
    }
}

fn visit(f: &Fixture) {
    let mut steps = vec![appointment(), arrival(vec![])];
    steps.extend(rest_of_visit());
    steps[6] = farewell(Some("提醒用户定期排气"));
    for e in steps {
        f.app.complete_step(REPAIR, e).unwrap();
    }
}

fn qr_names_the_signoff(f: &Fixture, copy: &CustomerCopyView, qr: &str) {
    // A link to the verification page of the server the tablet is enrolled with.
    assert_eq!(
        qr,
        format!("{SERVER_URL}/verify?record={}&hash={}", copy.signoff_record_id, copy.content_hash)
    );
    let store = f.app.store().lock().unwrap();
    let record = store.chain_record(&copy.signoff_record_id).unwrap().expect("the sign-off is sealed");
    assert_eq!(record.content.schema, "hearth.customer_signoff/1");
    assert_eq!(record.content_hash.to_hex(), copy.content_hash, "the QR holds the sealed content hash");
    store.verify_chain().expect("and the chain that holds it verifies");
}

#[test]
fn a_signed_visit_gives_the_customer_a_chinese_copy_with_the_work_the_technician_and_a_checkable_qr() {
    let f = signed_in();
    visit(&f);
    let SignoffResult::Visit(_) = f.app.customer_signoff(REPAIR, signature()).unwrap() else {
        panic!("a repair order's sign-off answers with the visit")
    };
    let copy = f.app.customer_copy(REPAIR).unwrap();
    assert!(copy.bytes < 500_000, "only the glyphs used are embedded: {} bytes", copy.bytes);
    let (text, qr) = read_back(&copy, "visit-signed");
    for expected in [
        "入户维修服务确认单",
        COMPANY,
        HOTLINE,
        REPAIR,
        "孙丽华",
        "阳光花园",
        "王建国",
        "13803510017",
        "卧室暖气片不热",
        "DN20 阀门",
        "¥45.00",
        "提醒用户定期排气",
        "满意度",
        "师傅很专业",
        "2026-11-23 10:",
    ] {
        assert!(text.contains(expected), "the copy says {expected:?}:\n{text}");
    }
    qr_names_the_signoff(&f, &copy, &qr);
    // Asked again (a reprint), the same file is given back.
    let again = f.app.customer_copy(REPAIR).unwrap();
    assert_eq!((again.path, again.bytes), (copy.path, copy.bytes));
}

#[test]
fn a_refused_temperature_test_gives_a_copy_with_every_reading_the_verdict_and_the_reason() {
    let f = signed_in();
    f.app.start_temperature_test(TEST, WITNESS, WITNESS_PIN, GOOD_THERMOMETER).unwrap();
    let rooms = [
        (RoomKind::LivingRoom, "客厅", "15.2"),
        (RoomKind::Bedroom, "主卧", "18.4"),
        (RoomKind::Bedroom, "次卧", "17.9"),
    ];
    for (kind, label, celsius) in rooms {
        f.app.add_reading(TEST, reading(kind, label, celsius)).unwrap();
    }
    f.app.sign_report(TEST, PERFORMER_PIN, WITNESS_PIN, None).unwrap();
    // Before the customer answers there is nothing to copy: no_signoff.
    assert_eq!(code(f.app.customer_copy(TEST)), "no_signoff");
    let refused = SignoffInput::Refused { reason: "客户认为测温位置不对".into() };
    let SignoffResult::Test(_) = f.app.customer_signoff(TEST, refused).unwrap() else {
        panic!("a test order's sign-off answers with the test")
    };
    let copy = f.app.customer_copy(TEST).unwrap();
    let (text, qr) = read_back(&copy, "test-refused");
    for expected in [
        "入户测温记录",
        "王建国",
        "13803510017",
        "李秀英",
        "13803510023",
        GOOD_THERMOMETER,
        "JJG-2026-0457",
        "15.20℃",
        "18.40℃",
        "17.90℃",
        "不达标",
        "室温不达标",
        "用户拒绝签字",
        "客户认为测温位置不对",
    ] {
        assert!(text.contains(expected), "the copy says {expected:?}:\n{text}");
    }
    qr_names_the_signoff(&f, &copy, &qr);
}

#[test]
fn an_order_nobody_signed_has_no_copy() {
    let f = signed_in();
    assert_eq!(code(f.app.customer_copy(REPAIR)), "no_signoff");
    assert_eq!(code(f.app.customer_copy("WO-NOPE")), "unknown_work_order");
}

#[test]
fn the_copy_made_at_sign_off_opens_after_the_signature_left_the_tablet() {
    let f = signed_in();
    visit(&f);
    let SignoffResult::Visit(v) = f.app.customer_signoff(REPAIR, signature()).unwrap() else {
        panic!("a repair order's sign-off answers with the visit")
    };
    let first = f.app.customer_copy(REPAIR).unwrap();
    // The sync engine prunes the signature once the server holds it; the
    // copy the customer was given must still open (it used to be rebuilt
    // from the signature image, and failed).
    let Some(hearth_domain::CustomerSignoff::Signed { signature_png_sha256, strokes_sha256, .. }) =
        v.signoff.map(|s| s.signoff)
    else {
        panic!("signed")
    };
    let store = hearth_store::Store::open(f.dir.path()).unwrap();
    for sha in [signature_png_sha256, strokes_sha256] {
        let path = store.blob_path(&sha.as_str().parse().unwrap());
        std::fs::remove_file(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }
    drop(store);
    let again = f.app.customer_copy(REPAIR).unwrap();
    assert_eq!((again.path, again.bytes), (first.path, first.bytes));
}
