//! Builders shared by the integration tests. Each test file uses a subset.
#![allow(dead_code)]

use chrono::{DateTime, FixedOffset, NaiveDate, TimeZone, Utc};
use hearth_domain::{
    Address, Appointment, Customer, TechnicianId, TestId, WorkOrder, WorkOrderCategory, WorkOrderId,
};

/// 2025-01-10 at `h:m` UTC.
pub fn utc(h: u32, m: u32) -> DateTime<Utc> {
    utc_on(10, h, m)
}

/// 2025-01-`day` at `h:m` UTC.
pub fn utc_on(day: u32, h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 1, day, h, m, 0).single().expect("valid test date")
}

pub fn offset_hours(hours: i32) -> FixedOffset {
    FixedOffset::east_opt(hours * 3600).expect("valid offset")
}

/// 2025-01-`day` at local `h:m:s` in UTC+`offset`.
pub fn local(offset: i32, day: u32, h: u32, m: u32, s: u32) -> DateTime<FixedOffset> {
    offset_hours(offset).with_ymd_and_hms(2025, 1, day, h, m, s).single().expect("valid local test time")
}

/// China Standard Time on 2025-01-10.
pub fn beijing(h: u32, m: u32) -> DateTime<FixedOffset> {
    local(8, 10, h, m, 0)
}

pub fn date(month: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, month, day).expect("valid date")
}

/// A distinct, valid SHA-256 hex string per `n`.
pub fn sha(n: u8) -> String {
    format!("{n:02x}").repeat(32)
}

pub fn tech(id: &str) -> TechnicianId {
    TechnicianId::parse(id).expect("valid technician id")
}

pub fn test_id(id: &str) -> TestId {
    TestId::parse(id).expect("valid test id")
}

pub fn order_id(id: &str) -> WorkOrderId {
    WorkOrderId::parse(id).expect("valid order id")
}

pub fn appointment(start: DateTime<Utc>, end: DateTime<Utc>) -> Appointment {
    Appointment::new(start, end).expect("valid appointment")
}

pub fn customer() -> Customer {
    let address = Address::new("阳光小区", "3号楼", "2单元", "501").expect("valid address");
    Customer::new("张三", "13800138000", address).expect("valid customer")
}

/// An order of `category` received 2025-01-10 08:00 UTC.
pub fn order(category: WorkOrderCategory) -> WorkOrder {
    WorkOrder::new("WO-0001", category, customer(), "暖气不热", utc(8, 0)).expect("valid order")
}
