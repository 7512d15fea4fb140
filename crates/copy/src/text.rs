//! The Chinese wording of a visit and a temperature test (zh-CN): the text
//! the customer is shown and signs (`summary_shown`), and each line of the
//! customer's copy. Built only from sealed records and the order, so the
//! same chain always gives the same text, and the sign-off binds exactly
//! what was on the screen.

use std::collections::HashMap;
use std::fmt::Write as _;

use chrono::{DateTime, FixedOffset, TimeZone};
use hearth_domain::{
    CentiCelsius, CompanyProfile, Compliance, FaultSide, InspectEvidence, NoticePlacement, PartReplacement,
    RoomKind, RoomVerdict, RuleSet, StepEvidence, TemperatureReading, TemperatureReport, TemperatureRules,
    TestCompliance, Thermometer, VisitOutcome, WorkOrder, Zone,
};
use hearth_protocol::{Content, Sealed};

use crate::replay::VisitState;

/// A moment as printed: local date and minute.
pub fn time<Tz: TimeZone>(at: &DateTime<Tz>, tz: FixedOffset) -> String {
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

/// One step as the customer reads it: its title and what was done, the
/// parts replaced kept apart (the customer's copy lists them in a table).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepText {
    pub title: &'static str,
    pub lines: Vec<String>,
}

fn note_line(note: Option<&String>) -> Option<String> {
    note.map(|n| n.trim()).filter(|n| !n.is_empty()).map(|n| format!("备注：{n}"))
}

/// The step's wording.
pub fn step_text(evidence: &StepEvidence, tz: FixedOffset) -> StepText {
    let (title, mut lines, note) = match evidence {
        StepEvidence::Appointment(e) => (
            "一、预约",
            vec![format!(
                "约定 {} 至 {}，用户已确认：{}",
                time(&e.agreed.start(), tz),
                time(&e.agreed.end(), tz),
                yes_no(e.customer_confirmed)
            )],
            e.note.as_ref(),
        ),
        StepEvidence::Arrival(e) => {
            ("二、到达", vec!["开启工作记录仪，轻敲门，出示工作证".to_owned()], e.note.as_ref())
        }
        StepEvidence::Entry(e) => {
            ("三、进门", vec!["统一着装，佩戴工牌，穿戴鞋套".to_owned()], e.note.as_ref())
        }
        StepEvidence::Communicate(e) => {
            let mut line = e.confirmed_problem.trim().to_owned();
            if let Some(paid) = e.paid_service_told {
                let _ = write!(line, "（已告知是否收费：{}）", yes_no(paid));
            }
            ("四、沟通", vec![line], None)
        }
        StepEvidence::Inspect(e) => ("五、检查", inspect_lines(e), e.manifold_note.as_ref()),
        StepEvidence::Resolve(e) => {
            let mut lines = vec![e.action.trim().to_owned()];
            if let Some(d) = &e.customer_damage {
                lines.push(format!(
                    "用户原因造成的损坏：{}，用户确认：{}",
                    d.description.trim(),
                    yes_no(d.customer_confirmed)
                ));
            }
            ("六、解决", lines, None)
        }
        StepEvidence::Farewell(e) => {
            ("七、道别", vec!["清理现场，说明注意事项，致谢".to_owned()], e.note.as_ref())
        }
    };
    lines.extend(note_line(note));
    StepText { title, lines }
}

/// 五检查 as the customer reads it: the findings, then what was measured
/// and who the fault lies with (it decides who pays), each only when taken.
fn inspect_lines(e: &InspectEvidence) -> Vec<String> {
    let mut lines = vec![e.findings.trim().to_owned()];
    let temperatures: Vec<String> = [
        ("本层立管", e.riser_this_floor),
        ("上层立管", e.riser_floor_above),
        ("下层立管", e.riser_floor_below),
        ("入户供水", e.supply_at_inlet),
        ("入户回水", e.return_at_inlet),
    ]
    .into_iter()
    .filter_map(|(label, t)| t.map(|t| format!("{label} {}", celsius(t))))
    .collect();
    if !temperatures.is_empty() {
        lines.push(format!("测量温度：{}", temperatures.join("，")));
    }
    let mut branch = Vec::new();
    if let Some(kpa) = e.branch_pressure_kpa {
        branch.push(format!("支线压力 {kpa} kPa"));
    }
    if let Some(lph) = e.branch_flow_litres_per_hour {
        branch.push(format!("支线流量 {lph} L/h"));
    }
    if let Some(blocked) = e.blockage_found {
        branch.push(format!("发现堵塞：{}", yes_no(blocked)));
    }
    if !branch.is_empty() {
        lines.push(branch.join("，"));
    }
    let mut zone = Vec::new();
    if let Some(z) = e.zone {
        zone.push(format!(
            "分区：{}",
            match z {
                Zone::High => "高区",
                Zone::Middle => "中区",
                Zone::Low => "低区",
            }
        ));
    }
    if let Some(cold) = e.neighbours_in_zone_cold {
        zone.push(format!("同区其他住户也不热：{}", yes_no(cold)));
    }
    if !zone.is_empty() {
        lines.push(zone.join("，"));
    }
    if let Some(side) = e.fault_side {
        lines.push(format!(
            "故障责任方：{}",
            match side {
                FaultSide::Company => "供热公司一侧",
                FaultSide::Customer => "用户一侧",
            }
        ));
    }
    lines
}

/// A replaced part: name, the price told ("未告知" when it was not), consent.
pub fn part_text(p: &PartReplacement) -> (String, String, &'static str) {
    let price = p.price_told_cents.map_or_else(|| "未告知".to_owned(), yuan);
    (p.part.trim().to_owned(), price, yes_no(p.customer_consented))
}

fn step_line(evidence: &StepEvidence, tz: FixedOffset) -> String {
    let text = step_text(evidence, tz);
    let mut line = format!("{}：{}", text.title, text.lines.join("\n    "));
    if let StepEvidence::Resolve(e) = evidence {
        for p in &e.parts {
            let (name, price, consent) = part_text(p);
            let _ = write!(line, "\n    更换配件：{name}，价格 {price}，用户同意：{consent}");
        }
    }
    line
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

/// How the visit ended, as the customer reads it.
pub fn outcome_text(outcome: &VisitOutcome, tz: FixedOffset) -> String {
    match outcome {
        VisitOutcome::Resolved => "已解决".to_owned(),
        VisitOutcome::NotResolved { next_appointment } => {
            let next = next_appointment.map(|a| time(&a.start(), tz)).unwrap_or_default();
            format!("未能当场解决，下次上门 {next}")
        }
        VisitOutcome::NobodyHome { notice_placement, next_appointment, .. } => {
            let next = next_appointment.map(|a| time(&a.start(), tz)).unwrap_or_default();
            format!("到访不遇，已留到访不遇单（{}），下次上门 {next}", placement(*notice_placement))
        }
        VisitOutcome::RefusedEntry { reason } => format!("用户拒绝入户（{}）", reason.trim()),
    }
}

/// The form's last line: where to call, with the company's hotline once the office set it.
fn closing(out: &mut String, company: &CompanyProfile) {
    let _ = match (company.name.is_empty(), company.hotline.is_empty()) {
        (_, true) => write!(out, "如有问题请拨打供热服务热线。"),
        (true, false) => write!(out, "如有问题请拨打供热服务热线 {}。", company.hotline),
        (false, false) => write!(out, "如有问题请拨打{}服务热线 {}。", company.name, company.hotline),
    };
}

/// The repair feedback form (维修反馈单) the customer signs.
pub fn visit<R: Sealed>(
    order: &WorkOrder,
    state: &VisitState<R>,
    names: &HashMap<String, String>,
    company: &CompanyProfile,
    tz: FixedOffset,
) -> String {
    let mut out = String::new();
    header(&mut out, "入户维修服务确认单", order.id.as_str(), Some(order));
    let mut technicians: Vec<&str> = Vec::new();
    for step in &state.steps {
        for s in &step.record.content().signers {
            if !technicians.contains(&s.tech_id.as_str()) {
                technicians.push(&s.tech_id);
            }
        }
    }
    if !technicians.is_empty() {
        let people: Vec<String> = technicians.iter().map(|t| person(t, names)).collect();
        let _ = writeln!(out, "维修人员：{}", people.join("、"));
    }
    if let (Some(first), Some(last)) = (state.steps.first(), state.steps.last()) {
        let _ = writeln!(out, "服务时间：{} 至 {}", time(&first.step.at, tz), time(&last.step.at, tz));
    }
    let _ = writeln!(out, "服务过程：");
    for s in &state.steps {
        let _ = write!(out, "{}（{}）", step_line(&s.step.evidence, tz), time(&s.step.at, tz));
        if let Some(c) = &s.record.content().supersedes {
            let _ = write!(out, "（已更正，原因：{}）", c.reason);
        }
        let _ = writeln!(out);
    }
    if let Some((concluded, _)) = &state.outcome {
        let _ = writeln!(out, "处理结果：{}", outcome_text(&concluded.outcome, tz));
    }
    closing(&mut out, company);
    out
}

/// The room's kind as printed.
pub fn room(kind: RoomKind) -> &'static str {
    match kind {
        RoomKind::LivingRoom => "客厅",
        RoomKind::Bedroom => "卧室",
        RoomKind::Kitchen => "厨房",
        RoomKind::Bathroom => "卫生间",
        RoomKind::Study => "书房",
        RoomKind::Other => "其他",
    }
}

/// A room's verdict as printed.
pub fn verdict(v: RoomVerdict) -> &'static str {
    match v {
        RoomVerdict::Compliant => "达标",
        RoomVerdict::BelowStandard => "不达标",
        RoomVerdict::NotCounted => "不计入",
    }
}

/// "17.60℃".
pub fn celsius(c: CentiCelsius) -> String {
    c.to_string().replace(" °C", "℃")
}

/// A room's verdict under the rule set (`TemperatureReading::verdict`, the
/// domain's one definition).
pub fn room_verdict(reading: &TemperatureReading, rules: &TemperatureRules) -> RoomVerdict {
    reading.verdict(rules)
}

/// The test's verdict as printed.
pub fn overall(c: Compliance) -> &'static str {
    match c {
        Compliance::Compliant => "室温达标",
        Compliance::BelowStandard => "室温不达标",
    }
}

/// The test's verdict: the report's once signed, else live over the readings in force.
pub fn test_compliance(
    report: Option<&TemperatureReport>,
    readings: &[TemperatureReading],
    rules: &TemperatureRules,
) -> Option<TestCompliance> {
    match report {
        Some(report) => Some(report.compliance.clone()),
        None => hearth_domain::temperature::assess(readings, rules).ok(),
    }
}

/// Who tested with what, and when they began: the head of the test form.
#[derive(Debug, Clone, Copy)]
pub struct TestHead<'a> {
    pub work_order_id: &'a str,
    pub performer: &'a str,
    pub witness: &'a str,
    pub thermometer: &'a Thermometer,
    pub started_at: DateTime<FixedOffset>,
}

/// The temperature test form (测温记录) both sides sign: `in_force` are the
/// readings in force with the content of the record that says each, in
/// chain order; `readings` the domain test's (for the live verdict).
#[allow(clippy::too_many_arguments)]
pub fn test<'r>(
    order: Option<&WorkOrder>,
    head: &TestHead<'_>,
    in_force: impl Iterator<Item = (&'r TemperatureReading, &'r Content)>,
    readings: &[TemperatureReading],
    report: Option<&TemperatureReport>,
    names: &HashMap<String, String>,
    rules: &RuleSet,
    tz: FixedOffset,
) -> String {
    let company = rules.company();
    let rules = rules.temperature();
    let mut out = String::new();
    header(&mut out, "入户测温记录", head.work_order_id, order);
    let _ = writeln!(out, "测温人员：{}、{}", person(head.performer, names), person(head.witness, names));
    let t = head.thermometer;
    let _ = writeln!(
        out,
        "温度计：{}，检定证书 {}，有效期至 {}",
        t.serial,
        t.certificate_no,
        t.valid_until.format("%Y-%m-%d")
    );
    let _ = writeln!(out, "测温开始：{}", time(&head.started_at, tz));
    let _ = writeln!(out, "各房间读数：");
    for (n, (reading, record)) in in_force.enumerate() {
        let v = room_verdict(reading, rules);
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
        if let Some(s) = &record.supersedes {
            let _ = write!(out, "（更正，原因：{}）", s.reason);
        }
        if let Some(r) = &reading.outlier_reason {
            let _ = write!(out, "（说明：{r}）");
        }
        let _ = writeln!(out);
    }
    if let Some(c) = test_compliance(report, readings, rules) {
        let _ = writeln!(out, "结论：{}", overall(c.verdict));
    }
    // What the customer signs or refuses includes the cause the testers found.
    if let Some(cause) = report.and_then(|r| r.customer_side_cause.as_ref()) {
        let _ = writeln!(out, "测温人员认定属用户自身原因：{cause}（不达标期间不减收采暖费）");
    }
    let _ = writeln!(out, "测温结果当场记录，不得事后填写或改写。");
    closing(&mut out, company);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_inspection_prints_its_measurements_and_the_fault_side() {
        let e = InspectEvidence {
            findings: "户内阀门半关".into(),
            riser_this_floor: Some(CentiCelsius::new(4560)),
            return_at_inlet: Some(CentiCelsius::new(3810)),
            branch_pressure_kpa: Some(120),
            blockage_found: Some(false),
            zone: Some(Zone::High),
            fault_side: Some(FaultSide::Customer),
            ..InspectEvidence::default()
        };
        let text = step_text(&StepEvidence::Inspect(e), FixedOffset::east_opt(8 * 3600).expect("UTC+8"));
        assert_eq!(
            text.lines,
            [
                "户内阀门半关",
                "测量温度：本层立管 45.60℃，入户回水 38.10℃",
                "支线压力 120 kPa，发现堵塞：否",
                "分区：高区",
                "故障责任方：用户一侧",
            ]
        );
        let bare = step_text(
            &StepEvidence::Inspect(InspectEvidence {
                findings: "正常".into(), ..InspectEvidence::default()
            }),
            FixedOffset::east_opt(8 * 3600).expect("UTC+8"),
        );
        assert_eq!(bare.lines, ["正常"], "nothing measured, nothing printed");
    }
}
