//! The `needs_review` flags a receipt can carry (§5, §10.6). They are part
//! of the receipt contract: the tablet shows them to the technician and the
//! office's review queue is built from them, so their names never change.

/// The tablet's device key was revoked at or before the entry arrived.
pub const DEVICE_KEY_REVOKED: &str = "device_key_revoked";
/// A signer's technician key was revoked at or before the entry arrived.
pub const TECHNICIAN_KEY_REVOKED: &str = "technician_key_revoked";
/// A role the schema requires is not listed in `signers`, or is listed but
/// not signed (§10.4, "Who must sign").
pub const REQUIRED_SIGNER_MISSING: &str = "required_signer_missing";
/// One technician (or one key) holds two roles that must be two people.
pub const SIGNER_REPEATED: &str = "signer_repeated";
pub const UNKNOWN_SCHEMA: &str = "unknown_schema";
pub const UNKNOWN_WORK_ORDER: &str = "unknown_work_order";
/// A signer is not among the technicians the work order is assigned to.
pub const NOT_ASSIGNED: &str = "not_assigned";
pub const CLOCK_SUSPECT: &str = "clock_suspect";
pub const UNBOUND_REFERENCE: &str = "unbound_reference";
pub const INVALID_DATA: &str = "invalid_data";
pub const UNKNOWN_THERMOMETER: &str = "unknown_thermometer";
/// The readings a report binds are not exactly its test's sealed readings
/// (a count, a test id, a thermometer or a work order that differs).
pub const REPORT_READINGS_MISMATCH: &str = "report_readings_mismatch";
/// The server's verdict, judged from the sealed readings by its own rules,
/// differs from the verdict the report states.
pub const VERDICT_MISMATCH: &str = "verdict_mismatch";
/// A reading the report binds is itself flagged: the report needs the same review.
pub const READING_FLAGGED: &str = "reading_flagged";
