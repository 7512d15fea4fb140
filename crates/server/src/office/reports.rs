//! The manager's report (`hearth_domain::report`): for a period of
//! company-local dates (UTC+8), per station, community or technician,
//! the orders by category, the deadlines met, missed and pending per kind
//! with the on-time rate, the temperature tests the server counted
//! (compliant or not), the follow-up calls' outcomes and the repeat repairs.
//!
//! `GET /v1/office/reports?from=YYYY-MM-DD&to=YYYY-MM-DD&group=station|community|technician`
//! answers JSON; `&format=csv` answers `text/csv; charset=utf-8` with a
//! UTF-8 byte-order mark (Excel then reads the Chinese), a header row in
//! Chinese or, with `lang=en`, English, and every cell that a spreadsheet
//! would take for a formula (`= + - @`, tab, carriage return first)
//! prefixed with `'`. Without `from`/`to` the period is the current month
//! (a lone `from` or `to`: that date's month). Handlers are thin: the
//! numbers come from the server's own judgements (`views`) aggregated by
//! the domain.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use hearth_domain::report::{KindTally, REPORTED_CATEGORIES, REPORTED_KINDS};
use hearth_domain::{
    CallResult, DeadlineKind, FollowUpRules, Period, PeriodError, Report, ReportGrouping, ReportOrder,
    ReportTest, WorkOrderCategory,
};
use hearth_protocol::api::ErrorBody;

use super::compute::{self, ms_to_utc};
use super::decisions::Operator;
use super::input::{self, bad_field};
use super::model::{CallOutcome, OrderStatus, TechnicianBody};
use super::views::{self, OrderFilter};
use crate::error::ApiResult;
use crate::state::AppState;
use crate::storage::SnapshotKind;

pub fn routes() -> Router<AppState> {
    Router::new().route("/v1/office/reports", get(reports_h))
}

/// What the query asks for, checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportQuery {
    pub period: Period,
    pub group: ReportGrouping,
    pub csv: bool,
    pub english: bool,
}

impl ReportQuery {
    /// From query parameters; `today` (company-local) gives the default month.
    pub fn parse(query: &HashMap<String, String>, today: chrono::NaiveDate) -> ApiResult<Self> {
        super::only(query, &["from", "to", "group", "format", "lang"])?;
        let from = query.get("from").map(|v| input::date("from", v)).transpose()?;
        let to = query.get("to").map(|v| input::date("to", v)).transpose()?;
        let period = match (from, to) {
            (None, None) => Ok(Period::month_of(today)),
            (Some(from), None) => Period::new(from, Period::month_of(from).to),
            (None, Some(to)) => Period::new(Period::month_of(to).from, to),
            (Some(from), Some(to)) => Period::new(from, to),
        }
        .map_err(|e| match e {
            PeriodError::EndsBeforeStart { .. } => bad_field("to", "must not be before from"),
            PeriodError::TooLong => bad_field(
                "to",
                &format!("must be within {} days of from", hearth_domain::report::MAX_PERIOD_DAYS),
            ),
        })?;
        let group = match query.get("group") {
            None => ReportGrouping::Station,
            Some(g) => ReportGrouping::parse(g.trim())
                .ok_or_else(|| bad_field("group", "must be one of station, community, technician"))?,
        };
        let csv = match query.get("format").map(|f| f.trim()) {
            None | Some("json") => false,
            Some("csv") => true,
            Some(_) => return Err(bad_field("format", "must be json or csv")),
        };
        let english = match query.get("lang").map(|l| l.trim()) {
            None | Some("zh-CN") => false,
            Some("en") => true,
            Some(_) => return Err(bad_field("lang", "must be zh-CN or en")),
        };
        Ok(Self { period, group, csv, english })
    }
}

fn call_result(view: &views::OrderView) -> CallResult {
    if view.status == OrderStatus::Cancelled
        || !FollowUpRules::gets_call(view.order.category)
        || view.milestones.completed_at.is_none()
    {
        return CallResult::NotDue;
    }
    match view.follow_up.as_ref().map(|f| f.outcome) {
        None => CallResult::NotCalled,
        Some(CallOutcome::Satisfied) => CallResult::Satisfied,
        Some(CallOutcome::Unsatisfied) => CallResult::Unsatisfied,
        Some(CallOutcome::Unreachable) => CallResult::Unreachable,
    }
}

/// The report for `period` by `group`, technicians' rows labelled with their names.
pub async fn report(state: &AppState, period: Period, group: ReportGrouping) -> ApiResult<Report> {
    let rules = crate::rules::rule_set(state).await?;
    let (views, _) = views::work_orders(state, &OrderFilter::default()).await?;
    let orders: Vec<ReportOrder> = views
        .iter()
        .map(|v| ReportOrder {
            id: v.id.clone(),
            category: v.order.category,
            received_at: v.order.received_at,
            community: v.order.customer.address.community.as_str().to_owned(),
            technicians: v.order.assigned_technicians.iter().map(|t| t.as_str().to_owned()).collect(),
            cancelled: v.status == OrderStatus::Cancelled,
            deadlines: v.deadlines.clone(),
            call: call_result(v),
            repeat: !v.repeat_of.is_empty(),
        })
        .collect();
    let teams: HashMap<&str, &[String]> =
        orders.iter().map(|o| (o.id.as_str(), &o.technicians[..])).collect();
    // Only tests the server counted (judged, answered by the customer, clear
    // of flags or accepted) and inside a heating season, as the fee counts them.
    let tests: Vec<ReportTest> = views::temperature_tests(state, None)
        .await?
        .tests
        .iter()
        .filter(|t| t.counts && !t.outside_heating_season)
        .filter_map(|t| {
            Some(ReportTest {
                community: t.address.community.as_str().to_owned(),
                technicians: teams.get(t.work_order_id.as_str()).map(|s| s.to_vec()).unwrap_or_default(),
                measured_on: t.measured_on?,
                verdict: t.judged.as_ref()?.verdict,
            })
        })
        .collect();
    let mut report = hearth_domain::report::report(&orders, &tests, group, period, rules.stations());
    if group == ReportGrouping::Technician {
        let names: HashMap<String, String> = state
            .storage
            .snapshots(SnapshotKind::Technician)
            .await?
            .into_iter()
            .filter_map(|s| serde_json::from_value::<TechnicianBody>(s.body).ok())
            .map(|t| (t.tech_id.as_str().to_owned(), t.name))
            .collect();
        for row in &mut report.rows {
            if let Some(name) = names.get(&row.key) {
                row.label = name.clone();
            }
        }
    }
    Ok(report)
}

/// A cell as a spreadsheet should read it: text that would start a
/// formula gets a leading `'`; commas, quotes and line breaks are quoted.
pub fn csv_cell(text: &str) -> String {
    let neutral =
        if text.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{text}") } else { text.to_owned() };
    if neutral.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", neutral.replace('"', "\"\""))
    } else {
        neutral
    }
}

fn category_label(c: WorkOrderCategory, en: bool) -> &'static str {
    use WorkOrderCategory::*;
    match (c, en) {
        (Repair, false) => "维修",
        (Repair, true) => "Repair",
        (Leak, false) => "跑冒滴漏",
        (Leak, true) => "Leak",
        (TemperatureTest, false) => "测温",
        (TemperatureTest, true) => "Temperature test",
        (ValveOpen, false) => "开阀",
        (ValveOpen, true) => "Valve open",
        (ValveClose, false) => "关阀",
        (ValveClose, true) => "Valve close",
        (MeterCheck, false) => "抄表校验",
        (MeterCheck, true) => "Meter check",
        (Complaint, false) => "投诉",
        (Complaint, true) => "Complaint",
        (NetworkBurst, false) => "管网爆管",
        (NetworkBurst, true) => "Network burst",
    }
}

fn kind_label(k: DeadlineKind, en: bool) -> &'static str {
    use DeadlineKind::*;
    match (k, en) {
        (Accepted, false) => "接单",
        (Accepted, true) => "Accepted",
        (Contact, false) => "联系用户",
        (Contact, true) => "Contact",
        (OnSite, false) => "到场",
        (OnSite, true) => "On site",
        (Fixed, false) => "修复",
        (Fixed, true) => "Fixed",
        (TestersOnSite, false) => "测温到场",
        (TestersOnSite, true) => "Testers on site",
        (ComplaintAnswered, false) => "投诉答复",
        (ComplaintAnswered, true) => "Complaint answered",
        (LateNotice, false) => "迟到告知",
        (LateNotice, true) => "Late notice",
        (FollowUpCall, false) => "回访",
        (FollowUpCall, true) => "Follow-up call",
    }
}

/// A per-mille rate as a percentage with one decimal; empty when there is none.
fn percent(permille: Option<u32>) -> String {
    permille.map_or_else(String::new, |p| format!("{}.{}", p / 10, p % 10))
}

/// The report as CSV: a byte-order mark, a header row, one row per group, the totals.
pub fn csv(report: &Report, en: bool) -> String {
    let group = match (report.group, en) {
        (ReportGrouping::Station, false) => "热力站",
        (ReportGrouping::Station, true) => "Station",
        (ReportGrouping::Community, false) => "小区",
        (ReportGrouping::Community, true) => "Community",
        (ReportGrouping::Technician, false) => "维修人员",
        (ReportGrouping::Technician, true) => "Technician",
    };
    let pick = |zh: &str, english: &str| if en { english.to_owned() } else { zh.to_owned() };
    let mut header = vec![
        pick("统计期间", "Period"),
        group.to_owned(),
        pick("工单数", "Orders"),
        pick("已取消", "Cancelled"),
    ];
    header.extend(REPORTED_CATEGORIES.iter().map(|c| category_label(*c, en).to_owned()));
    for k in REPORTED_KINDS {
        let name = kind_label(k, en);
        header.push(if en { format!("{name} met") } else { format!("{name}按时") });
        header.push(if en { format!("{name} missed") } else { format!("{name}超时") });
        header.push(if en { format!("{name} pending") } else { format!("{name}未到期") });
        header.push(if en { format!("{name} on-time %") } else { format!("{name}按时率%") });
    }
    header.extend([
        pick("测温达标", "Tests compliant"),
        pick("测温不达标", "Tests non-compliant"),
        pick("达标率%", "Compliance %"),
        pick("回访满意", "Follow-up satisfied"),
        pick("回访不满意", "Follow-up unsatisfied"),
        pick("回访未接通", "Follow-up unreachable"),
        pick("未回访", "Not called"),
        pick("重复维修", "Repeat repairs"),
    ]);
    let period = format!("{}~{}", report.period.from, report.period.to);
    let mut out = String::from("\u{feff}");
    let mut line = |cells: Vec<String>| {
        out.push_str(&cells.iter().map(|c| csv_cell(c)).collect::<Vec<_>>().join(","));
        out.push_str("\r\n");
    };
    line(header);
    let unassigned = pick("未派工", "Unassigned");
    let total = pick("合计", "Total");
    for (row, label) in report
        .rows
        .iter()
        .map(|r| (r, if r.key.is_empty() { unassigned.clone() } else { r.label.clone() }))
        .chain(std::iter::once((&report.total, total)))
    {
        let mut cells = vec![period.clone(), label, row.orders.to_string(), row.cancelled.to_string()];
        cells.extend(row.by_category.iter().map(|c| c.orders.to_string()));
        for KindTally { met, missed, pending, rate_permille, .. } in &row.deadlines {
            cells.extend([met.to_string(), missed.to_string(), pending.to_string(), percent(*rate_permille)]);
        }
        let f = &row.follow_up;
        cells.extend([
            row.tests_compliant.to_string(),
            row.tests_non_compliant.to_string(),
            percent(row.compliance_rate_permille),
            f.satisfied.to_string(),
            f.unsatisfied.to_string(),
            f.unreachable.to_string(),
            f.not_called.to_string(),
            row.repeat_repairs.to_string(),
        ]);
        line(cells);
    }
    out
}

#[utoipa::path(
    get,
    path = "/v1/office/reports",
    tag = "office",
    summary = "The manager's report per station, community or technician (JSON or CSV)",
    security(("operator_token" = [])),
    params(
        ("from" = Option<String>, Query, description = "first company-local date YYYY-MM-DD (default: the first of this month)"),
        ("to" = Option<String>, Query, description = "last company-local date YYYY-MM-DD, included (default: the end of from's month)"),
        ("group" = Option<String>, Query, description = "station (default), community or technician"),
        ("format" = Option<String>, Query, description = "json (default) or csv"),
        ("lang" = Option<String>, Query, description = "the CSV header's language: zh-CN (default) or en"),
    ),
    responses(
        (status = 200, description = "the report: JSON, or with format=csv a UTF-8 CSV with a byte-order mark",
         content((Object = "application/json"), (String = "text/csv"))),
        (status = 400, body = ErrorBody, description = "bad_field: the message starts with from, to, group, format, lang or an unknown parameter"),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
    )
)]
async fn reports_h(
    State(state): State<AppState>,
    _manager: Operator,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult<Response> {
    let today = compute::local_date(ms_to_utc(state.now_ms()));
    let q = ReportQuery::parse(&query, today)?;
    let report = report(&state, q.period, q.group).await?;
    if !q.csv {
        return Ok(Json(report).into_response());
    }
    let name = format!("hearth-report-{}-{}.csv", q.period.from, q.period.to);
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")),
        ],
        csv(&report, q.english),
    )
        .into_response())
}

#[derive(Debug, utoipa::OpenApi)]
#[openapi(paths(reports_h))]
pub struct Doc;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_looking_cells_are_neutralised_and_quoted_when_needed() {
        assert_eq!(csv_cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_cell("+1"), "'+1");
        assert_eq!(csv_cell("-1"), "'-1");
        assert_eq!(csv_cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv_cell("幸福小区"), "幸福小区");
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("66.7"), "66.7");
    }

    #[test]
    fn bad_parameters_name_their_field() {
        let today = chrono::NaiveDate::from_ymd_opt(2025, 1, 15).unwrap_or_default();
        let ask = |pairs: &[(&str, &str)]| {
            let q: HashMap<String, String> =
                pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
            ReportQuery::parse(&q, today).map_err(|e| e.message)
        };
        let default = ask(&[]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(default.period, Period::month_of(today));
        assert_eq!(default.group, ReportGrouping::Station);
        for (pairs, field) in [
            (vec![("from", "2025-13-01")], "from:"),
            (vec![("to", "yesterday")], "to:"),
            (vec![("from", "2025-02-01"), ("to", "2025-01-01")], "to:"),
            (vec![("group", "city")], "group:"),
            (vec![("format", "xlsx")], "format:"),
            (vec![("lang", "fr")], "lang:"),
            (vec![("sort", "x")], "sort:"),
        ] {
            let e = ask(&pairs).err().unwrap_or_default();
            assert!(e.starts_with(field), "{pairs:?}: {e}");
        }
    }
}
