//! `hearth-server demo`: a believable day at a heating company — the rule
//! set, a team of technicians, certified thermometers (one out of date),
//! and work orders of every category across three communities, some done,
//! some open, some late. Running it twice changes nothing the second time.

use chrono::{DateTime, Duration, TimeZone, Utc};
use hearth_domain::{
    Address, Appointment, Customer, Priority, RuleSet, TechnicianId, WorkOrder, WorkOrderCategory as C,
};
use serde_json::json;

use crate::admin::{self, AdminError};
use crate::office::access::Role;
use crate::storage::{PutSnapshot, Scope, SnapshotKind, Storage, StorageError};

const TECHNICIANS: &[(&str, &str, &str)] = &[
    ("T0017", "王建国", "13803510017"),
    ("T0023", "李秀英", "13803510023"),
    ("T0031", "张伟", "13903510031"),
    ("T0042", "刘洋", "13903510042"),
    ("T0056", "陈静", "13603510056"),
    ("T0068", "赵磊", "13603510068"),
];

const THERMOMETERS: &[(&str, &str, &str)] = &[
    ("TM-2291", "JJG-2026-0457", "2027-06-30"),
    ("TM-2305", "JJG-2026-0512", "2027-03-31"),
    // Out of calibration: the app must refuse it.
    ("TM-1987", "JJG-2025-0133", "2026-10-31"),
];

struct Order {
    id: &'static str,
    category: C,
    urgent: bool,
    customer: (&'static str, &'static str),
    address: (&'static str, &'static str, &'static str, &'static str),
    fault: &'static str,
    /// Minutes before now the call came in.
    received_ago: i64,
    /// Appointment start, minutes from now (negative: in the past).
    appointment_in: Option<i64>,
    technicians: &'static [&'static str],
    /// Minutes after receipt: contacted, on site, completed.
    contacted: Option<i64>,
    on_site: Option<i64>,
    completed: Option<i64>,
}

const ORDERS: &[Order] = &[
    Order {
        id: "WO-DEMO-0001",
        category: C::TemperatureTest,
        urgent: false,
        customer: ("孙丽华", "13935100001"),
        address: ("阳光花园", "3号楼", "2单元", "501"),
        fault: "客厅温度低，白天只有十六七度，要求入户测温",
        received_ago: 300,
        appointment_in: Some(60),
        technicians: &["T0017", "T0023"],
        contacted: Some(20),
        on_site: None,
        completed: None,
    },
    Order {
        id: "WO-DEMO-0002",
        category: C::Leak,
        urgent: true,
        customer: ("周强", "13935100002"),
        address: ("阳光花园", "5号楼", "1单元", "102"),
        fault: "厨房暖气片阀门漏水，地面有积水",
        received_ago: 25,
        appointment_in: None,
        technicians: &["T0031"],
        contacted: Some(3),
        on_site: None,
        completed: None,
    },
    Order {
        id: "WO-DEMO-0003",
        category: C::Repair,
        urgent: false,
        customer: ("吴敏", "13935100003"),
        address: ("锦绣华庭", "12号楼", "3单元", "1202"),
        fault: "主卧暖气片上热下凉，怀疑堵塞",
        received_ago: 180,
        appointment_in: Some(-30),
        technicians: &["T0042"],
        contacted: Some(15),
        on_site: Some(100),
        completed: None,
    },
    Order {
        id: "WO-DEMO-0004",
        category: C::ValveOpen,
        urgent: false,
        customer: ("郑海", "13935100004"),
        address: ("和平里小区", "8号楼", "1单元", "301"),
        fault: "已缴费，申请开阀供热",
        received_ago: 60 * 26,
        appointment_in: None,
        technicians: &["T0056"],
        contacted: Some(10),
        on_site: Some(70),
        completed: Some(95),
    },
    Order {
        id: "WO-DEMO-0005",
        category: C::ValveClose,
        urgent: false,
        customer: ("冯雪", "13935100005"),
        address: ("和平里小区", "2号楼", "4单元", "602"),
        fault: "房屋空置，申请报停关阀",
        received_ago: 60 * 5,
        appointment_in: Some(120),
        technicians: &["T0056"],
        contacted: Some(40),
        on_site: None,
        completed: None,
    },
    Order {
        id: "WO-DEMO-0006",
        category: C::MeterCheck,
        urgent: false,
        customer: ("蒋涛", "13935100006"),
        address: ("锦绣华庭", "6号楼", "2单元", "801"),
        fault: "热量表读数异常，申请校验",
        received_ago: 60 * 30,
        appointment_in: Some(-60 * 6),
        technicians: &["T0068"],
        contacted: Some(25),
        on_site: Some(200),
        completed: Some(260),
    },
    Order {
        id: "WO-DEMO-0007",
        category: C::Repair,
        urgent: false,
        customer: ("韩梅", "13935100007"),
        address: ("阳光花园", "3号楼", "2单元", "502"),
        fault: "卫生间暖气片放风阀损坏",
        received_ago: 60 * 60,
        appointment_in: None,
        technicians: &["T0031"],
        contacted: Some(12),
        on_site: Some(90),
        completed: Some(180),
    },
    Order {
        id: "WO-DEMO-0008",
        category: C::Repair,
        urgent: false,
        customer: ("韩梅", "13935100007"),
        address: ("阳光花园", "3号楼", "2单元", "502"),
        fault: "放风阀更换后再次漏水",
        received_ago: 90,
        appointment_in: Some(45),
        technicians: &["T0031"],
        contacted: Some(10),
        on_site: None,
        completed: None,
    },
    Order {
        id: "WO-DEMO-0009",
        category: C::TemperatureTest,
        urgent: false,
        customer: ("曹宇", "13935100009"),
        address: ("锦绣华庭", "1号楼", "1单元", "101"),
        fault: "底层山墙户，卧室温度低",
        received_ago: 60 * 20,
        appointment_in: Some(-60 * 2),
        technicians: &["T0042", "T0068"],
        contacted: Some(30),
        on_site: Some(60 * 18),
        completed: None,
    },
    Order {
        id: "WO-DEMO-0010",
        category: C::Leak,
        urgent: true,
        customer: ("邓刚", "13935100010"),
        address: ("和平里小区", "8号楼", "3单元", "402"),
        fault: "楼道立管接口滴水",
        received_ago: 95,
        appointment_in: None,
        technicians: &["T0017"],
        contacted: Some(5),
        on_site: Some(45),
        completed: Some(80),
    },
    Order {
        id: "WO-DEMO-0011",
        category: C::Repair,
        urgent: false,
        customer: ("许静", "13935100011"),
        address: ("和平里小区", "5号楼", "2单元", "201"),
        fault: "地暖分水器一路不热",
        received_ago: 40,
        appointment_in: None,
        technicians: &[],
        contacted: None,
        on_site: None,
        completed: None,
    },
    Order {
        id: "WO-DEMO-0012",
        category: C::Repair,
        urgent: false,
        customer: ("彭飞", "13935100012"),
        address: ("锦绣华庭", "9号楼", "1单元", "1501"),
        fault: "顶层户暖气片不热",
        received_ago: 60 * 52,
        appointment_in: None,
        technicians: &["T0042"],
        contacted: Some(20),
        on_site: Some(110),
        completed: Some(300),
    },
];

fn order(o: &Order, now: DateTime<Utc>) -> Result<WorkOrder, AdminError> {
    let invalid = |e: hearth_domain::WorkOrderError| AdminError::Invalid(e.to_string());
    let address = Address::new(o.address.0, o.address.1, o.address.2, o.address.3).map_err(invalid)?;
    let customer = Customer::new(o.customer.0, o.customer.1, address).map_err(invalid)?;
    let received = now - Duration::minutes(o.received_ago);
    let mut wo = WorkOrder::new(o.id, o.category, customer, o.fault, received).map_err(invalid)?;
    if o.urgent {
        wo.priority = Priority::Urgent;
    }
    if let Some(start) = o.appointment_in {
        let start = now + Duration::minutes(start);
        wo.appointment = Some(Appointment::new(start, start + Duration::minutes(60)).map_err(invalid)?);
    }
    for t in o.technicians {
        wo.assign(TechnicianId::parse(t).map_err(|e| AdminError::Invalid(e.to_string()))?);
    }
    let at = |m: Option<i64>| m.map(|m| received + Duration::minutes(m));
    // An order already under way was accepted by its technician a few minutes in.
    if o.contacted.is_some() || o.on_site.is_some() || o.completed.is_some() {
        wo.milestones.accepted_at = at(Some(3));
    }
    wo.milestones.contacted_at = at(o.contacted);
    wo.milestones.on_site_at = at(o.on_site);
    wo.milestones.completed_at = at(o.completed);
    Ok(wo)
}

/// The demo's heating company and its service hotline.
const DEMO_COMPANY: (&str, &str) = ("阳泉市热力有限公司", "0353-2021234");

async fn put_once(storage: &dyn Storage, put: PutSnapshot) -> Result<bool, AdminError> {
    match storage.put_snapshot(PutSnapshot { expected_rev: Some(0), ..put }).await {
        Ok(_) => Ok(true),
        Err(StorageError::StaleRevision { .. }) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// The demo's operator accounts, one per role: `(username, name, role, password)`.
/// The passwords are public (docs/operations.md); never use them on real data.
pub const ACCOUNTS: &[(&str, &str, Role, &str)] = &[
    ("dispatcher", "王调度", Role::Dispatcher, "demo-dispatcher"),
    ("service", "李客服", Role::CustomerService, "demo-service-1"),
    ("reviewer", "赵审核", Role::Reviewer, "demo-reviewer"),
    ("manager", "陈经理", Role::Manager, "demo-manager-1"),
    ("admin", "系统管理员", Role::Admin, "demo-admin-01"),
];

/// Fills `storage` and says what it added: the accounts' logins, one a
/// line, then the summary as the last line.
pub async fn fill(storage: &dyn Storage, now_ms: i64) -> Result<String, AdminError> {
    let now = Utc.timestamp_millis_opt(now_ms).single().ok_or_else(|| AdminError::Invalid("clock".into()))?;
    let company =
        hearth_domain::CompanyProfile { name: DEMO_COMPANY.0.into(), hotline: DEMO_COMPANY.1.into() };
    let rules = serde_json::to_value(RuleSet::default().with_company(company))
        .map_err(|e| AdminError::Invalid(e.to_string()))?;
    put_once(
        storage,
        PutSnapshot {
            kind: SnapshotKind::RuleSet,
            id: "company".into(),
            body: rules,
            scope: Scope::default(),
            expected_rev: None,
            now_ms,
        },
    )
    .await?;
    let mut added = 0;
    for (id, name, phone) in TECHNICIANS {
        if storage.snapshot(SnapshotKind::Technician, id).await?.is_none() {
            admin::technician_add(storage, id, name, phone, now_ms).await?;
            added += 1;
        }
    }
    for (serial, cert, until) in THERMOMETERS {
        if storage.snapshot(SnapshotKind::Thermometer, serial).await?.is_none() {
            admin::thermometer_add(storage, serial, cert, until, now_ms).await?;
            added += 1;
        }
    }
    for o in ORDERS {
        let wo = order(o, now)?;
        let scope =
            Scope { technicians: o.technicians.iter().map(|t| (*t).to_owned()).collect(), device_id: None };
        let body = json!({"order": wo, "status": "open"});
        if put_once(
            storage,
            PutSnapshot {
                kind: SnapshotKind::WorkOrder,
                id: o.id.into(),
                body,
                scope,
                expected_rev: None,
                now_ms,
            },
        )
        .await?
        {
            added += 1;
        }
    }
    let mut logins = String::new();
    for (username, name, role, password) in ACCOUNTS {
        if storage.operator_account(username).await?.is_none() {
            crate::office::accounts::add_account(storage, username, name, &[*role], password, now_ms).await?;
            added += 1;
        }
        logins.push_str(&format!("office login ({role}): {username} / {password}\n"));
    }
    Ok(format!(
        "{logins}demo: {} technicians, {} thermometers, {} work orders across 阳光花园, 锦绣华庭, 和平里小区 ({added} added)",
        TECHNICIANS.len(),
        THERMOMETERS.len(),
        ORDERS.len()
    ))
}
