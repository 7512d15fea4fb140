mod common;

use common::{appointment, customer, order, tech, utc};
use hearth_domain::{
    Address, Appointment, Customer, ValueError, WorkOrder, WorkOrderCategory, WorkOrderError,
};

#[test]
fn a_valid_order_is_built_unassigned_and_without_milestones() {
    let order = order(WorkOrderCategory::Repair);
    assert_eq!(order.id.as_str(), "WO-0001");
    assert!(order.assigned_technicians.is_empty());
    assert_eq!(order.milestones, Default::default());
    assert_eq!(order.customer.address.room.as_str(), "501");
}

#[test]
fn an_empty_order_id_is_refused_and_named() {
    let result = WorkOrder::new("", WorkOrderCategory::Leak, customer(), "", utc(8, 0));
    assert_eq!(
        result.err(),
        Some(WorkOrderError::InvalidField { field: "id", source: ValueError::InvalidId })
    );
}

#[test]
fn every_address_part_is_required() {
    let cases = [
        (["", "3", "2", "501"], "address.community"),
        (["小区", " ", "2", "501"], "address.building"),
        (["小区", "3", "", "501"], "address.unit"),
        (["小区", "3", "2", "\t"], "address.room"),
    ];
    for ([community, building, unit, room], field) in cases {
        assert_eq!(
            Address::new(community, building, unit, room).err(),
            Some(WorkOrderError::InvalidField { field, source: ValueError::Empty }),
            "{field} left empty must be refused"
        );
    }
}

#[test]
fn a_customer_needs_a_name_and_a_plausible_phone() {
    let address = customer().address;
    assert_eq!(
        Customer::new(" ", "13800138000", address.clone()).err(),
        Some(WorkOrderError::InvalidField { field: "customer.name", source: ValueError::Empty })
    );
    assert_eq!(
        Customer::new("李四", "call me", address).err(),
        Some(WorkOrderError::InvalidField { field: "customer.phone", source: ValueError::InvalidPhone })
    );
}

#[test]
fn debug_output_of_an_order_never_shows_the_customers_name_or_phone() {
    let order = order(WorkOrderCategory::Repair);
    let debug = format!("{order:?}");
    assert!(!debug.contains("张三"), "name leaked: {debug}");
    assert!(!debug.contains("13800138000"), "phone leaked: {debug}");
    assert!(debug.contains("<redacted>"));
    // The address stays visible: technicians need it to find the home.
    assert!(debug.contains("阳光小区"));
}

#[test]
fn error_messages_do_not_repeat_a_refused_phone_number() {
    let err = Customer::new("李四", "138-0013-800x", customer().address).err();
    let message = err.map(|e| e.to_string()).unwrap_or_default();
    assert!(message.contains("customer.phone"));
    assert!(!message.contains("138-0013-800x"), "{message}");
}

#[test]
fn an_appointment_cannot_end_before_it_starts() {
    assert_eq!(
        Appointment::new(utc(10, 0), utc(9, 0)).err(),
        Some(WorkOrderError::AppointmentEndsBeforeStart { start: utc(10, 0), end: utc(9, 0) })
    );
    assert!(Appointment::new(utc(10, 0), utc(10, 0)).is_ok());
}

#[test]
fn assigning_the_same_technician_twice_keeps_one_entry() {
    let mut order = order(WorkOrderCategory::Repair);
    order.assign(tech("T0017"));
    order.assign(tech("T0018"));
    order.assign(tech("T0017"));
    assert_eq!(order.assigned_technicians, vec![tech("T0017"), tech("T0018")]);
}

#[test]
fn an_order_survives_a_json_round_trip_and_omits_absent_milestones() {
    let mut order = order(WorkOrderCategory::TemperatureTest);
    order.appointment = Some(appointment(utc(14, 0), utc(15, 0)));
    order.milestones.contacted_at = Some(utc(8, 10));
    let json = serde_json::to_string(&order).expect("serialises");
    assert!(json.contains(r#""category":"temperature_test""#), "{json}");
    assert!(json.contains(r#""name":"张三""#), "records keep the name: {json}");
    assert!(!json.contains("null"), "no nulls in records: {json}");
    assert!(!json.contains("on_site_at"), "{json}");
    let back: WorkOrder = serde_json::from_str(&json).expect("deserialises");
    assert_eq!(back, order);
}

#[test]
fn deserialising_an_order_with_an_invalid_phone_fails() {
    let order = order(WorkOrderCategory::Repair);
    let json = serde_json::to_string(&order).expect("serialises").replace("13800138000", "12");
    assert!(serde_json::from_str::<WorkOrder>(&json).is_err());
}

#[test]
fn deserialising_an_appointment_that_ends_before_it_starts_fails() {
    let json = r#"{"start":"2025-01-10T10:00:00Z","end":"2025-01-10T09:00:00Z"}"#;
    assert!(serde_json::from_str::<Appointment>(json).is_err());
}
