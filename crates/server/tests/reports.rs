//! The manager's report (`GET /v1/office/reports`), driven over HTTP against
//! the server on port 0 on SQLite and PostgreSQL, with a clock the test
//! moves and a tablet that seals a non-compliant temperature test: the
//! on-time counts, the compliance, the follow-up outcomes, the CSV (BOM,
//! header, a formula-looking community neutralised) and bad parameters.

#[macro_use]
mod common;

use chrono::{DateTime, Utc};
use common::Backend;
use common::office::*;
use hearth_domain::{CustomerSignoff, RoomKind, TemperatureReading};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// Files an order at `community`, assigned to `techs`.
async fn order(
    server: &Server,
    id: &str,
    category: &str,
    community: &str,
    techs: &[&str],
    received_at: DateTime<Utc>,
) {
    let body = json!({
        "id": id,
        "category": category,
        "customer": {"name": "张三", "phone": "13800138000",
                     "address": {"community": community, "building": "3号楼", "unit": "2单元", "room": id}},
        "fault_description": "暖气漏水",
        "received_at": iso(received_at),
        "technicians": techs,
    });
    server.post_ok("/v1/office/work-orders", body, StatusCode::CREATED).await;
}

/// Dispatch records a milestone at the server's now (what the phone said).
async fn milestone(server: &Server, id: &str, name: &str) {
    let rev = server.rev_of(id).await;
    let body = json!({name: iso(server.now()), "expected_rev": rev});
    server.post_ok(&format!("/v1/office/work-orders/{id}/milestones"), body, StatusCode::OK).await;
}

/// Readings, the co-signed report binding them, the customer's refusal binding the report.
async fn cold_test(server: &Server, tablet: &mut Tablet, wo: &str, readings: Vec<TemperatureReading>) {
    let refused =
        CustomerSignoff::refused("认为温度计不准", "客厅 16.00 °C").unwrap_or_else(|e| panic!("{e}"));
    temperature_test(server, tablet, wo, readings, Some(refused)).await;
}

fn row<'a>(report: &'a Value, key: &str) -> &'a Value {
    report["rows"]
        .as_array()
        .and_then(|rows| rows.iter().find(|r| r["key"] == key))
        .unwrap_or_else(|| panic!("no row {key} in {report}"))
}

/// `(met, missed, pending)` of one deadline kind in a row.
fn tally(row: &Value, kind: &str) -> (u64, u64, u64) {
    let k = row["deadlines"]
        .as_array()
        .and_then(|d| d.iter().find(|k| k["kind"] == kind))
        .unwrap_or_else(|| panic!("no {kind} in {row}"));
    (k["met"].as_u64().unwrap_or(99), k["missed"].as_u64().unwrap_or(99), k["pending"].as_u64().unwrap_or(99))
}

const JANUARY: &str = "from=2025-01-01&to=2025-01-31";

async fn the_report_counts_deadlines_compliance_and_follow_ups_and_exports_csv(backend: Backend) {
    // 2025-01-10 09:00 company time.
    let t0 = utc("2025-01-10T01:00:00Z");
    let server = Server::start_on(backend, t0).await;
    for (id, name) in [("T1", "王师傅"), ("T2", "李师傅")] {
        let body = json!({"tech_id": id, "name": name, "phone": "13800138000"});
        server.post_ok("/v1/office/technicians", body, StatusCode::CREATED).await;
    }
    server
        .post_ok(
            "/v1/office/thermometers",
            json!({"serial": "TH-01", "certificate": "检定-2024-001", "valid_until": "2026-01-01"}),
            StatusCode::CREATED,
        )
        .await;
    // Two leaks (on site within 30 minutes): one met at +20, one missed at +50.
    order(&server, "WO-MET", "leak", "幸福小区", &["T1"], t0).await;
    order(&server, "WO-MISS", "leak", "幸福小区", &["T1"], t0).await;
    server.set_now(t0 + minutes(20));
    milestone(&server, "WO-MET", "on_site_at").await;
    milestone(&server, "WO-MET", "completed_at").await;
    server.set_now(t0 + minutes(50));
    milestone(&server, "WO-MISS", "on_site_at").await;
    // The customer of the met one is called and satisfied.
    let rev = server.rev_of("WO-MET").await;
    server
        .post_ok(
            "/v1/office/work-orders/WO-MET/follow-up",
            json!({"outcome": "satisfied", "expected_rev": rev}),
            StatusCode::OK,
        )
        .await;
    // An order of December (company time: 2024-12-31 23:59:59) is not in January.
    order(&server, "WO-DEC", "leak", "幸福小区", &["T1"], utc("2024-12-31T15:59:59Z")).await;
    // A cold home, measured by T1 and T2.
    order(&server, "WO-TT", "temperature_test", "幸福小区", &["T1", "T2"], t0 + minutes(50)).await;
    let mut tablet = Tablet::enrol(&server, 7, &["T1", "T2"]).await;
    let cold = vec![
        reading("TEST-1", RoomKind::LivingRoom, "客厅", 1600, "2025-01-10T10:00:00+08:00"),
        reading("TEST-1", RoomKind::Bedroom, "主卧", 1900, "2025-01-10T10:10:00+08:00"),
    ];
    cold_test(&server, &mut tablet, "WO-TT", cold).await;
    // A community whose name a spreadsheet would take for a formula, its leak just in.
    order(&server, "WO-OPEN", "leak", "=1+2", &[], server.now()).await;

    let (status, report) = server.get(&format!("/v1/office/reports?{JANUARY}&group=community")).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["period"], json!({"from": "2025-01-01", "to": "2025-01-31"}));
    let happy = row(&report, "幸福小区");
    assert_eq!(happy["orders"], 3, "MET, MISS and TT; DEC is December: {happy}");
    assert_eq!(tally(happy, "on_site"), (1, 1, 0), "{happy}");
    assert_eq!(tally(happy, "on_site"), (1, 1, 0));
    let on_site =
        happy["deadlines"].as_array().and_then(|d| d.iter().find(|k| k["kind"] == "on_site")).cloned();
    assert_eq!(on_site.map(|k| k["rate_permille"].clone()), Some(json!(500)));
    assert_eq!(
        (happy["tests_compliant"].as_u64(), happy["tests_non_compliant"].as_u64()),
        (Some(0), Some(1))
    );
    assert_eq!(happy["compliance_rate_permille"], 0);
    assert_eq!(
        happy["follow_up"],
        json!({"satisfied": 1, "unsatisfied": 0, "unreachable": 0, "not_called": 0})
    );
    let formula = row(&report, "=1+2");
    assert_eq!(tally(formula, "on_site"), (0, 0, 1), "still open: pending, {formula}");
    assert!(formula["deadlines"].as_array().into_iter().flatten().all(|k| k.get("rate_permille").is_none()));
    assert_eq!(report["total"]["orders"], 4);

    // By technician: the team's test counts for both, named.
    let (_, by_tech) = server.get(&format!("/v1/office/reports?{JANUARY}&group=technician")).await;
    let t1 = row(&by_tech, "T1");
    assert_eq!((t1["label"].as_str(), t1["orders"].as_u64()), (Some("王师傅"), Some(3)), "{by_tech}");
    assert_eq!(row(&by_tech, "T2")["tests_non_compliant"], 1);
    assert_eq!(row(&by_tech, "")["orders"], 1, "the unassigned order");
    // By station: no mapping, each community is its own station.
    let (_, by_station) = server.get(&format!("/v1/office/reports?{JANUARY}")).await;
    assert_eq!(by_station["group"], "station");
    assert_eq!(row(&by_station, "幸福小区")["orders"], 3);

    // CSV: BOM, Chinese header, the formula neutralised.
    let resp = server
        .raw(
            Method::GET,
            &format!("/v1/office/reports?{JANUARY}&group=community&format=csv"),
            Some(OPERATOR_TOKEN),
            None,
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        resp.headers().get("content-type").and_then(|v| v.to_str().ok()),
        Some("text/csv; charset=utf-8")
    );
    let bytes = resp.bytes().await.unwrap_or_default();
    assert!(bytes.starts_with(&[0xEF, 0xBB, 0xBF]), "a UTF-8 byte-order mark first");
    let text = String::from_utf8_lossy(&bytes[3..]).into_owned();
    let lines: Vec<&str> = text.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert!(lines[0].starts_with("统计期间,小区,工单数,已取消,维修,跑冒滴漏"), "{}", lines[0]);
    assert!(lines[0].contains("到场按时,到场超时,到场未到期,到场按时率%"), "{}", lines[0]);
    assert!(lines.iter().any(|l| l.starts_with("2025-01-01~2025-01-31,'=1+2,1,")), "{text}");
    assert!(!lines.iter().any(|l| l.contains(",=1+2")), "never a bare formula: {text}");
    let happy_line = lines.iter().find(|l| l.contains(",幸福小区,")).unwrap_or_else(|| panic!("{text}"));
    assert!(
        happy_line.contains(",1,1,0,50.0,"),
        "on site met 1, missed 1, none pending, 50.0 %: {happy_line}"
    );
    assert!(lines.last().is_some_and(|l| l.starts_with("2025-01-01~2025-01-31,合计,4,")), "{text}");
    let resp = server
        .raw(
            Method::GET,
            &format!("/v1/office/reports?{JANUARY}&format=csv&lang=en"),
            Some(OPERATOR_TOKEN),
            None,
        )
        .await;
    let text = String::from_utf8_lossy(&resp.bytes().await.unwrap_or_default()).into_owned();
    assert!(text.starts_with("\u{feff}Period,Station,Orders,Cancelled,Repair,Leak"), "{text}");
    assert!(text.contains("\r\n2025-01-01~2025-01-31,Total,4,"), "{text}");
}

async fn bad_report_parameters_answer_400_naming_the_field(backend: Backend) {
    let server = Server::start_on(backend, utc("2025-01-10T01:00:00Z")).await;
    for (query, field) in [
        ("from=2025-02-30", "from"),
        ("from=yesterday", "from"),
        ("to=2025-1-5x", "to"),
        ("from=2025-02-01&to=2025-01-01", "to"),
        ("from=2024-01-01&to=2025-12-31", "to"),
        ("group=city", "group"),
        ("format=xlsx", "format"),
        ("lang=fr&format=csv", "lang"),
        ("page=2", "page"),
    ] {
        let (status, body) = server.get(&format!("/v1/office/reports?{query}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
        assert_eq!(body["error"], "bad_field", "{query}: {body}");
        let message = body["message"].as_str().unwrap_or_default();
        assert!(message.starts_with(&format!("{field}:")), "{query}: {message}");
    }
    // Without a period: this month (company time), empty.
    let (status, body) = server.get("/v1/office/reports").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["period"], json!({"from": "2025-01-01", "to": "2025-01-31"}));
    assert_eq!(body["rows"], json!([]));
    assert_eq!(body["total"]["orders"], 0);
    // Without a token: 401.
    let (status, _) = server.call(Method::GET, "/v1/office/reports", None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

on_both_backends!(
    the_report_counts_deadlines_compliance_and_follow_ups_and_exports_csv,
    bad_report_parameters_answer_400_naming_the_field,
);
