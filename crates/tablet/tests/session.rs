//! Enrolment and sign-in through `App`, without a server: what each bad
//! input gets, that a PIN never appears in an error, that the signed-in key
//! lives in memory only. (Enrolment over HTTP: tests/tests/app.rs.)

mod common;

use common::*;
use hearth_tablet::App;

#[tokio::test]
async fn a_fresh_tablet_is_not_enrolled_and_refuses_bad_enrolment_input() {
    let dir = tempfile::tempdir().unwrap();
    let app = App::open(dir.path()).unwrap();
    let state = app.app_state().unwrap();
    assert!(!state.enrolled && state.device_id.is_none() && state.technicians.is_empty());
    // Not an http(s) address: bad_server_url. No code: bad_code.
    assert_eq!(code(app.enrol_device("ftp://x", "123", "tab").await), "bad_server_url");
    assert_eq!(code(app.enrol_device("", "123", "tab").await), "bad_server_url");
    assert_eq!(code(app.enrol_device("http://127.0.0.1:9", " ", "tab").await), "bad_code");
    // Nothing listens on port 9: server_unreachable.
    assert_eq!(code(app.enrol_device("http://127.0.0.1:9", "123", "tab").await), "server_unreachable");
    // A technician before the tablet: not_enrolled. PINs: pin_format, pins_differ.
    assert_eq!(code(app.enrol_technician("T1", "c", "482913", "482913").await), "not_enrolled");
    assert_eq!(code(app.enrol_technician("T1", "c", "12", "12").await), "pin_format");
    assert_eq!(code(app.enrol_technician("T1", "c", "48291a", "48291a").await), "pin_format");
    assert_eq!(code(app.enrol_technician("T1", "c", "482913", "482914").await), "pins_differ");
    // Nobody signed in: not_signed_in. Sealing anything: not_signed_in first.
    assert_eq!(code(app.void_record("x", "y")), "not_signed_in");
}

#[tokio::test]
async fn an_enrolled_tablet_lists_its_technicians_by_name_and_refuses_a_second_enrolment() {
    let f = enrolled();
    let state = f.app.app_state().unwrap();
    assert!(state.enrolled);
    assert_eq!(state.device_id.as_deref(), Some("dev-test"));
    let names: Vec<_> = state.technicians.iter().map(|t| (t.tech_id.as_str(), t.name.as_deref())).collect();
    assert_eq!(names, vec![(PERFORMER, Some("王建国")), (WITNESS, Some("李秀英"))]);
    assert_eq!(code(f.app.enrol_device("http://127.0.0.1:9", "123", "tab").await), "already_enrolled");
}

#[test]
fn sign_in_needs_the_right_pin_and_never_repeats_it() {
    let f = enrolled();
    // Wrong PIN: wrong_pin (code() checks the PIN is not in the message).
    assert_eq!(code(f.app.sign_in(PERFORMER, "000000")), "wrong_pin");
    // Not a PIN: pin_format. Unknown person: unknown_technician.
    assert_eq!(code(f.app.sign_in(PERFORMER, "12ab")), "pin_format");
    assert_eq!(code(f.app.sign_in("T9999", "111111")), "unknown_technician");
    let state = f.app.sign_in(PERFORMER, PERFORMER_PIN).unwrap();
    assert_eq!(state.signed_in.unwrap().name.as_deref(), Some("王建国"));
    let state = f.app.sign_out().unwrap();
    assert!(state.signed_in.is_none());
    assert_eq!(code(f.app.void_record("x", "reason")), "not_signed_in");
}

#[test]
fn too_many_wrong_pins_lock_the_technician_out() {
    let f = enrolled();
    let mut last = String::new();
    for _ in 0..12 {
        last = code(f.app.sign_in(WITNESS, "111111"));
        if last != "wrong_pin" {
            break;
        }
    }
    // After the limit: pin_locked_out, even with the right PIN.
    assert_eq!(last, "pin_locked_out");
    assert_eq!(code(f.app.sign_in(WITNESS, WITNESS_PIN)), "pin_locked_out");
}

/// The signature pad's drafts once held floats (0..1 coordinates), which
/// drafts refuse like records do: the drawing never survived a restart. The
/// pad now writes integers (ten-thousandths of the pad).
#[test]
fn a_signature_pads_strokes_in_integers_are_kept_and_floats_are_refused_with_a_code() {
    let f = enrolled();
    let strokes = r#"{"aspect_milli":3000,"strokes":[[[3333,3333],[5000,2500]]],"version":2}"#;
    f.app.save_draft("signature:WO-R-1", strokes).unwrap();
    assert_eq!(
        code(f.app.save_draft("signature:WO-R-1", r#"{"version":1,"strokes":[[[0.5,0.25]]]}"#)),
        "float_not_allowed"
    );
    let f = f.restart();
    assert_eq!(
        f.app.load_draft("signature:WO-R-1").unwrap().as_deref(),
        Some(strokes),
        "the last good drawing"
    );
}

#[test]
fn drafts_survive_a_restart_and_must_be_json_objects() {
    let f = enrolled();
    f.app.save_draft("signature_pad", r#"{"strokes":[[1,2]]}"#).unwrap();
    // Not an object / not JSON: the store's code (draft data is checked like record data).
    let e = f.app.save_draft("form", "[1]").unwrap_err();
    assert!(!e.code.is_empty());
    assert!(f.app.save_draft("form", "{not json").is_err());
    // An empty key: invalid_field.
    assert_eq!(code(f.app.save_draft(" ", "{}")), "invalid_field");
    let f = f.restart();
    assert_eq!(f.app.load_draft("signature_pad").unwrap().as_deref(), Some(r#"{"strokes":[[1,2]]}"#));
    assert_eq!(f.app.load_draft("missing").unwrap(), None);
}

#[test]
fn sync_status_before_the_engine_counts_what_waits_and_rescue_exports_it() {
    let f = signed_in();
    f.app.put_photo(CAMERA_JPEG).unwrap();
    let status = f.app.sync_status().unwrap();
    assert_eq!(status.pending_blobs, 1);
    assert_eq!(status.pending_records, 0);
    let summary = f.app.export_rescue().unwrap();
    assert_eq!(summary.blobs, 1);
    assert!(
        f.dir.path().join("rescue").read_dir().unwrap().count() == 1,
        "the file is in the store's rescue dir"
    );
}

#[test]
fn the_app_handle_is_send_and_sync_and_its_async_commands_are_send() {
    fn assert_send_sync<T: Send + Sync>() {}
    fn assert_send<T: Send>(_: &T) {}
    assert_send_sync::<App>();
    let f = enrolled();
    // Tauri runs async commands on a multi-threaded runtime.
    assert_send(&f.app.enrol_device("http://x", "c", "n"));
    assert_send(&f.app.enrol_technician("T1", "c", "482913", "482913"));
    assert_send(&f.app.sync_now());
}
