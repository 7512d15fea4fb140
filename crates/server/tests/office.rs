//! The office API, driven over HTTP against the real server on port 0 with
//! a clock the tests move, and a tablet that enrols and pushes sealed records
//! (the harness is `common::office`, shared with the report and list tests).

#[macro_use]
mod common;

use chrono::TimeDelta;
use common::office::*;
use hearth_domain::{ArrivalEvidence, CompletedStep, CustomerSignoff, RoomKind, StepEvidence};
use hearth_protocol::{SignerRole, Supersedes};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

#[tokio::test]
async fn work_orders_are_created_assigned_rescheduled_and_cancelled_and_stale_revisions_are_refused() {
    let t0 = utc("2025-01-10T01:00:00Z");
    let server = Server::start(t0).await;
    server.technician("T1", "王师傅").await;
    server.technician("T2", "李师傅").await;

    let created = server.order(order_body("WO-A", "repair", t0, "301")).await;
    assert_eq!(created["id"], "WO-A");
    assert_eq!(created["rev"], 1);
    assert_eq!(created["body"]["status"], "open");
    assert_eq!(created["body"]["order"]["customer"]["name"], "张三");

    let (status, dup) = server.post("/v1/office/work-orders", order_body("WO-A", "leak", t0, "302")).await;
    assert_eq!((status, dup["error"].as_str()), (StatusCode::CONFLICT, Some("work_order_exists")), "{dup}");

    // Generated ids count up per (company-local) received date: 2025-01-10 09:00 +08:00.
    let mut generated = order_body("ignored", "leak", t0, "303");
    generated.as_object_mut().map(|o| o.remove("id"));
    let first = server.order(generated.clone()).await;
    let second = server.order(generated).await;
    assert_eq!(first["id"], "WO-20250110-0001");
    assert_eq!(second["id"], "WO-20250110-0002");

    let assigned = server
        .post_ok(
            "/v1/office/work-orders/WO-A/assign",
            json!({"technicians": ["T1", "T2"], "expected_rev": 1}),
            StatusCode::OK,
        )
        .await;
    assert_eq!(assigned["rev"], 2);
    assert_eq!(assigned["body"]["order"]["assigned_technicians"], json!(["T1", "T2"]));

    let (status, stale) = server
        .post("/v1/office/work-orders/WO-A/assign", json!({"technicians": ["T1"], "expected_rev": 1}))
        .await;
    assert_eq!((status, stale["error"].as_str()), (StatusCode::CONFLICT, Some("stale_revision")), "{stale}");

    let (status, unknown) = server
        .post("/v1/office/work-orders/WO-A/assign", json!({"technicians": ["T9"], "expected_rev": 2}))
        .await;
    assert_eq!(
        (status, unknown["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("unknown_technician")),
        "{unknown}"
    );

    let slot = json!({"start": "2025-01-10T14:00:00+08:00", "end": "2025-01-10T16:00:00+08:00"});
    let moved = server
        .post_ok(
            "/v1/office/work-orders/WO-A/reschedule",
            json!({"appointment": slot, "expected_rev": 2}),
            StatusCode::OK,
        )
        .await;
    assert_eq!(moved["rev"], 3);
    assert_eq!(moved["body"]["order"]["appointment"]["start"], "2025-01-10T06:00:00Z");

    let (status, stale) = server
        .post("/v1/office/work-orders/WO-A/reschedule", json!({"appointment": slot, "expected_rev": 2}))
        .await;
    assert_eq!((status, stale["error"].as_str()), (StatusCode::CONFLICT, Some("stale_revision")), "{stale}");

    let backwards = json!({"start": "2025-01-10T16:00:00+08:00", "end": "2025-01-10T14:00:00+08:00"});
    let (status, bad) = server
        .post("/v1/office/work-orders/WO-A/reschedule", json!({"appointment": backwards, "expected_rev": 3}))
        .await;
    assert_eq!((status, bad["error"].as_str()), (StatusCode::BAD_REQUEST, Some("bad_field")), "{bad}");
    assert!(bad["message"].as_str().unwrap_or("").starts_with("appointment.end"), "{bad}");

    let (status, stale) = server
        .post("/v1/office/work-orders/WO-A/cancel", json!({"reason": "重复工单", "expected_rev": 1}))
        .await;
    assert_eq!((status, stale["error"].as_str()), (StatusCode::CONFLICT, Some("stale_revision")), "{stale}");

    let cancelled = server
        .post_ok(
            "/v1/office/work-orders/WO-A/cancel",
            json!({"reason": "重复工单", "expected_rev": 3}),
            StatusCode::OK,
        )
        .await;
    assert_eq!(cancelled["body"]["status"], "cancelled");
    assert_eq!(cancelled["body"]["cancellation"]["reason"], "重复工单");

    let (status, closed) = server
        .post("/v1/office/work-orders/WO-A/assign", json!({"technicians": ["T1"], "expected_rev": 4}))
        .await;
    assert_eq!(
        (status, closed["error"].as_str()),
        (StatusCode::CONFLICT, Some("order_cancelled")),
        "{closed}"
    );

    let (_, detail) = server.get("/v1/office/work-orders/WO-A").await;
    let actions: Vec<&str> =
        detail["history"].as_array().into_iter().flatten().filter_map(|h| h["action"].as_str()).collect();
    assert_eq!(actions, ["created", "assigned", "rescheduled", "cancelled"]);
    assert_eq!(detail["deadlines"], json!([]), "a cancelled order has no deadlines");

    let (status, missing) = server.get("/v1/office/work-orders/WO-NOPE").await;
    assert_eq!((status, missing["error"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")));
}

#[tokio::test]
async fn a_cancelled_order_leaves_the_assigned_tablet_as_work_order_removed() {
    let t0 = utc("2025-01-10T01:00:00Z");
    let server = Server::start(t0).await;
    server.technician("T1", "王师傅").await;
    let tablet = Tablet::enrol(&server, 7, &["T1"]).await;
    let mut body = order_body("WO-FEED", "repair", t0, "301");
    body["technicians"] = json!(["T1"]);
    server.order(body).await;

    let items = tablet.feed(&server).await;
    let item = find_feed(&items, "WO-FEED");
    assert_eq!(item["kind"], "work_order", "the assigned technician's tablet receives the order: {item}");
    assert_eq!(item["body"]["order"]["id"], "WO-FEED");
    assert_eq!(item["body"]["status"], "open");

    server
        .post_ok(
            "/v1/office/work-orders/WO-FEED/cancel",
            json!({"reason": "客户取消", "expected_rev": 1}),
            StatusCode::OK,
        )
        .await;
    let items = tablet.feed(&server).await;
    let item = find_feed(&items, "WO-FEED");
    assert_eq!(item["kind"], "work_order_removed", "{item}");
    assert!(item.get("body").is_none(), "a removal carries no customer data: {item}");
    assert_eq!(item["rev"], 2);
}

fn find_feed<'a>(items: &'a [Value], id: &str) -> &'a Value {
    items
        .iter()
        .find(|i| i["id"] == id && (i["kind"] == "work_order" || i["kind"] == "work_order_removed"))
        .unwrap_or_else(|| panic!("{id} is not in the feed: {items:?}"))
}

#[tokio::test]
async fn deadlines_are_met_open_at_risk_or_missed_on_server_bracketed_times() {
    let t0 = utc("2025-01-10T01:00:00Z");
    let server = Server::start(t0).await;
    server.technician("T1", "王师傅").await;
    let mut tablet = Tablet::enrol(&server, 3, &["T1"]).await;

    server.order(for_team(order_body("WO-REPAIR", "repair", t0, "301"), &["T1"])).await;

    // Dispatch records the phone call 10 minutes in.
    server.set_now(t0 + minutes(15));
    server
        .post_ok(
            "/v1/office/work-orders/WO-REPAIR/milestones",
            json!({"contacted_at": iso(t0 + minutes(10)), "expected_rev": 1}),
            StatusCode::OK,
        )
        .await;

    // The technician claims arrival at +90 min; the server receives it at +100 min.
    server.set_now(t0 + minutes(100));
    let arrival = tablet.arrival(&server, "WO-REPAIR", t0 + minutes(90), t0 + minutes(95)).await;
    assert!(arrival.flags.is_empty(), "{:?}", arrival.flags);

    server.order(for_team(order_body("WO-LATE-CLAIM", "leak", t0 + minutes(50), "302"), &["T1"])).await;
    // The tablet holds the +100 min receipt, then claims an arrival at +60 min
    // for a leak received at +50 min (due +80 min): the claim cannot be earlier
    // than the receipt it already held, so the leak was reached late.
    server.set_now(t0 + minutes(110));
    tablet.arrival(&server, "WO-LATE-CLAIM", t0 + minutes(60), t0 + minutes(105)).await;

    let now = t0 + minutes(120);
    server.set_now(now);
    server.order(order_body("WO-LEAK-RISK", "leak", now - minutes(25), "303")).await;
    server.order(order_body("WO-LEAK-MISSED", "leak", now - minutes(40), "304")).await;
    server.order(order_body("WO-LEAK-OPEN", "leak", now - minutes(10), "305")).await;

    let list = server.listed("").await;
    let repair = find(&list, "WO-REPAIR");
    assert_eq!(deadline_state(repair, "contact"), "met", "{repair}");
    assert_eq!(deadline_state(repair, "on_site"), "met", "{repair}");
    assert_eq!(deadline_state(repair, "fixed"), "open", "{repair}");
    let on_site = &repair["evidence"]["on_site_at"];
    assert_eq!(on_site["record_id"], arrival.record_id.as_str());
    assert_eq!(on_site["claimed"], "2025-01-10T02:30:00Z", "the device's claim is shown");
    assert_eq!(on_site["received_at"], "2025-01-10T02:40:00Z", "beside the server's receipt");
    assert_eq!(on_site["at"], "2025-01-10T02:30:00Z", "a claim inside the bracket stands");
    assert_eq!(repair["milestones"]["on_site_at"], "2025-01-10T02:30:00Z");
    assert!(repair["order"]["milestones"].get("on_site_at").is_none(), "dispatch did not record it");

    let late = find(&list, "WO-LATE-CLAIM");
    let ev = &late["evidence"]["on_site_at"];
    assert_eq!(ev["claimed"], "2025-01-10T02:00:00Z");
    assert_eq!(ev["not_before"], "2025-01-10T02:40:00Z");
    assert_eq!(ev["at"], "2025-01-10T02:40:00Z");
    assert_eq!(ev["adjusted"], true);
    assert_eq!(
        deadline_state(late, "on_site"),
        "missed",
        "judged on the bracketed time, not the claim: {late}"
    );

    assert_eq!(deadline_state(find(&list, "WO-LEAK-RISK"), "on_site"), "at_risk");
    assert_eq!(deadline_state(find(&list, "WO-LEAK-MISSED"), "on_site"), "missed");
    assert_eq!(deadline_state(find(&list, "WO-LEAK-OPEN"), "on_site"), "open");

    // A claim later than the server's receipt is brought back to the receipt.
    server.set_now(now + minutes(5));
    tablet.forget_receipts();
    tablet.resolved(&server, "WO-LEAK-OPEN", now + minutes(9)).await;
    let (_, detail) = server.get("/v1/office/work-orders/WO-LEAK-OPEN").await;
    assert_eq!(detail["evidence"]["completed_at"]["at"], iso(now + minutes(5)), "{detail}");

    let leaks = server.listed("?category=leak").await;
    assert_eq!(leaks.len(), 4);
    assert!(leaks.iter().all(|o| o["order"]["category"] == "leak"));
    let (status, bad) = server.get("/v1/office/work-orders?status=bogus").await;
    assert_eq!((status, bad["error"].as_str()), (StatusCode::BAD_REQUEST, Some("bad_field")), "{bad}");
}

#[tokio::test]
async fn the_order_detail_lists_its_records_with_receipts_and_marks_the_latest_version() {
    let t0 = utc("2025-01-10T01:00:00Z");
    let server = Server::start(t0).await;
    server.technician("T1", "王师傅").await;
    let mut tablet = Tablet::enrol(&server, 4, &["T1"]).await;
    server.order(for_team(order_body("WO-REC", "repair", t0, "301"), &["T1"])).await;

    server.set_now(t0 + minutes(40));
    let first = tablet.arrival(&server, "WO-REC", t0 + minutes(30), t0 + minutes(30)).await;
    server.set_now(t0 + minutes(60));
    let step = CompletedStep {
        at: t0 + minutes(35),
        evidence: StepEvidence::Arrival(ArrivalEvidence {
            body_camera_on: true,
            knocked_gently: true,
            work_id_shown: true,
            note: None,
            photos: vec![],
        }),
    };
    let correction = tablet
        .push(
            &server,
            "hearth.visit_step/1",
            "WO-REC",
            t0 + minutes(50),
            &[(SignerRole::Performer, "T1")],
            vec![],
            vec![],
            Some(Supersedes {
                record_id: first.record_id.clone(),
                content_hash: first.content_hash,
                reason: "时间记错".into(),
            }),
            serde_json::to_value(step).unwrap_or_default(),
        )
        .await;

    let (status, detail) = server.get("/v1/office/work-orders/WO-REC").await;
    assert_eq!(status, StatusCode::OK, "{detail}");
    let records = detail["records"].as_array().cloned().unwrap_or_default();
    assert_eq!(records.len(), 2);
    let old = &records[0];
    assert_eq!(old["record_id"], first.record_id.as_str());
    assert_eq!(old["schema"], "hearth.visit_step/1");
    assert_eq!(old["seq"], 1);
    assert_eq!(old["device_id"], tablet.device_id.as_str());
    assert_eq!(old["status"], "valid");
    assert_eq!(old["flags"], json!([]));
    assert_eq!(old["received_at"], "2025-01-10T01:40:00Z");
    assert_eq!(old["claimed"]["claimed"], "2025-01-10T01:30:00Z");
    assert_eq!(old["latest"], false);
    assert_eq!(old["superseded_by"], json!([correction.record_id]));
    assert_eq!(old["latest_version"], correction.record_id.as_str());
    assert_eq!(old["signers"][0]["signed"], true);
    let new = &records[1];
    assert_eq!(new["latest"], true);
    assert_eq!(new["supersedes"]["record_id"], first.record_id.as_str());
    assert_eq!(new["supersedes"]["bound"], true);
    assert_eq!(new["supersedes"]["reason"], "时间记错");
    assert_eq!(first.receipt["status"], "valid");
    assert_eq!(
        detail["evidence"]["on_site_at"]["record_id"],
        correction.record_id.as_str(),
        "only the latest version evidences the milestone"
    );
    assert_eq!(
        detail["milestones"]["on_site_at"],
        iso(t0 + minutes(40)),
        "claim +35 min, held receipt +40 min"
    );
}

#[tokio::test]
async fn the_follow_up_queue_holds_the_repair_orders_from_completion_with_time_left_and_late_ones_marked() {
    let t0 = utc("2025-01-10T02:00:00Z"); // 10:00 local
    let server = Server::start(t0).await;
    server.technician("T1", "王师傅").await;
    let mut tablet = Tablet::enrol(&server, 5, &["T1"]).await;
    for (id, category, room) in [
        ("WO-R1", "repair", "301"),
        ("WO-R2", "leak", "302"),
        ("WO-R3", "repair", "303"),
        ("WO-TT", "temperature_test", "304"),
        ("WO-R4", "repair", "305"),
    ] {
        server.order(for_team(order_body(id, category, t0, room), &["T1"])).await;
    }
    // R1 completed by dispatch's word at +1 h; TT too.
    server.set_now(t0 + minutes(70));
    for id in ["WO-R1", "WO-TT"] {
        server
            .post_ok(
                &format!("/v1/office/work-orders/{id}/milestones"),
                json!({"completed_at": iso(t0 + minutes(60)), "expected_rev": 1}),
                StatusCode::OK,
            )
            .await;
    }
    // R2 completed by the technician's record at +3 h.
    server.set_now(t0 + minutes(185));
    tablet.resolved(&server, "WO-R2", t0 + minutes(180)).await;
    // R3 completed at +11 h.
    server.set_now(t0 + minutes(11 * 60));
    server
        .post_ok(
            "/v1/office/work-orders/WO-R3/milestones",
            json!({"completed_at": iso(t0 + minutes(11 * 60)), "expected_rev": 1}),
            StatusCode::OK,
        )
        .await;

    // +57.5 h = 2025-01-12 19:30 local (after the evening meal).
    let call_at = t0 + minutes(57 * 60 + 30);
    server.set_now(call_at);
    let (status, queue) = server.get("/v1/office/follow-ups").await;
    assert_eq!(status, StatusCode::OK, "{queue}");
    let ids: Vec<&str> = queue.as_array().into_iter().flatten().filter_map(|q| q["id"].as_str()).collect();
    assert_eq!(
        ids,
        ["WO-R1", "WO-R2", "WO-R3"],
        "oldest completion first, each from its completion; TT not a repair, R4 not done"
    );
    assert_eq!(queue[0]["due"]["late"], true, "R1 was completed 56.5 h ago: its 48 h window passed");
    assert_eq!(queue[0]["due"]["minutes_left"], -(8 * 60 + 30));
    assert_eq!(queue[2]["due"]["late"], false, "R3 was completed 46.5 h ago");
    assert_eq!(queue[2]["due"]["minutes_left"], 90);
    assert_eq!(queue[0]["customer"]["phone"], "13800138000", "the dispatcher needs the number to call");
    assert_eq!(queue[1]["completed_evidence"]["received_at"], iso(t0 + minutes(185)));

    let (status, stale) = server
        .post("/v1/office/work-orders/WO-R1/follow-up", json!({"outcome": "satisfied", "expected_rev": 1}))
        .await;
    assert_eq!((status, stale["error"].as_str()), (StatusCode::CONFLICT, Some("stale_revision")), "{stale}");

    let called = server
        .post_ok(
            "/v1/office/work-orders/WO-R1/follow-up",
            json!({"outcome": "satisfied", "note": "用户满意", "expected_rev": 2}),
            StatusCode::OK,
        )
        .await;
    assert_eq!(called["body"]["status"], "closed");
    assert_eq!(called["body"]["follow_up"]["outcome"], "satisfied");
    assert_eq!(called["body"]["order"]["milestones"]["follow_up_at"], iso(call_at));

    let r2_rev = server.rev_of("WO-R2").await;
    let attempt = server
        .post_ok(
            "/v1/office/work-orders/WO-R2/follow-up",
            json!({"outcome": "unreachable", "expected_rev": r2_rev}),
            StatusCode::OK,
        )
        .await;
    assert_eq!(attempt["body"]["status"], "open", "nobody answered: the call is still owed");

    let (_, queue) = server.get("/v1/office/follow-ups").await;
    let ids: Vec<&str> = queue.as_array().into_iter().flatten().filter_map(|q| q["id"].as_str()).collect();
    assert_eq!(ids, ["WO-R2", "WO-R3"], "the recorded call removed R1");
    assert_eq!(queue[0]["last_attempt"]["outcome"], "unreachable");

    let (status, not_done) = server
        .post("/v1/office/work-orders/WO-R4/follow-up", json!({"outcome": "satisfied", "expected_rev": 1}))
        .await;
    assert_eq!(
        (status, not_done["error"].as_str()),
        (StatusCode::CONFLICT, Some("not_completed")),
        "{not_done}"
    );

    // Just past 48 h after R3's completion, it is late.
    server.set_now(t0 + minutes(11 * 60 + 48 * 60 + 1));
    let (_, queue) = server.get("/v1/office/follow-ups").await;
    let r3 = queue.as_array().into_iter().flatten().find(|q| q["id"] == "WO-R3").cloned().unwrap_or_default();
    assert_eq!((r3["due"]["late"].clone(), r3["due"]["minutes_left"].clone()), (json!(true), json!(-1)));

    // The call is the follow-up milestone the domain's deadline is judged on:
    // one window, within 48 h of completion, for the queue and the deadline.
    let closed = server.listed("?status=closed").await;
    let r1 = find(&closed, "WO-R1");
    let call = r1["deadlines"].as_array().into_iter().flatten().find(|d| d["kind"] == "follow_up_call");
    assert_eq!(call.map(|d| d["at"].clone()), Some(json!(iso(call_at))), "{r1}");
}

#[tokio::test]
async fn follow_up_calls_outside_seven_to_twenty_two_local_time_are_refused() {
    let t0 = utc("2025-01-10T02:00:00Z");
    let server = Server::start(t0).await;
    server.order(order_body("WO-CALL", "repair", t0, "301")).await;
    server.set_now(t0 + minutes(70));
    server
        .post_ok(
            "/v1/office/work-orders/WO-CALL/milestones",
            json!({"completed_at": iso(t0 + minutes(60)), "expected_rev": 1}),
            StatusCode::OK,
        )
        .await;
    let call = json!({"outcome": "satisfied", "expected_rev": 2});
    for (local_time, utc_time) in [
        ("23:00", "2025-01-12T15:00:00Z"),
        ("06:59", "2025-01-12T22:59:00Z"),
        ("22:01", "2025-01-12T14:01:00Z"),
    ] {
        server.set_now(utc(utc_time));
        let (status, refused) = server.post("/v1/office/work-orders/WO-CALL/follow-up", call.clone()).await;
        assert_eq!(
            (status, refused["error"].as_str()),
            (StatusCode::CONFLICT, Some("outside_calling_hours")),
            "{local_time} local: {refused}"
        );
    }
    server.set_now(utc("2025-01-12T23:00:00Z")); // 07:00 local
    server.post_ok("/v1/office/work-orders/WO-CALL/follow-up", call, StatusCode::OK).await;
}

#[tokio::test]
async fn repeat_repairs_are_repairs_and_leaks_at_one_home_within_30_days_flagged_on_the_newer_order() {
    let d0 = utc("2025-01-01T02:00:00Z");
    let server = Server::start(d0 + TimeDelta::days(100)).await;
    let day = |n: i64| d0 + TimeDelta::days(n);
    server.order(order_body("WO-L1", "leak", day(0), "301")).await;
    let filed = server.order(order_body("WO-L2", "leak", day(20), "301")).await;
    // The snapshot the feed carries to the technician holds the flag as
    // found when the order was filed.
    assert_eq!(filed["body"]["repeat_of"], json!(["WO-L1"]), "{filed}");
    server.order(order_body("WO-L3", "leak", day(95), "301")).await; // 65 days after R2
    server.order(order_body("WO-R1", "repair", day(5), "301")).await; // a repair counts too
    server.order(order_body("WO-T1", "temperature_test", day(6), "301")).await; // not a repair
    server.order(order_body("WO-V1", "valve_open", day(7), "301")).await; // not a repair
    server.order(order_body("WO-L-OTHER", "leak", day(1), "302")).await; // another room
    // The same home written with a space and a full-width digit is the same home.
    let mut same_home = order_body("WO-R2", "repair", day(30), "301");
    same_home["customer"]["address"]["building"] = json!("３号楼");
    same_home["customer"]["address"]["community"] = json!("幸福 小区");
    server.order(same_home).await;

    let (status, groups) = server.get("/v1/office/repeat-repairs").await;
    assert_eq!(status, StatusCode::OK, "{groups}");
    let groups = groups.as_array().cloned().unwrap_or_default();
    let members: Vec<Vec<&str>> = groups
        .iter()
        .map(|g| g["work_orders"].as_array().into_iter().flatten().filter_map(|m| m["id"].as_str()).collect())
        .collect();
    assert_eq!(members, vec![vec!["WO-L1", "WO-R1", "WO-L2", "WO-R2"]]);
    assert_eq!(groups[0]["category"], "leak");
    assert_eq!(groups[0]["address"]["room"], "301");

    let (_, leaks_only) = server.get("/v1/office/repeat-repairs?category=leak").await;
    assert_eq!(leaks_only.as_array().map(Vec::len), Some(1));

    // The flag is on the newer order, for the dispatcher.
    let (_, r2) = server.get("/v1/office/work-orders/WO-R2").await;
    assert_eq!(
        r2["repeat_of"],
        json!(["WO-L1", "WO-R1", "WO-L2"]),
        "within 30 days, the 30th day included: {r2}"
    );
    let (_, l1) = server.get("/v1/office/work-orders/WO-L1").await;
    assert!(l1.get("repeat_of").is_none(), "the first one repeats nothing: {l1}");
    let (_, t1) = server.get("/v1/office/work-orders/WO-T1").await;
    assert!(t1.get("repeat_of").is_none(), "a temperature test is never a repeat repair: {t1}");
}

#[tokio::test]
async fn temperature_tests_show_per_room_compliance_signers_the_customer_answer_and_the_first_cold_date() {
    let t0 = utc("2025-01-10T01:00:00Z");
    let server = Server::start(t0).await;
    server.technician("T1", "王师傅").await;
    server.technician("T2", "李师傅").await;
    server
        .post_ok(
            "/v1/office/thermometers",
            json!({"serial": "TH-01", "certificate": "检定-2024-001", "valid_until": "2026-01-01"}),
            StatusCode::CREATED,
        )
        .await;
    let mut tablet = Tablet::enrol(&server, 9, &["T1", "T2"]).await;
    server.order(for_team(order_body("WO-TT1", "temperature_test", t0, "301"), &["T1", "T2"])).await;
    server.order(for_team(order_body("WO-TT3", "temperature_test", t0, "999"), &["T1", "T2"])).await;

    // 2025-01-10 10:00 local: the living room is cold, the bedroom fine.
    let cold = vec![
        reading("TEST-1", RoomKind::LivingRoom, "客厅", 1750, "2025-01-10T10:00:00+08:00"),
        reading("TEST-1", RoomKind::Bedroom, "主卧", 1900, "2025-01-10T10:10:00+08:00"),
    ];
    let refused = CustomerSignoff::refused("认为温度计不准", "客厅 17.50 °C，主卧 19.00 °C")
        .unwrap_or_else(|e| panic!("{e}"));
    let (first, first_report) = temperature_test(&server, &mut tablet, "WO-TT1", cold, Some(refused)).await;

    // 2025-01-15: back to standard, signed.
    server.set_now(utc("2025-01-15T01:00:00Z"));
    server
        .order(for_team(
            order_body("WO-TT2", "temperature_test", utc("2025-01-15T01:00:00Z"), "301"),
            &["T1", "T2"],
        ))
        .await;
    let warm = vec![
        reading("TEST-2", RoomKind::LivingRoom, "客厅", 1850, "2025-01-15T10:00:00+08:00"),
        reading("TEST-2", RoomKind::Bedroom, "主卧", 1900, "2025-01-15T10:10:00+08:00"),
    ];
    let signed =
        CustomerSignoff::signed(&"ab".repeat(32), &"cd".repeat(32), "客厅 18.50 °C，主卧 19.00 °C", 5, None)
            .unwrap_or_else(|e| panic!("{e}"));
    let (second, _) = temperature_test(&server, &mut tablet, "WO-TT2", warm, Some(signed)).await;

    // Another home, no sign-off yet.
    let unsigned = vec![reading("TEST-3", RoomKind::LivingRoom, "客厅", 1500, "2025-01-15T11:00:00+08:00")];
    temperature_test(&server, &mut tablet, "WO-TT3", unsigned, None).await;

    let (status, result) = server.get("/v1/office/temperature-tests").await;
    assert_eq!(status, StatusCode::OK, "{result}");
    let tests = result["tests"].as_array().cloned().unwrap_or_default();
    assert_eq!(tests.len(), 3);
    let of = |wo: &str| tests.iter().find(|t| t["work_order_id"] == wo).cloned().unwrap_or_default();

    let t1 = of("WO-TT1");
    assert_eq!(t1["record_id"], first.record_id.as_str());
    assert_eq!(t1["report"]["median"], first_report.median.0);
    assert_eq!(t1["report"]["compliance"]["verdict"], "below_standard");
    let rooms = t1["report"]["compliance"]["rooms"].as_array().cloned().unwrap_or_default();
    assert_eq!(rooms.len(), 2);
    assert_eq!(
        (rooms[0]["label"].as_str(), rooms[0]["verdict"].as_str()),
        (Some("客厅"), Some("below_standard"))
    );
    assert_eq!((rooms[1]["label"].as_str(), rooms[1]["verdict"].as_str()), (Some("主卧"), Some("compliant")));
    let signers: Vec<(String, String, bool)> = t1["signers"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| {
            (
                s["role"].as_str().unwrap_or("").into(),
                s["tech_id"].as_str().unwrap_or("").into(),
                s["signed"] == true,
            )
        })
        .collect();
    assert_eq!(signers, vec![("performer".into(), "T1".into(), true), ("witness".into(), "T2".into(), true)]);
    assert_eq!(t1["customer"]["state"], "refused");
    assert_eq!(t1["customer"]["reason"], "认为温度计不准");
    assert_eq!(t1["measured_on"], "2025-01-10");
    assert_eq!(t1["measured_at"]["claimed"], "2025-01-10T02:00:00Z");
    assert_eq!(t1["counts"], true, "a refusal is a complete answer");
    assert_eq!(t1["judged"]["verdict"], "below_standard", "the server judged the readings itself");
    assert_eq!(t1["judgement_flags"], json!([]));

    let t2 = of("WO-TT2");
    assert_eq!(t2["record_id"], second.record_id.as_str());
    assert_eq!(t2["report"]["compliance"]["verdict"], "compliant");
    assert_eq!(t2["customer"]["state"], "signed");
    assert_eq!(t2["customer"]["satisfaction"], 5);

    let t3 = of("WO-TT3");
    assert_eq!(t3["customer"]["state"], "missing");
    assert_eq!(t3["counts"], false, "a test record without the customer's answer is not valid");

    let addresses = result["addresses"].as_array().cloned().unwrap_or_default();
    let home = addresses.iter().find(|a| a["address"]["room"] == "301").cloned().unwrap_or_default();
    assert_eq!(home["first_non_compliant_on"], "2025-01-10");
    assert_eq!(home["first_non_compliant_record_id"], first.record_id.as_str());
    assert_eq!(home["compliant_again"], true);
    assert_eq!(home["compliant_again_on"], "2025-01-15");
    assert_eq!(home["work_orders"], json!(["WO-TT1", "WO-TT2"]));
    assert!(addresses.iter().all(|a| a["address"]["room"] != "999"), "an unanswered report does not count");

    // The household's heating season: cold from 10 January (the refusal is
    // a complete answer) until measured warm on 15 January: five days at
    // half the fee. The unanswered home is not measured at all.
    assert_eq!(t1["outside_heating_season"], false);
    let (status, homes) = server.get("/v1/office/households").await;
    assert_eq!(status, StatusCode::OK, "{homes}");
    let homes = homes.as_array().cloned().unwrap_or_default();
    assert_eq!(homes.len(), 1, "{homes:?}");
    let season = &homes[0]["seasons"][0];
    assert_eq!(season["season"], json!({"first_day": "2024-11-01", "last_day": "2025-03-31"}));
    assert_eq!(season["first_non_compliant"]["record_id"], first.record_id.as_str());
    assert_eq!(season["back_to_standard"]["record_id"], second.record_id.as_str());
    assert_eq!((season["non_compliant_days"].clone(), season["reduced_days"].clone()), (json!(5), json!(5)));
    assert_eq!(season["fee_reduction_percent"], 50);
    let (_, communities) = server.get("/v1/office/communities").await;
    assert_eq!(
        communities,
        json!([{"community": "幸福小区", "households_measured": 1, "households_non_compliant": 1,
                "non_compliant_days": 5, "reduced_days": 5}])
    );
    let (_, other) = server.get("/v1/office/households?community=别的小区").await;
    assert_eq!(other, json!([]));

    // One order's view still knows when its home was first found cold.
    let (_, only) = server.get("/v1/office/temperature-tests?work_order=WO-TT2").await;
    assert_eq!(only["tests"].as_array().map(Vec::len), Some(1));
    assert_eq!(only["addresses"][0]["first_non_compliant_on"], "2025-01-10");

    // The testers' visit and report are evidence for the order's deadlines.
    let (_, detail) = server.get("/v1/office/work-orders/WO-TT1").await;
    assert_eq!(deadline_state(&detail, "testers_on_site"), "met", "{detail}");
    assert_eq!(detail["milestones"]["on_site_at"], "2025-01-10T02:00:00Z");

    let (status, unknown) = server.get("/v1/office/temperature-tests?work_order=WO-NONE").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{unknown}");
}

#[tokio::test]
async fn sql_metacharacters_and_chinese_text_are_stored_and_returned_verbatim_in_every_field() {
    let t0 = utc("2025-01-10T02:00:00Z");
    let server = Server::start(t0).await;
    let tech_name = "李师傅'); DROP TABLE snapshot;--";
    server.technician("T1", tech_name).await;
    let texts = json!({
        "name": "王小明\"; DELETE FROM entry WHERE '1'='1",
        "community": "幸福小区' OR 1=1 --",
        "building": "3号楼; UPDATE snapshot SET rev=0",
        "unit": "2单元 /* 注释 */",
        "room": "301%_\\",
        "fault": "暖气片漏水，地板已湿。\n用户说：'请尽快'; SELECT * FROM snapshot;",
        "equipment": "壁挂炉 `rm -rf /` $(id)",
        "reason": "用户已自行修好'); --",
        "note": "回访：用户很满意 \"五星\" ; DROP TABLE entry;",
    });
    let t = |k: &str| texts[k].as_str().unwrap_or_default().to_owned();
    let body = json!({
        "id": "WO-SQL'--",
        "category": "repair",
        "priority": "urgent",
        "customer": {"name": t("name"), "phone": "+86 138-0013-8000",
                     "address": {"community": t("community"), "building": t("building"), "unit": t("unit"), "room": t("room")}},
        "fault_description": t("fault"),
        "equipment_type": t("equipment"),
        "received_at": iso(t0),
        "technicians": ["T1"],
    });
    server.order(body).await;
    let mut other = order_body("WO-CANCEL", "leak", t0, "1");
    other["customer"]["name"] = json!(t("name"));
    server.order(other).await;

    let (status, detail) = server.get("/v1/office/work-orders/WO-SQL'--").await;
    assert_eq!(status, StatusCode::OK, "{detail}");
    let order = &detail["order"];
    assert_eq!(order["id"], "WO-SQL'--");
    assert_eq!(order["customer"]["name"], t("name"));
    assert_eq!(order["customer"]["phone"], "+86 138-0013-8000");
    for part in ["community", "building", "unit", "room"] {
        assert_eq!(order["customer"]["address"][part], t(part), "{part}");
    }
    assert_eq!(order["fault_description"], t("fault"));
    assert_eq!(order["equipment_type"], t("equipment"));
    assert_eq!(order["priority"], "urgent");

    let list = server.listed("").await;
    assert_eq!(list.len(), 2, "nothing was dropped or duplicated");
    assert_eq!(find(&list, "WO-SQL'--")["order"]["customer"]["address"]["community"], t("community"));

    let cancelled = server
        .post_ok(
            "/v1/office/work-orders/WO-CANCEL/cancel",
            json!({"reason": t("reason"), "expected_rev": 1}),
            StatusCode::OK,
        )
        .await;
    assert_eq!(cancelled["body"]["cancellation"]["reason"], t("reason"));

    server
        .post_ok(
            "/v1/office/work-orders/WO-SQL'--/milestones",
            json!({"completed_at": iso(t0), "expected_rev": 1}),
            StatusCode::OK,
        )
        .await;
    let called = server
        .post_ok(
            "/v1/office/work-orders/WO-SQL'--/follow-up",
            json!({"outcome": "satisfied", "note": t("note"), "expected_rev": 2}),
            StatusCode::OK,
        )
        .await;
    assert_eq!(called["body"]["follow_up"]["note"], t("note"));

    let (_, techs) = server.get("/v1/office/technicians").await;
    assert_eq!(techs[0]["body"]["name"], tech_name);
    let cert = "检定证书 No.'1'=1 --";
    server
        .post_ok(
            "/v1/office/thermometers",
            json!({"serial": "TH-'01", "certificate": cert, "valid_until": "2026-03-31"}),
            StatusCode::CREATED,
        )
        .await;
    let (_, thermometers) = server.get("/v1/office/thermometers").await;
    assert_eq!(thermometers[0]["body"]["certificate_no"], cert);
    assert_eq!(thermometers[0]["body"]["serial"], "TH-'01");
}

#[tokio::test]
async fn control_characters_absurd_lengths_and_bad_values_are_refused_naming_the_field() {
    let t0 = utc("2025-01-10T02:00:00Z");
    let server = Server::start(t0).await;
    let cases: Vec<(&str, Value)> = vec![
        ("customer.name", json!({"customer": {"name": "张\u{7}三"}})),
        ("customer.phone", json!({"customer": {"phone": "call me"}})),
        ("customer.address.community", json!({"customer": {"address": {"community": "长".repeat(65)}}})),
        ("customer.address.room", json!({"customer": {"address": {"room": "3\u{0}01"}}})),
        ("fault_description", json!({"fault_description": "漏".repeat(2001)})),
        ("fault_description", json!({"fault_description": "漏水\u{1b}[31m"})),
        ("equipment_type", json!({"equipment_type": "a\nb"})),
        ("category", json!({"category": "fire"})),
        ("priority", json!({"priority": "asap"})),
        ("received_at", json!({"received_at": "yesterday"})),
        ("received_at", json!({"received_at": "2030-01-01T00:00:00Z"})),
        ("id", json!({"id": "WO 1"})),
        ("appointment.start", json!({"appointment": {"start": "soon", "end": "2025-01-10T10:00:00+08:00"}})),
    ];
    for (field, patch) in cases {
        let mut body = order_body("WO-X", "repair", t0, "301");
        merge(&mut body, &patch);
        let (status, error) = server.post("/v1/office/work-orders", body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{field}: {error}");
        assert_eq!(error["error"], "bad_field", "{field}: {error}");
        assert!(error["message"].as_str().unwrap_or("").starts_with(field), "{field}: {error}");
    }
    let (status, error) = server
        .post("/v1/office/technicians", json!({"tech_id": "T1", "name": "王\u{8}", "phone": "13800138000"}))
        .await;
    assert_eq!((status, error["error"].as_str()), (StatusCode::BAD_REQUEST, Some("bad_field")), "{error}");
    let (status, error) = server
        .post(
            "/v1/office/thermometers",
            json!({"serial": "TH-1", "certificate": "x", "valid_until": "next year"}),
        )
        .await;
    assert_eq!((status, error["error"].as_str()), (StatusCode::BAD_REQUEST, Some("bad_field")), "{error}");
    assert!(error["message"].as_str().unwrap_or("").starts_with("valid_until"));
    assert_eq!(server.listed("").await.len(), 0, "nothing refused was stored");
}

fn merge(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Object(t), Value::Object(p)) => {
            for (k, v) in p {
                merge(t.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
        (t, p) => *t = p.clone(),
    }
}

#[tokio::test]
async fn requests_without_a_valid_operator_token_are_refused_with_json() {
    let t0 = utc("2025-01-10T02:00:00Z");
    let server = Server::start(t0).await;
    server.technician("T1", "王师傅").await;
    let tablet = Tablet::enrol(&server, 11, &["T1"]).await;
    let body = order_body("WO-AUTH", "repair", t0, "301");
    for token in [None, Some("wrong-token"), Some(tablet.token.as_str())] {
        for (method, path, body) in [
            (Method::GET, "/v1/office/work-orders", None),
            (Method::POST, "/v1/office/work-orders", Some(&body)),
            (Method::GET, "/v1/office/follow-ups", None),
            (Method::PUT, "/v1/office/rule-set", Some(&json!({}))),
        ] {
            let (status, error) = server.call(method, path, token, body).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{path} with {token:?}");
            assert_eq!(error["error"], "unauthorized", "{error}");
        }
    }
    assert_eq!(server.listed("").await.len(), 0);
}

#[tokio::test]
async fn malformed_json_is_refused_with_a_400_json_error() {
    let t0 = utc("2025-01-10T02:00:00Z");
    let server = Server::start(t0).await;
    let resp = server
        .client
        .post(format!("{}/v1/office/work-orders", server.base))
        .bearer_auth(OPERATOR_TOKEN)
        .header("content-type", "application/json")
        .body("{\"id\": \"WO-1\", ")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let error: Value = resp.json().await.unwrap_or_default();
    assert_eq!(error["error"], "bad_json", "{error}");

    let (status, error) = server.post("/v1/office/work-orders", json!({"id": "WO-1"})).await;
    assert_eq!(
        (status, error["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("bad_json")),
        "missing fields: {error}"
    );
    let mut body = order_body("WO-1", "repair", t0, "301");
    body["colour"] = json!("red");
    let (status, error) = server.post("/v1/office/work-orders", body).await;
    assert_eq!(
        (status, error["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("bad_json")),
        "unknown field: {error}"
    );
    assert!(error["message"].as_str().unwrap_or("").contains("colour"), "{error}");
    let (status, error) = server
        .post("/v1/office/work-orders/WO-1/assign", json!({"technicians": "T1", "expected_rev": 1}))
        .await;
    assert_eq!((status, error["error"].as_str()), (StatusCode::BAD_REQUEST, Some("bad_json")), "{error}");
}

#[tokio::test]
async fn technicians_thermometers_and_the_rule_set_are_kept_as_snapshots() {
    let t0 = utc("2025-01-10T02:00:00Z");
    let server = Server::start(t0).await;
    server.technician("T1", "王师傅").await;
    let (status, dup) = server
        .post("/v1/office/technicians", json!({"tech_id": "T1", "name": "又一个", "phone": "13800138000"}))
        .await;
    assert_eq!((status, dup["error"].as_str()), (StatusCode::CONFLICT, Some("technician_exists")), "{dup}");
    let updated = server
        .post_ok(
            "/v1/office/technicians",
            json!({"tech_id": "T1", "name": "王师傅", "phone": "13900139000", "expected_rev": 1}),
            StatusCode::OK,
        )
        .await;
    assert_eq!(updated["rev"], 2);
    let (_, techs) = server.get("/v1/office/technicians").await;
    assert_eq!(techs[0]["body"], json!({"tech_id": "T1", "name": "王师傅", "phone": "13900139000"}));

    let (_, rules) = server.get("/v1/office/rule-set").await;
    assert_eq!(rules["rev"], 0, "the defaults until the office stores one");
    assert_eq!(rules["body"]["deadlines"]["follow_up_minutes"], 2880);
    let mut changed = rules["body"].clone();
    changed["deadlines"]["follow_up_minutes"] = json!(24 * 60);
    let stored = server.put("/v1/office/rule-set", changed.clone()).await;
    assert_eq!(stored.0, StatusCode::OK, "{}", stored.1);
    assert_eq!(stored.1["rev"], 1);
    let (status, stale) = server.put("/v1/office/rule-set?expected_rev=0", changed.clone()).await;
    assert_eq!((status, stale["error"].as_str()), (StatusCode::CONFLICT, Some("stale_revision")));
    // Nothing silently falls back: each of these is refused, naming the
    // field, and the stored rules stay as they were.
    let mut zero = changed.clone();
    zero["deadlines"]["leak_on_site_minutes"] = json!(0);
    let mut misspelt = changed.clone();
    misspelt["deadlines"]["leak_on_site_minuts"] = json!(20);
    let mut partial = changed.clone();
    if let Some(t) = partial["temperature"].as_object_mut() {
        t.remove("day_min");
    }
    for (bad_body, names) in [
        (json!([]), "rule set"),
        (json!({}), "rule set"),
        (misspelt, "deadlines.leak_on_site_minuts"),
        (partial, "day_min"),
        (zero, "deadlines.leak_on_site_minutes"),
    ] {
        let (status, bad) = server.put("/v1/office/rule-set", bad_body.clone()).await;
        assert_eq!(
            (status, bad["error"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_rule_set")),
            "{bad_body}: {bad}"
        );
        assert!(bad["message"].as_str().unwrap_or("").contains(names), "{bad_body}: {bad}");
        let (_, now_in_force) = server.get("/v1/office/rule-set").await;
        assert_eq!(now_in_force["rev"], 1, "unchanged");
        assert_eq!(now_in_force["body"]["deadlines"]["follow_up_minutes"], 24 * 60, "unchanged");
    }

    // The new rule applies: an order completed 30 h ago is now due a call.
    server.order(order_body("WO-RULE", "repair", t0 - minutes(31 * 60), "301")).await;
    server
        .post_ok(
            "/v1/office/work-orders/WO-RULE/milestones",
            json!({"completed_at": iso(t0 - minutes(30 * 60)), "reason": "技术员电话告知昨天已修好", "expected_rev": 1}),
            StatusCode::OK,
        )
        .await;
    let (_, queue) = server.get("/v1/office/follow-ups").await;
    assert_eq!(queue[0]["id"], "WO-RULE");

    let (status, bad) = server
        .post(
            "/v1/office/thermometers",
            json!({"serial": "TH 1", "certificate": "c", "valid_until": "2026-01-01"}),
        )
        .await;
    assert_eq!((status, bad["error"].as_str()), (StatusCode::BAD_REQUEST, Some("bad_field")), "{bad}");
}

#[tokio::test]
async fn a_late_notice_is_evidence_for_the_office_as_it_is_for_the_tablet() {
    // The tablet counted its late notices toward the late-notice deadline;
    // the office did not. One rule now (hearth_domain::evidence).
    let t0 = utc("2025-01-10T01:00:00Z");
    let server = Server::start(t0).await;
    server.technician("T1", "王师傅").await;
    let mut tablet = Tablet::enrol(&server, 21, &["T1"]).await;
    server.order(for_team(order_body("WO-LATE", "repair", t0, "301"), &["T1"])).await;
    server.set_now(t0 + minutes(20));
    let told = t0 + minutes(15);
    let notice = json!({"told_whom": "张三本人", "told_at_ms": told.timestamp_millis(),
                        "new_eta_ms": (t0 + minutes(120)).timestamp_millis()});
    let pushed = tablet
        .push(
            &server,
            "hearth.late_notice/1",
            "WO-LATE",
            told,
            &[(SignerRole::Performer, "T1")],
            vec![],
            vec![],
            None,
            notice,
        )
        .await;
    assert!(pushed.flags.is_empty(), "{:?}", pushed.flags);
    let (_, detail) = server.get("/v1/office/work-orders/WO-LATE").await;
    assert_eq!(detail["milestones"]["late_notice_at"], iso(told), "{detail}");
    assert_eq!(detail["evidence"]["late_notice_at"]["record_id"], pushed.record_id.as_str());
}

#[tokio::test]
async fn a_new_rule_set_applies_from_then_on_and_never_rewrites_past_results() {
    let t0 = utc("2025-01-10T01:00:00Z");
    let server = Server::start(t0).await;
    server.technician("T1", "王师傅").await;
    let mut tablet = Tablet::enrol(&server, 23, &["T1"]).await;
    server.order(for_team(order_body("WO-BEFORE", "repair", t0, "301"), &["T1"])).await;
    // On site after 100 minutes: within the 2 hours in force.
    server.set_now(t0 + minutes(105));
    tablet.arrival(&server, "WO-BEFORE", t0 + minutes(100), t0 + minutes(101)).await;
    let on_site = |o: &Value| deadline_state(o, "on_site");
    let (_, before) = server.get("/v1/office/work-orders/WO-BEFORE").await;
    assert_eq!((on_site(&before).as_str(), before["rule_set_version"].clone()), ("met", json!(0)));

    // The office tightens "on site" to one hour.
    server.set_now(t0 + minutes(200));
    let (_, rules) = server.get("/v1/office/rule-set").await;
    let mut tighter = rules["body"].clone();
    tighter["deadlines"]["repair_on_site_minutes"] = json!(60);
    let (status, stored) = server.put("/v1/office/rule-set", tighter).await;
    assert_eq!(status, StatusCode::OK, "{stored}");

    let (_, after) = server.get("/v1/office/work-orders/WO-BEFORE").await;
    assert_eq!(on_site(&after), "met", "a past result keeps the rules it was judged by: {after}");
    assert_eq!(after["rule_set_version"], 0);

    server.order(for_team(order_body("WO-AFTER", "repair", t0 + minutes(200), "302"), &["T1"])).await;
    let (_, new) = server.get("/v1/office/work-orders/WO-AFTER").await;
    assert_eq!(new["rule_set_version"], 1);
    let due = new["deadlines"].as_array().and_then(|d| d.iter().find(|x| x["kind"] == "on_site")).cloned();
    assert_eq!(
        due.map(|d| d["due"].clone()),
        Some(json!(iso(t0 + minutes(260)))),
        "the new rule applies from then on"
    );

    let (_, versions) = server.get("/v1/office/rule-set/versions").await;
    assert_eq!(versions.as_array().map(Vec::len), Some(1));
    assert_eq!(versions[0]["set_by"], "operator", "attributed to whoever set it");
    assert_eq!(versions[0]["effective_at_ms"], (t0 + minutes(200)).timestamp_millis(), "never back-dated");
}

#[tokio::test]
async fn nobody_home_returns_the_order_to_dispatch_and_the_knocks_meet_the_on_site_deadline() {
    let t0 = utc("2025-01-10T01:00:00Z");
    let server = Server::start(t0).await;
    server.technician("T1", "王师傅").await;
    let mut tablet = Tablet::enrol(&server, 25, &["T1"]).await;
    server.order(for_team(order_body("WO-AWAY", "repair", t0, "301"), &["T1"])).await;
    // The technician knocks three times at +90 min: within the 2 h on site.
    let knock = |m: i64| t0 + minutes(m);
    let concluded = json!({"at": iso(knock(100)), "outcome": {
        "kind": "nobody_home", "knocks": [iso(knock(90)), iso(knock(92)), iso(knock(94))],
        "phone_attempt_at": iso(knock(96)), "notice_placement": "under_door"}});
    server.set_now(t0 + minutes(101));
    let pushed = tablet
        .push(
            &server,
            "hearth.visit_outcome/1",
            "WO-AWAY",
            knock(100),
            &[(SignerRole::Performer, "T1")],
            vec![],
            vec![],
            None,
            concluded,
        )
        .await;
    assert!(pushed.flags.is_empty(), "{:?}", pushed.flags);

    server.set_now(t0 + minutes(200));
    let (_, order) = server.get("/v1/office/work-orders/WO-AWAY").await;
    assert_eq!(deadline_state(&order, "on_site"), "met", "an on-time technician found nobody home: {order}");
    assert_eq!(order["milestones"]["on_site_at"], iso(knock(90)));
    assert_eq!(order["needs_another_visit"]["outcome"], "nobody_home", "back with dispatch: {order}");
    assert_eq!(order["needs_another_visit"]["record_id"], pushed.record_id.as_str());

    // Fixed on the second visit: nothing more is owed.
    tablet.resolved(&server, "WO-AWAY", t0 + minutes(190)).await;
    let (_, order) = server.get("/v1/office/work-orders/WO-AWAY").await;
    assert!(order.get("needs_another_visit").is_none(), "{order}");
}

#[tokio::test]
async fn milestones_set_by_the_office_are_attributed_and_never_back_dated_silently() {
    let t0 = utc("2025-01-10T01:00:00Z");
    let server = Server::start(t0).await;
    server.order(order_body("WO-PHONE", "repair", t0, "301")).await;
    server.set_now(t0 + minutes(120));
    // The customer says the technician rang an hour ago: a time in the past needs a reason.
    let (status, refused) = server
        .post(
            "/v1/office/work-orders/WO-PHONE/milestones",
            json!({"contacted_at": iso(t0 + minutes(60)), "expected_rev": 1}),
        )
        .await;
    assert_eq!(
        (status, refused["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("bad_field")),
        "{refused}"
    );
    assert!(refused["message"].as_str().unwrap_or("").starts_with("reason"), "{refused}");
    let saved = server
        .post_ok(
            "/v1/office/work-orders/WO-PHONE/milestones",
            json!({"contacted_at": iso(t0 + minutes(60)), "reason": "客户来电说师傅一小时前已联系", "expected_rev": 1}),
            StatusCode::OK,
        )
        .await;
    let last = saved["body"]["history"].as_array().and_then(|h| h.last()).cloned().unwrap_or_default();
    assert_eq!(last["action"], "milestones");
    assert_eq!(last["by"], "operator", "attributed: {last}");
    let detail = last["detail"].as_str().unwrap_or("");
    assert!(detail.contains("contacted_at=2025-01-10T02:00:00Z") && detail.contains("客户来电"), "{detail}");
    // A time just now needs no reason.
    server
        .post_ok(
            "/v1/office/work-orders/WO-PHONE/milestones",
            json!({"on_site_at": iso(t0 + minutes(118)), "expected_rev": 2}),
            StatusCode::OK,
        )
        .await;
}

fn deadline_due(order: &Value, kind: &str) -> String {
    order["deadlines"]
        .as_array()
        .and_then(|d| d.iter().find(|x| x["kind"] == kind))
        .and_then(|x| x["due"].as_str())
        .unwrap_or("absent")
        .to_owned()
}

#[tokio::test]
async fn complaints_are_answered_in_working_days_and_network_bursts_reached_in_forty_minutes() {
    // Friday 2025-01-10, 17:00 company time.
    let friday = utc("2025-01-10T17:00:00+08:00");
    let server = Server::start(friday + minutes(33)).await;
    server.order(order_body("WO-COMPLAINT", "complaint", friday, "301")).await;
    server.order(order_body("WO-BURST", "network_burst", friday, "302")).await;

    let list = server.listed("").await;
    let complaint = find(&list, "WO-COMPLAINT");
    assert_eq!(deadline_due(complaint, "complaint_answered"), "2025-01-17T09:00:00Z", "{complaint}");
    assert_eq!(deadline_state(complaint, "complaint_answered"), "open", "{complaint}");
    assert_eq!(deadline_state(complaint, "on_site"), "absent", "a complaint has no clock for a visit");
    let burst = find(&list, "WO-BURST");
    assert_eq!(deadline_due(burst, "on_site"), "2025-01-10T09:40:00Z", "{burst}");
    assert_eq!(deadline_state(burst, "on_site"), "at_risk", "{burst}");

    // Answered the next Friday at 16:00 (completion recorded by phone).
    server.set_now(utc("2025-01-17T16:30:00+08:00"));
    server
        .post_ok(
            "/v1/office/work-orders/WO-COMPLAINT/milestones",
            json!({"completed_at": "2025-01-17T16:00:00+08:00", "reason": "电话答复用户", "expected_rev": 1}),
            StatusCode::OK,
        )
        .await;
    let list = server.listed("").await;
    assert_eq!(deadline_state(find(&list, "WO-COMPLAINT"), "complaint_answered"), "met");
    assert_eq!(deadline_state(find(&list, "WO-BURST"), "on_site"), "missed");

    // The office names the categories it accepts.
    let (status, bad) =
        server.post("/v1/office/work-orders", order_body("WO-X", "grievance", friday, "303")).await;
    assert_eq!((status, bad["error"].as_str()), (StatusCode::BAD_REQUEST, Some("bad_field")), "{bad}");
    assert!(bad["message"].as_str().unwrap_or("").contains("complaint"), "{bad}");
}

#[tokio::test]
async fn appointments_outside_the_visit_hours_are_refused_on_create_and_reschedule() {
    let t0 = utc("2025-01-10T08:00:00+08:00");
    let server = Server::start(t0).await;
    let with_slot = |id: &str, room: &str, start: &str, end: &str| {
        let mut body = order_body(id, "repair", t0, room);
        body["appointment"] = json!({"start": start, "end": end});
        body
    };
    for (start, end) in [
        ("2025-01-10T08:30:00+08:00", "2025-01-10T10:00:00+08:00"),
        ("2025-01-10T17:00:00+08:00", "2025-01-10T18:30:00+08:00"),
        ("2025-01-10T17:00:00+08:00", "2025-01-11T10:00:00+08:00"),
        // 10:00 UTC is 18:00 in Beijing: the offset given does not matter.
        ("2025-01-10T09:00:00Z", "2025-01-10T10:30:00Z"),
    ] {
        let (status, bad) =
            server.post("/v1/office/work-orders", with_slot("WO-OUT", "301", start, end)).await;
        assert_eq!(
            (status, bad["error"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("outside_visit_hours")),
            "{start} – {end}: {bad}"
        );
        assert!(bad["message"].as_str().unwrap_or("").starts_with("appointment"), "{bad}");
        assert!(bad["message"].as_str().unwrap_or("").contains("09:00"), "{bad}");
    }
    let (status, missing) = server.get("/v1/office/work-orders/WO-OUT").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "nothing was created: {missing}");

    // Both ends of the window are allowed.
    server.order(with_slot("WO-IN", "302", "2025-01-10T09:00:00+08:00", "2025-01-10T18:00:00+08:00")).await;
    let evening = json!({"start": "2025-01-10T18:00:00+08:00", "end": "2025-01-10T19:00:00+08:00"});
    let (status, bad) = server
        .post("/v1/office/work-orders/WO-IN/reschedule", json!({"appointment": evening, "expected_rev": 1}))
        .await;
    assert_eq!(
        (status, bad["error"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("outside_visit_hours")),
        "{bad}"
    );

    // A company that visits until 20:00 sets it in its rule set.
    let (_, rules) = server.get("/v1/office/rule-set").await;
    assert_eq!(rules["body"]["visits"], json!({"from": "09:00:00", "until": "18:00:00"}), "{rules}");
    let mut later = rules["body"].clone();
    later["visits"]["until"] = json!("20:00:00");
    let (status, stored) = server.put("/v1/office/rule-set", later).await;
    assert_eq!(status, StatusCode::OK, "{stored}");
    server
        .post_ok(
            "/v1/office/work-orders/WO-IN/reschedule",
            json!({"appointment": evening, "expected_rev": 1}),
            StatusCode::OK,
        )
        .await;
    let mut empty = stored["body"].clone();
    empty["visits"]["until"] = json!("08:00:00");
    let (status, bad) = server.put("/v1/office/rule-set", empty).await;
    assert_eq!(
        (status, bad["error"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_rule_set")),
        "{bad}"
    );
}

#[tokio::test]
async fn an_order_passed_on_is_accepted_within_thirty_minutes_by_the_technicians_record() {
    let t0 = utc("2025-01-10T01:00:00Z");
    let server = Server::start(t0).await;
    server.technician("T1", "王师傅").await;
    let mut tablet = Tablet::enrol(&server, 27, &["T1"]).await;
    server.order(for_team(order_body("WO-ACCEPT", "repair", t0, "301"), &["T1"])).await;
    server.order(order_body("WO-NOBODY", "repair", t0, "302")).await;
    server.set_now(t0 + minutes(20));
    let (_, open) = server.get("/v1/office/work-orders/WO-ACCEPT").await;
    assert_eq!(deadline_state(&open, "accepted"), "open", "{open}");
    let (_, unassigned) = server.get("/v1/office/work-orders/WO-NOBODY").await;
    assert_eq!(deadline_state(&unassigned, "accepted"), "absent", "nobody to accept it yet");
    let accepted = json!({"accepted_at": iso(t0 + minutes(12))});
    let pushed = tablet
        .push(
            &server,
            "hearth.order_accepted/1",
            "WO-ACCEPT",
            t0 + minutes(12),
            &[(SignerRole::Performer, "T1")],
            vec![],
            vec![],
            None,
            accepted,
        )
        .await;
    assert!(pushed.flags.is_empty(), "{:?}", pushed.flags);
    let (_, order) = server.get("/v1/office/work-orders/WO-ACCEPT").await;
    assert_eq!(deadline_state(&order, "accepted"), "met", "{order}");
    assert_eq!(order["milestones"]["accepted_at"], iso(t0 + minutes(12)));
}
