//! Today counts what the tablet itself sealed, before the office's feed
//! brings it back: an arrival meets "on site", a reading meets "testers on
//! site", a resolved visit or a signed report leaves no deadline open.

mod common;

use common::*;
use hearth_domain::*;
use hearth_tablet::SignoffInput;

fn next_deadline(f: &Fixture, id: &str) -> Option<DeadlineKind> {
    f.app.work_order(id).unwrap().next_deadline.map(|d| d.kind)
}

#[test]
fn an_arrival_meets_on_site_and_a_resolved_visit_leaves_nothing_open() {
    let f = signed_in();
    assert_eq!(next_deadline(&f, REPAIR), Some(DeadlineKind::Accepted), "nothing done yet: accept it (接单)");
    let accepted = f.app.accept_order(REPAIR).unwrap();
    assert!(accepted.order.milestones.accepted_at.is_some());
    assert_eq!(code(f.app.accept_order(REPAIR)), "already_accepted");
    assert_eq!(next_deadline(&f, REPAIR), Some(DeadlineKind::Contact), "accepted by the tablet's own record");
    f.app.complete_step(REPAIR, appointment()).unwrap();
    assert_eq!(next_deadline(&f, REPAIR), Some(DeadlineKind::OnSite), "contact met by the appointment step");
    f.app.complete_step(REPAIR, arrival(vec![])).unwrap();
    assert_eq!(next_deadline(&f, REPAIR), Some(DeadlineKind::Fixed), "on site met by the arrival");
    let rest = rest_of_visit();
    for e in rest {
        f.app.complete_step(REPAIR, e).unwrap();
    }
    f.app.customer_signoff(REPAIR, SignoffInput::Refused { reason: "不满意".into() }).unwrap();
    f.app.conclude_visit(REPAIR, VisitOutcome::Resolved).unwrap();
    assert_eq!(next_deadline(&f, REPAIR), None, "fixed met by the resolved outcome");
    let today = f.app.today("").unwrap();
    assert_eq!(
        today.last().unwrap().order.id.as_str(),
        REPAIR,
        "a finished order goes to the end of the list"
    );
}

#[test]
fn a_reading_meets_testers_on_site_and_the_signed_report_completes_the_test() {
    let f = signed_in();
    f.app.accept_order(TEST).unwrap();
    assert_eq!(next_deadline(&f, TEST), Some(DeadlineKind::TestersOnSite));
    f.app.start_temperature_test(TEST, WITNESS, WITNESS_PIN, GOOD_THERMOMETER).unwrap();
    f.app.add_reading(TEST, reading(RoomKind::LivingRoom, "客厅", "17.2")).unwrap();
    assert_ne!(next_deadline(&f, TEST), Some(DeadlineKind::TestersOnSite), "the testers are in the home");
    f.app.sign_report(TEST, PERFORMER_PIN, WITNESS_PIN, None).unwrap();
    assert_eq!(next_deadline(&f, TEST), None, "the co-signed report completes the test");
}
