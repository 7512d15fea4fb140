mod common;

use common::sha;
use hearth_domain::{CustomerSignoff, Satisfaction, SignoffError, ValueError};

fn signed_with(satisfaction: u8) -> Result<CustomerSignoff, SignoffError> {
    CustomerSignoff::signed(&sha(1), &sha(2), "维修内容:更换温控阀", satisfaction, None)
}

#[test]
fn satisfaction_zero_and_six_are_refused() {
    for bad in [0, 6] {
        assert_eq!(
            signed_with(bad),
            Err(SignoffError::InvalidField {
                field: "satisfaction",
                source: ValueError::SatisfactionOutOfRange(bad)
            })
        );
    }
}

#[test]
fn satisfaction_one_to_five_is_accepted() {
    for ok in 1..=5 {
        assert!(signed_with(ok).is_ok(), "{ok}");
        assert_eq!(Satisfaction::try_from(ok).map(Satisfaction::value), Ok(ok));
    }
}

#[test]
fn signature_hashes_must_be_64_lowercase_hex_characters() {
    let upper = sha(2).to_uppercase().replace("02", "0A");
    assert_eq!(
        CustomerSignoff::signed(&sha(1), &upper, "内容", 5, None),
        Err(SignoffError::InvalidField { field: "strokes_sha256", source: ValueError::InvalidSha256 })
    );
    assert_eq!(
        CustomerSignoff::signed("abc", &sha(2), "内容", 5, None),
        Err(SignoffError::InvalidField { field: "signature_png_sha256", source: ValueError::InvalidSha256 })
    );
}

#[test]
fn the_summary_shown_must_not_be_empty() {
    assert_eq!(
        CustomerSignoff::signed(&sha(1), &sha(2), "  ", 5, None),
        Err(SignoffError::InvalidField { field: "summary_shown", source: ValueError::Empty })
    );
}

#[test]
fn a_refusal_to_sign_is_a_valid_signoff_that_keeps_what_was_shown() {
    let refusal = CustomerSignoff::refused("认为温度测得不准", "客厅 17.50 °C").expect("valid");
    assert!(refusal.is_refused());
    assert_eq!(refusal.summary_shown().as_str(), "客厅 17.50 °C");
    assert_eq!(
        CustomerSignoff::refused("", "客厅 17.50 °C"),
        Err(SignoffError::InvalidField { field: "reason", source: ValueError::Empty })
    );
}

#[test]
fn a_blank_comment_is_recorded_as_no_comment() {
    let signoff = CustomerSignoff::signed(&sha(1), &sha(2), "内容", 4, Some("  "));
    assert!(matches!(signoff, Ok(CustomerSignoff::Signed { comment: None, .. })));
}

#[test]
fn a_signoff_serialises_with_its_kind_and_survives_a_round_trip() {
    let signed = CustomerSignoff::signed(&sha(1), &sha(2), "内容", 4, Some("师傅很专业")).expect("valid");
    let json = serde_json::to_value(&signed).expect("serialises");
    assert_eq!(json["kind"], "signed");
    assert_eq!(json["satisfaction"], 4);
    let back: CustomerSignoff = serde_json::from_value(json).expect("deserialises");
    assert_eq!(back, signed);

    let refused = CustomerSignoff::refused("不同意", "内容").expect("valid");
    let json = serde_json::to_string(&refused).expect("serialises");
    assert_eq!(json, r#"{"kind":"refused","reason":"不同意","summary_shown":"内容"}"#);
}

#[test]
fn deserialising_a_signoff_with_satisfaction_six_fails() {
    let json = format!(
        r#"{{"kind":"signed","signature_png_sha256":"{}","strokes_sha256":"{}","summary_shown":"内容","satisfaction":6}}"#,
        sha(1),
        sha(2)
    );
    assert!(serde_json::from_str::<CustomerSignoff>(&json).is_err());
    let fixed = json.replace(r#""satisfaction":6"#, r#""satisfaction":5"#);
    assert!(serde_json::from_str::<CustomerSignoff>(&fixed).is_ok());
}
