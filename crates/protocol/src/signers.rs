//! Who must sign each schema: the server's rule, not the tablet's word.
//!
//! `C.signers` says who the tablet *says* must sign; the verifier only checks
//! that those who signed were listed and that their signatures hold. This
//! module says which roles each schema *requires*, and judges a record's
//! signers against that: every required role listed once and signed, and the
//! roles that must be two people held by two technicians with two keys.
//! Falling short never blocks a chain (§5): the server stores the record and
//! flags it (`required_signer_missing`, `signer_repeated`).

use crate::flags;
use crate::record::{Content, SignerRole, TechSignature};
use crate::schema;

/// The roles a schema requires. A temperature-test report is co-signed by
/// its performer and a witness; everything else by the technician who did it
/// (a customer sign-off by the technician who presented it). Unknown schemas
/// require nothing here (they are flagged `unknown_schema` instead).
pub fn required_roles(schema_name: &str) -> &'static [SignerRole] {
    match schema_name {
        schema::TEMPERATURE_TEST => &[SignerRole::Performer, SignerRole::Witness],
        schema::VISIT_STEP
        | schema::VISIT_OUTCOME
        | schema::TEMPERATURE_READING
        | schema::CUSTOMER_SIGNOFF
        | schema::WORK_ORDER_LOCAL
        | schema::VOID
        | schema::LATE_NOTICE
        | schema::ORDER_ACCEPTED => &[SignerRole::Performer],
        _ => &[],
    }
}

/// The signer flags a record earns, sorted; empty when its signers are whole.
///
/// - `required_signer_missing`: a required role is not listed, or a listed
///   signer (required or not) has no signature in `tech_sigs`;
/// - `signer_repeated`: two required roles name the same technician or the
///   same key, or one role is listed twice.
pub fn signer_flags(content: &Content, tech_sigs: &[TechSignature]) -> Vec<&'static str> {
    let mut out = Vec::new();
    let required = required_roles(&content.schema);
    let signed = |role: SignerRole, kid: &str| tech_sigs.iter().any(|t| t.role == role && t.kid == kid);
    let missing_role = required.iter().any(|role| !content.signers.iter().any(|s| s.role == *role));
    let unsigned = content.signers.iter().any(|s| !signed(s.role, &s.kid));
    if missing_role || unsigned {
        out.push(flags::REQUIRED_SIGNER_MISSING);
    }
    let listed: Vec<_> = content.signers.iter().filter(|s| required.contains(&s.role)).collect();
    let repeated = listed.iter().enumerate().any(|(i, a)| {
        listed[..i].iter().any(|b| a.role == b.role || a.tech_id == b.tech_id || a.kid == b.kid)
    });
    if repeated {
        out.push(flags::SIGNER_REPEATED);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{Created, Signer};

    fn content(schema_name: &str, signers: &[(SignerRole, &str, &str)]) -> Content {
        Content {
            schema: schema_name.to_owned(),
            record_id: "01900000-0000-7000-8000-000000000000".into(),
            work_order_id: None,
            created: Created {
                device_time_ms: 0,
                tz_offset_min: 480,
                boot_id: "b".into(),
                monotonic_ms: 0,
                last_server_time_ms: None,
            },
            signers: signers
                .iter()
                .map(|(role, tech, kid)| Signer { role: *role, tech_id: (*tech).into(), kid: (*kid).into() })
                .collect(),
            supersedes: None,
            attachments: vec![],
            refs: vec![],
            data: serde_json::Map::new(),
        }
    }

    fn sigs(c: &Content) -> Vec<TechSignature> {
        c.signers
            .iter()
            .map(|s| TechSignature {
                role: s.role,
                tech_id: s.tech_id.clone(),
                kid: s.kid.clone(),
                sig: String::new(),
            })
            .collect()
    }

    use SignerRole::{Performer, Supervisor, Witness};

    #[test]
    fn a_report_needs_a_performer_and_a_witness_who_are_two_people() {
        let ok = content(schema::TEMPERATURE_TEST, &[(Performer, "T1", "k1"), (Witness, "T2", "k2")]);
        assert!(signer_flags(&ok, &sigs(&ok)).is_empty());

        let nobody = content(schema::TEMPERATURE_TEST, &[]);
        assert_eq!(signer_flags(&nobody, &[]), [flags::REQUIRED_SIGNER_MISSING]);

        let no_witness = content(schema::TEMPERATURE_TEST, &[(Performer, "T1", "k1")]);
        assert_eq!(signer_flags(&no_witness, &sigs(&no_witness)), [flags::REQUIRED_SIGNER_MISSING]);

        let one_person = content(schema::TEMPERATURE_TEST, &[(Performer, "T1", "k1"), (Witness, "T1", "k1")]);
        assert_eq!(signer_flags(&one_person, &sigs(&one_person)), [flags::SIGNER_REPEATED]);

        let one_key = content(schema::TEMPERATURE_TEST, &[(Performer, "T1", "k1"), (Witness, "T2", "k1")]);
        assert_eq!(signer_flags(&one_key, &sigs(&one_key)), [flags::SIGNER_REPEATED]);
    }

    #[test]
    fn a_listed_signer_who_did_not_sign_is_missing() {
        let c = content(schema::TEMPERATURE_TEST, &[(Performer, "T1", "k1"), (Witness, "T2", "k2")]);
        let only_performer = &sigs(&c)[..1];
        assert_eq!(signer_flags(&c, only_performer), [flags::REQUIRED_SIGNER_MISSING]);
        let with_supervisor =
            content(schema::VISIT_STEP, &[(Performer, "T1", "k1"), (Supervisor, "T9", "k9")]);
        assert_eq!(
            signer_flags(&with_supervisor, &sigs(&with_supervisor)[..1]),
            [flags::REQUIRED_SIGNER_MISSING]
        );
    }

    #[test]
    fn every_known_schema_needs_its_performer() {
        for name in schema::KNOWN {
            let none = content(name, &[]);
            assert_eq!(signer_flags(&none, &[]), [flags::REQUIRED_SIGNER_MISSING], "{name}");
            assert!(required_roles(name).contains(&Performer), "{name}");
        }
        assert!(signer_flags(&content("hearth.future/1", &[]), &[]).is_empty());
    }
}
