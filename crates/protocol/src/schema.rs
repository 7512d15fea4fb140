//! The `hearth.*` schemas of record content (§3.1).

pub const VISIT_STEP: &str = "hearth.visit_step/1";
pub const VISIT_OUTCOME: &str = "hearth.visit_outcome/1";
pub const TEMPERATURE_READING: &str = "hearth.temperature_reading/1";
pub const TEMPERATURE_TEST: &str = "hearth.temperature_test/1";
pub const CUSTOMER_SIGNOFF: &str = "hearth.customer_signoff/1";
pub const WORK_ORDER_LOCAL: &str = "hearth.work_order_local/1";
pub const VOID: &str = "hearth.void/1";
/// The customer was told the technician will be late (who, when, new arrival time).
pub const LATE_NOTICE: &str = "hearth.late_notice/1";
/// The technician accepted the order dispatch passed on (data: `accepted_at`).
pub const ORDER_ACCEPTED: &str = "hearth.order_accepted/1";

/// Every schema this version of the protocol knows; others are `needs_review`.
pub const KNOWN: &[&str] = &[
    VISIT_STEP,
    VISIT_OUTCOME,
    TEMPERATURE_READING,
    TEMPERATURE_TEST,
    CUSTOMER_SIGNOFF,
    WORK_ORDER_LOCAL,
    VOID,
    LATE_NOTICE,
    ORDER_ACCEPTED,
];
