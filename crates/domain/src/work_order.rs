//! Work orders (工单 / 派工单): who the customer is, what is wrong, when the
//! visit is agreed, and the milestones the deadlines are measured against.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::value::{CustomerName, NonEmptyText, Phone, TechnicianId, ValueError, WorkOrderId};

/// Why a work order or one of its parts was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WorkOrderError {
    /// `field` names the part, e.g. `customer.phone`; the message never
    /// repeats the value (it may be private).
    #[error("invalid {field}: {source}")]
    InvalidField { field: &'static str, source: ValueError },
    #[error("the appointment ends ({end}) before it starts ({start})")]
    AppointmentEndsBeforeStart { start: DateTime<Utc>, end: DateTime<Utc> },
}

impl WorkOrderError {
    /// A stable machine-readable code for the UI and HTTP boundaries.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidField { .. } => "invalid_work_order_field",
            Self::AppointmentEndsBeforeStart { .. } => "appointment_ends_before_start",
        }
    }
}

fn field<T>(name: &'static str, result: Result<T, ValueError>) -> Result<T, WorkOrderError> {
    result.map_err(|source| WorkOrderError::InvalidField { field: name, source })
}

/// What kind of job the order is; it decides which deadlines apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum WorkOrderCategory {
    /// 维修
    Repair,
    /// 跑冒滴漏 / 漏水
    Leak,
    /// 测温
    TemperatureTest,
    /// 开阀
    ValveOpen,
    /// 关阀 / 报停
    ValveClose,
    /// 抄表 / 校验
    MeterCheck,
    /// 投诉: answered within a number of working days, not visited on a clock.
    Complaint,
    /// 管网爆管 / 阀门漏水 (a burst on the network, not in a home): on site fast.
    NetworkBurst,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    #[default]
    Normal,
    Urgent,
}

/// Where the home is: 小区 / 楼 / 单元 / 室. Every part is required.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Address {
    pub community: NonEmptyText,
    pub building: NonEmptyText,
    pub unit: NonEmptyText,
    pub room: NonEmptyText,
}

impl Address {
    pub fn new(community: &str, building: &str, unit: &str, room: &str) -> Result<Self, WorkOrderError> {
        Ok(Self {
            community: field("address.community", NonEmptyText::parse(community))?,
            building: field("address.building", NonEmptyText::parse(building))?,
            unit: field("address.unit", NonEmptyText::parse(unit))?,
            room: field("address.room", NonEmptyText::parse(room))?,
        })
    }

    /// The address folded for comparison ("the same home"): no whitespace
    /// (ASCII or the ideographic space), full-width ASCII forms as
    /// half-width, ASCII lower case; the four parts joined by a separator
    /// that cannot occur in them.
    pub fn key(&self) -> String {
        fn fold(text: &str) -> String {
            text.chars()
                .filter(|c| !c.is_whitespace())
                .map(|c| match c {
                    '\u{FF01}'..='\u{FF5E}' => char::from_u32(u32::from(c) - 0xFEE0).unwrap_or(c),
                    _ => c,
                })
                .map(|c| c.to_ascii_lowercase())
                .collect()
        }
        [&self.community, &self.building, &self.unit, &self.room].map(|p| fold(p.as_str())).join("\u{1f}")
    }
}

/// `WO-YYYYMMDD-NNNN`: the next number for `date` (company-local) after the
/// ids already taken; ids of another shape are ignored.
pub fn next_work_order_id<'a>(date: chrono::NaiveDate, taken: impl IntoIterator<Item = &'a str>) -> String {
    let prefix = format!("WO-{}-", date.format("%Y%m%d"));
    let highest = taken
        .into_iter()
        .filter_map(|id| id.strip_prefix(&prefix))
        .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
        .filter_map(|n| n.parse::<u64>().ok())
        .max()
        .unwrap_or(0);
    format!("{prefix}{:04}", highest.saturating_add(1))
}

impl Milestones {
    /// Whether a claim of `milestone` at `at` counts: an acceptance counts
    /// only for the latest dispatch (one made before a reassignment was
    /// another technician's). Every other claim counts.
    pub fn counts(&self, milestone: crate::evidence::Milestone, at: DateTime<Utc>) -> bool {
        match milestone {
            crate::evidence::Milestone::AcceptedAt => self.dispatched_at.is_none_or(|d| at >= d),
            _ => true,
        }
    }
}

/// The heat user. Name and phone are private: `Debug` redacts them.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Customer {
    pub name: CustomerName,
    pub phone: Phone,
    pub address: Address,
}

impl Customer {
    pub fn new(name: &str, phone: &str, address: Address) -> Result<Self, WorkOrderError> {
        Ok(Self {
            name: field("customer.name", CustomerName::parse(name))?,
            phone: field("customer.phone", Phone::parse(phone))?,
            address,
        })
    }
}

impl fmt::Debug for Customer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Written out by hand so that a new private field cannot appear in
        // logs just by being added to the struct.
        f.debug_struct("Customer")
            .field("name", &"<redacted>")
            .field("phone", &"<redacted>")
            .field("address", &self.address)
            .finish()
    }
}

/// An agreed visit window. `start == end` is a visit agreed for one instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(try_from = "AppointmentData")]
pub struct Appointment {
    start: DateTime<Utc>,
    end: DateTime<Utc>,
}

#[derive(Deserialize)]
struct AppointmentData {
    start: DateTime<Utc>,
    end: DateTime<Utc>,
}

impl TryFrom<AppointmentData> for Appointment {
    type Error = WorkOrderError;
    fn try_from(data: AppointmentData) -> Result<Self, Self::Error> {
        Self::new(data.start, data.end)
    }
}

impl Appointment {
    pub fn new(start: DateTime<Utc>, end: DateTime<Utc>) -> Result<Self, WorkOrderError> {
        if end < start {
            return Err(WorkOrderError::AppointmentEndsBeforeStart { start, end });
        }
        Ok(Self { start, end })
    }

    pub fn start(&self) -> DateTime<Utc> {
        self.start
    }

    pub fn end(&self) -> DateTime<Utc> {
        self.end
    }
}

/// The moments the deadlines are measured against, each recorded when it
/// happens. Absent means "not yet".
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Milestones {
    /// When dispatch last passed the order on to its technicians (派单):
    /// the acceptance deadline counts from here, and a reassignment
    /// restarts it. Absent: counted from receipt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dispatched_at: Option<DateTime<Utc>>,
    /// The technician accepted the order dispatch passed on (接单).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accepted_at: Option<DateTime<Utc>>,
    /// The customer was contacted (phone call) about the order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contacted_at: Option<DateTime<Utc>>,
    /// A technician (or, for a temperature test, the two testers) reached the home.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_site_at: Option<DateTime<Utc>>,
    /// The fault was fixed / the job completed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<DateTime<Utc>>,
    /// Customer service made the follow-up call (回访).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub follow_up_at: Option<DateTime<Utc>>,
    /// The customer was told the technician will be late.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub late_notice_at: Option<DateTime<Utc>>,
    /// The technician has declared they will miss the appointment; this makes
    /// the late-notice deadline apply before the lateness itself shows.
    #[serde(default)]
    pub running_late: bool,
}

/// A work order as customer service issued it, plus its milestones.
///
/// Every field holds an already validated value, so a `WorkOrder` built
/// field by field or deserialised is as valid as one from [`WorkOrder::new`].
/// Not required: technicians (an order may be unassigned, e.g. the automatic
/// valve-open order made by the payment system) and a fault description
/// (that same order has none).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct WorkOrder {
    pub id: WorkOrderId,
    pub category: WorkOrderCategory,
    #[serde(default)]
    pub priority: Priority,
    pub customer: Customer,
    #[serde(default)]
    pub fault_description: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub equipment_type: Option<NonEmptyText>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub appointment: Option<Appointment>,
    pub received_at: DateTime<Utc>,
    #[serde(default)]
    pub assigned_technicians: Vec<TechnicianId>,
    #[serde(default)]
    pub milestones: Milestones,
}

impl WorkOrder {
    /// A new, unassigned order without appointment or milestones; set the
    /// public fields for the rest.
    pub fn new(
        id: &str,
        category: WorkOrderCategory,
        customer: Customer,
        fault_description: &str,
        received_at: DateTime<Utc>,
    ) -> Result<Self, WorkOrderError> {
        Ok(Self {
            id: field("id", WorkOrderId::parse(id))?,
            category,
            priority: Priority::Normal,
            customer,
            fault_description: fault_description.trim().to_owned(),
            equipment_type: None,
            appointment: None,
            received_at,
            assigned_technicians: Vec::new(),
            milestones: Milestones::default(),
        })
    }

    /// Assigns a technician once; assigning the same person again changes nothing.
    pub fn assign(&mut self, technician: TechnicianId) {
        if !self.assigned_technicians.contains(&technician) {
            self.assigned_technicians.push(technician);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_compare_without_spaces_width_or_case() {
        let a = Address::new("幸福小区", "3号楼", "2单元", "301").unwrap_or_else(|e| panic!("{e}"));
        let b = Address::new("幸福 小区", "３号楼", "2单元", "301").unwrap_or_else(|e| panic!("{e}"));
        let c = Address::new("幸福小区", "3号楼", "2单元", "302").unwrap_or_else(|e| panic!("{e}"));
        let d = Address::new("Xingfu", "B3", "U2", "301").unwrap_or_else(|e| panic!("{e}"));
        let e = Address::new("xingfu", "b3", "u2", "301").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(a.key(), b.key());
        assert_ne!(a.key(), c.key());
        assert_eq!(d.key(), e.key());
    }

    #[test]
    fn work_order_ids_count_up_per_date() {
        let date = chrono::NaiveDate::from_ymd_opt(2025, 1, 10).unwrap_or_default();
        assert_eq!(next_work_order_id(date, []), "WO-20250110-0001");
        let taken = ["WO-20250110-0001", "WO-20250110-0007", "WO-20250109-0042", "WO-20250110-x", "custom"];
        assert_eq!(next_work_order_id(date, taken), "WO-20250110-0008");
    }
}
