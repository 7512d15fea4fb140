//! The text the customer is shown and signs (zh-CN). Built only from
//! sealed records and the order, so the same chain always gives the same
//! text, and the sign-off binds exactly what was on the screen.

use std::collections::HashMap;
use std::fmt::Write as _;

use chrono::{DateTime, FixedOffset, TimeZone};
use hearth_domain::{
    CentiCelsius, Compliance, NoticePlacement, RoomKind, RoomVerdict, RuleSet, StepEvidence, VisitOutcome,
    WorkOrder,
};

use crate::temperature::TestState;
use crate::visit::VisitState;

fn time<Tz: TimeZone>(at: &DateTime<Tz>, tz: FixedOffset) -> String {
    at.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string()
}

fn yuan(fen: u32) -> String {
    format!("¥{}.{:02}", fen / 100, fen % 100)
}

fn person(tech_id: &str, names: &HashMap<String, String>) -> String {
    match names.get(tech_id) {
        Some(name) => format!("{name}（{tech_id}）"),
        None => tech_id.to_owned(),
    }
}

fn header(out: &mut String, title: &str, work_order_id: &str, order: Option<&WorkOrder>) {
    let _ = writeln!(out, "{title}");
    let _ = writeln!(out, "工单号：{work_order_id}");
    if let Some(o) = order {
        let a = &o.customer.address;
        let _ = writeln!(out, "地址：{} {} {} {}", a.community, a.building, a.unit, a.room);
        if !o.fault_description.is_empty() {
            let _ = writeln!(out, "报修内容：{}", o.fault_description);
        }
    }
}

fn yes_no(b: bool) -> &'static str {
    if b { "是" } else { "否" }
}

fn step_line(evidence: &StepEvidence, tz: FixedOffset) -> String {
    match evidence {
        StepEvidence::Appointment(e) => format!(
            "一、预约：约定 {} 至 {}，客户已确认：{}",
            time(&e.agreed.start(), tz),
            time(&e.agreed.end(), tz),
            yes_no(e.customer_confirmed)
        ),
        StepEvidence::Arrival(_) => "二、到达：开启工作记录仪，轻敲门，出示工作证".to_owned(),
        StepEvidence::Entry(_) => "三、进门：统一着装，佩戴工牌，穿戴鞋套".to_owned(),
        StepEvidence::Communicate(e) => {
            let mut line = format!("四、沟通：{}", e.confirmed_problem.trim());
            if let Some(paid) = e.paid_service_told {
                let _ = write!(line, "（已告知是否收费：{}）", yes_no(paid));
            }
            line
        }
        StepEvidence::Inspect(e) => format!("五、检查：{}", e.findings.trim()),
        StepEvidence::Resolve(e) => {
            let mut line = format!("六、解决：{}", e.action.trim());
            for p in &e.parts {
                let price = p.price_told_cents.map_or_else(|| "未告知".to_owned(), yuan);
                let _ = write!(
                    line,
                    "\n    更换配件：{}，价格 {}，客户同意：{}",
                    p.part.trim(),
                    price,
                    yes_no(p.customer_consented)
                );
            }
            if let Some(d) = &e.customer_damage {
                let _ = write!(
                    line,
                    "\n    用户原因造成的损坏：{}，客户确认：{}",
                    d.description.trim(),
                    yes_no(d.customer_confirmed)
                );
            }
            line
        }
        StepEvidence::Farewell(_) => "七、道别：清理现场，说明注意事项，致谢".to_owned(),
    }
}

fn placement(p: NoticePlacement) -> &'static str {
    match p {
        NoticePlacement::OnDoor => "门上",
        NoticePlacement::BesideDoor => "门旁",
        NoticePlacement::UnderDoor => "门缝下",
        NoticePlacement::Mailbox => "信箱",
        NoticePlacement::UnitNoticeBoard => "单元公告栏",
        NoticePlacement::PropertyOffice => "物业",
        NoticePlacement::Other => "其他位置",
    }
}

fn outcome_line(outcome: &VisitOutcome, tz: FixedOffset) -> String {
    match outcome {
        VisitOutcome::Resolved => "处理结果：已解决".to_owned(),
        VisitOutcome::NotResolved { next_appointment } => {
            let next = next_appointment.map(|a| time(&a.start(), tz)).unwrap_or_default();
            format!("处理结果：未能当场解决，下次上门 {next}")
        }
        VisitOutcome::NobodyHome { notice_placement, next_appointment, .. } => {
            let next = next_appointment.map(|a| time(&a.start(), tz)).unwrap_or_default();
            format!("处理结果：到访不遇，已留到访不遇单（{}），下次上门 {next}", placement(*notice_placement))
        }
        VisitOutcome::RefusedEntry { reason } => format!("处理结果：用户拒绝入户（{}）", reason.trim()),
    }
}

/// The repair feedback form (维修反馈单) the customer signs.
pub(crate) fn visit(
    order: &WorkOrder,
    state: &VisitState,
    names: &HashMap<String, String>,
    tz: FixedOffset,
) -> String {
    let mut out = String::new();
    header(&mut out, "入户维修服务确认单", order.id.as_str(), Some(order));
    let mut technicians: Vec<&str> = Vec::new();
    for (_, r) in &state.steps {
        for s in &r.content.signers {
            if !technicians.contains(&s.tech_id.as_str()) {
                technicians.push(&s.tech_id);
            }
        }
    }
    if !technicians.is_empty() {
        let people: Vec<String> = technicians.iter().map(|t| person(t, names)).collect();
        let _ = writeln!(out, "维修人员：{}", people.join("、"));
    }
    if let (Some((first, _)), Some((last, _))) = (state.steps.first(), state.steps.last()) {
        let _ = writeln!(out, "服务时间：{} 至 {}", time(&first.at, tz), time(&last.at, tz));
    }
    let _ = writeln!(out, "服务过程：");
    for (step, _) in &state.steps {
        let _ = writeln!(out, "{}（{}）", step_line(&step.evidence, tz), time(&step.at, tz));
    }
    if let Some((concluded, _)) = &state.outcome {
        let _ = writeln!(out, "{}", outcome_line(&concluded.outcome, tz));
    }
    let _ = write!(out, "如有问题请拨打供热服务热线。");
    out
}

fn room(kind: RoomKind) -> &'static str {
    match kind {
        RoomKind::LivingRoom => "客厅",
        RoomKind::Bedroom => "卧室",
        RoomKind::Kitchen => "厨房",
        RoomKind::Bathroom => "卫生间",
        RoomKind::Study => "书房",
        RoomKind::Other => "其他",
    }
}

fn verdict(v: RoomVerdict) -> &'static str {
    match v {
        RoomVerdict::Compliant => "达标",
        RoomVerdict::BelowStandard => "不达标",
        RoomVerdict::NotCounted => "不计入",
    }
}

fn celsius(c: CentiCelsius) -> String {
    c.to_string().replace(" °C", "℃")
}

/// The temperature test form (测温记录) both sides sign.
pub(crate) fn test(
    order: Option<&WorkOrder>,
    state: &TestState,
    names: &HashMap<String, String>,
    rules: &RuleSet,
    tz: FixedOffset,
) -> String {
    let rules = rules.temperature();
    let s = &state.start;
    let mut out = String::new();
    header(&mut out, "入户测温记录", &s.work_order_id, order);
    let _ = writeln!(out, "测温人员：{}、{}", person(&s.performer, names), person(&s.witness, names));
    let t = &s.thermometer;
    let _ = writeln!(
        out,
        "温度计：{}，检定证书 {}，有效期至 {}",
        t.serial,
        t.certificate_no,
        t.valid_until.format("%Y-%m-%d")
    );
    let _ = writeln!(out, "测温开始：{}", time(&s.started_at, tz));
    let _ = writeln!(out, "各房间读数：");
    for (n, (reading, record)) in state.in_force().enumerate() {
        let v = match reading.complies(rules) {
            None => RoomVerdict::NotCounted,
            Some(true) => RoomVerdict::Compliant,
            Some(false) => RoomVerdict::BelowStandard,
        };
        let min = reading
            .required_minimum(rules)
            .map(|m| format!("，标准不低于 {}", celsius(m)))
            .unwrap_or_default();
        let _ = write!(
            out,
            "{}. {}（{}）：{}，{}{}，{}",
            n + 1,
            room(reading.room_kind),
            reading.label,
            celsius(reading.centi_celsius),
            time(&reading.taken_at, tz),
            min,
            verdict(v)
        );
        if let Some(s) = &record.content.supersedes {
            let _ = write!(out, "（更正，原因：{}）", s.reason);
        }
        if let Some(r) = &reading.outlier_reason {
            let _ = write!(out, "（说明：{r}）");
        }
        let _ = writeln!(out);
    }
    let compliance = match &state.report {
        Some((report, _)) => Some(report.compliance.clone()),
        None => hearth_domain::temperature::assess(state.test.readings(), rules).ok(),
    };
    if let Some(c) = compliance {
        let overall = match c.verdict {
            Compliance::Compliant => "室温达标",
            Compliance::BelowStandard => "室温不达标",
        };
        let _ = writeln!(out, "结论：{overall}");
    }
    let _ = write!(out, "测温结果当场记录，不得事后填写或改写。");
    out
}
