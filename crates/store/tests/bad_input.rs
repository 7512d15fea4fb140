//! Bad input gets a clear error with a stable code, and nothing is written.

mod common;

use common::*;
use hearth_store::Store;

fn nothing_written(store: &Store) {
    assert_eq!(store.draft_count().unwrap(), 0, "no draft was written");
    assert_eq!(store.head_seq().unwrap(), 0, "nothing was sealed");
    assert_eq!(store.outbox_len().unwrap(), 0, "nothing was queued");
}

fn refused(data: &[u8]) -> (String, String) {
    let dir = tempfile::tempdir().unwrap();
    let store = enrolled_store(dir.path());
    let err = store.save_draft("d1", "hearth.visit_step/1", Some("WO-1"), data, 1).unwrap_err();
    nothing_written(&store);
    (err.code().to_owned(), err.to_string())
}

#[test]
fn content_over_64_kib_is_refused_as_too_large() {
    let big = format!(r#"{{"note":"{}"}}"#, "测".repeat(23_000));
    let (code, message) = refused(big.as_bytes());
    assert_eq!(code, "content_too_large");
    assert!(message.contains("65536"), "the message says the limit: {message}");
}

#[test]
fn a_non_ascii_key_is_refused_as_a_bad_key() {
    let (code, message) = refused("{\"房间\":\"客厅\"}".as_bytes());
    assert_eq!(code, "bad_key");
    assert!(message.contains("房间"), "the message names the key: {message}");
}

#[test]
fn an_uppercase_key_is_refused_as_a_bad_key() {
    assert_eq!(refused(br#"{"Room":"x"}"#).0, "bad_key");
}

#[test]
fn a_float_is_refused_and_the_message_says_to_use_hundredths() {
    let (code, message) = refused(br#"{"reading":18.5}"#);
    assert_eq!(code, "float_not_allowed");
    assert!(message.contains("hundredths"), "{message}");
}

#[test]
fn a_null_is_refused_and_the_message_says_to_leave_the_field_out() {
    let (code, message) = refused(br#"{"comment":null}"#);
    assert_eq!(code, "null_not_allowed");
    assert!(message.contains("leave the field out"), "{message}");
}

#[test]
fn malformed_utf8_is_refused_as_malformed() {
    let (code, message) = refused(b"{\"note\":\"\xff\xfe\"}");
    assert_eq!(code, "malformed_json");
    assert!(message.contains("UTF-8"), "{message}");
}

#[test]
fn data_that_is_not_an_object_is_refused() {
    assert_eq!(refused(b"[1,2]").0, "malformed_json");
    assert_eq!(refused(b"").0, "malformed_json");
}

#[test]
fn a_chinese_value_is_accepted_as_is() {
    let dir = tempfile::tempdir().unwrap();
    let store = enrolled_store(dir.path());
    let d = store
        .save_draft("d1", "hearth.visit_step/1", None, "{\"note\":\"客厅暖气不热\"}".as_bytes(), 1)
        .unwrap();
    assert_eq!(d.data["note"], "客厅暖气不热");
}
