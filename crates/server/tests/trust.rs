//! The server trusts no tablet (issue 13): each probe a holder of one
//! tablet's files could make, through real ingest over HTTP, on SQLite and
//! on PostgreSQL. Every record that falls short is stored and flagged, never
//! receipted `valid`, and a flagged temperature test stays out of the
//! compliance figures (and so out of the fee) until a reviewer accepts it.

#[macro_use]
mod common;

use chrono::{DateTime, Days, FixedOffset, NaiveDate, TimeZone, Utc};
use common::{Backend, TestDevice, TestServer};
use hearth_domain::{
    CustomerSignoff, NewReading, NewTemperatureTest, RoomKind, RuleSet, TechnicianId, TemperatureReading,
    TemperatureReport, TemperatureTest, TestId, Thermometer, WorkOrderId,
};
use hearth_protocol::api::{EntriesResponse, EntryResult, EntryStatus};
use hearth_protocol::seal::kid_of;
use hearth_protocol::{Content, RecordRef, SealedRecord, Signer, SignerRole};
use serde_json::{Value, json};

/// A tablet carrying the demo's two-person team: T0017 (0) and T0023 (1).
async fn team(server: &TestServer, name: &str, seed: u8) -> TestDevice {
    let mut device = server.enrol_device(name, seed).await;
    server.enrol_technician(&mut device, "T0017", seed.wrapping_add(1)).await;
    server.enrol_technician(&mut device, "T0023", seed.wrapping_add(2)).await;
    device
}

fn signer(device: &TestDevice, role: SignerRole, tech: usize) -> Signer {
    let (tech_id, key) = &device.techs[tech];
    Signer { role, tech_id: tech_id.clone(), kid: kid_of(&key.verifying_key()) }
}

fn content(
    device: &TestDevice,
    schema: &str,
    wo: &str,
    signers: Vec<Signer>,
    refs: Vec<RecordRef>,
    data: Value,
) -> Content {
    common::record_content(device, schema, wo, signers, refs, data)
}

fn reference(record_id: &str, sealed: &SealedRecord) -> RecordRef {
    RecordRef { record_id: record_id.to_owned(), content_hash: sealed.content_hash }
}

async fn push_one(server: &TestServer, device: &mut TestDevice, c: Content) -> (EntryResult, RecordRef) {
    let record_id = c.record_id.clone();
    let sealed = device.seal(c);
    let answer: EntriesResponse = server.push(device, std::slice::from_ref(&sealed.envelope)).await;
    let result = answer.results.into_iter().next().unwrap_or_else(|| panic!("one result"));
    assert_eq!(result.status, EntryStatus::Accepted, "business rules never block a chain: {result:?}");
    (result, reference(&record_id, &sealed))
}

fn flags(r: &EntryResult) -> Vec<String> {
    r.flags.clone().unwrap_or_default()
}

fn status(r: &EntryResult) -> String {
    serde_json::to_value(r.receipt.as_ref().map(|x| x.status))
        .unwrap_or_default()
        .as_str()
        .unwrap_or("")
        .to_owned()
}

fn beijing() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).unwrap_or_else(|| panic!("UTC+8"))
}

/// Yesterday, company time (readings in the past are believed as claimed).
fn yesterday() -> NaiveDate {
    Utc::now().with_timezone(&beijing()).date_naive() - Days::new(1)
}

fn at(date: NaiveDate, h: u32, m: u32) -> DateTime<FixedOffset> {
    beijing()
        .from_local_datetime(&date.and_hms_opt(h, m, 0).unwrap_or_default())
        .single()
        .unwrap_or_else(|| panic!("a local time"))
}

fn reading(
    test: &str,
    kind: RoomKind,
    label: &str,
    centi: i32,
    taken_at: DateTime<FixedOffset>,
) -> TemperatureReading {
    TemperatureReading::new(
        NewReading {
            test_id: TestId::parse(test).unwrap_or_else(|e| panic!("{e}")),
            room_kind: kind,
            label,
            centi_celsius: centi,
            taken_at,
            consent_to_enter: true,
            shown_to_customer: true,
            outlier_reason: None,
        },
        RuleSet::default().temperature(),
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

/// The report a tablet makes from `readings`, believing `serial` is calibrated.
fn report(wo: &str, serial: &str, readings: &[TemperatureReading]) -> TemperatureReport {
    let thermometer =
        Thermometer::new(serial, "JJG-TEST", NaiveDate::from_ymd_opt(2099, 1, 1).unwrap_or_default())
            .unwrap_or_else(|e| panic!("{e}"));
    let mut test = TemperatureTest::start(NewTemperatureTest {
        test_id: readings[0].test_id.clone(),
        work_order_id: WorkOrderId::parse(wo).unwrap_or_else(|e| panic!("{e}")),
        performer: TechnicianId::parse("T0017").unwrap_or_else(|e| panic!("{e}")),
        witness: TechnicianId::parse("T0023").unwrap_or_else(|e| panic!("{e}")),
        thermometer,
        started_at: readings.iter().map(|r| r.taken_at).min().unwrap_or_else(|| panic!("readings")),
    })
    .unwrap_or_else(|e| panic!("{e}"));
    for r in readings {
        test.add_reading(r.clone()).unwrap_or_else(|e| panic!("{e}"));
    }
    test.report(RuleSet::default().temperature()).unwrap_or_else(|e| panic!("{e}"))
}

/// Pushes each reading (signed by the performer), returning their refs and results.
async fn push_readings(
    server: &TestServer,
    device: &mut TestDevice,
    wo: &str,
    serial: &str,
    readings: &[TemperatureReading],
) -> (Vec<RecordRef>, Vec<EntryResult>) {
    let (mut refs, mut results) = (vec![], vec![]);
    for r in readings {
        let mut data = serde_json::to_value(r).unwrap_or_default();
        data["thermometer_serial"] = json!(serial);
        let performer = signer(device, SignerRole::Performer, 0);
        let c = content(device, "hearth.temperature_reading/1", wo, vec![performer], vec![], data);
        let (result, reference) = push_one(server, device, c).await;
        refs.push(reference);
        results.push(result);
    }
    (refs, results)
}

fn cosigners(device: &TestDevice) -> Vec<Signer> {
    vec![signer(device, SignerRole::Performer, 0), signer(device, SignerRole::Witness, 1)]
}

async fn push_signoff(
    server: &TestServer,
    device: &mut TestDevice,
    wo: &str,
    report: RecordRef,
) -> EntryResult {
    let refused =
        CustomerSignoff::refused("认为温度计不准", "客厅 17.50 °C").unwrap_or_else(|e| panic!("{e}"));
    let data = serde_json::to_value(&refused).unwrap_or_default();
    let performer = signer(device, SignerRole::Performer, 0);
    let c = content(device, "hearth.customer_signoff/1", wo, vec![performer], vec![report], data);
    push_one(server, device, c).await.0
}

async fn office_get(server: &TestServer, path: &str) -> Value {
    let resp = server.http.get(server.url(path)).bearer_auth(&server.operator).send().await.unwrap();
    assert_eq!(resp.status(), 200, "{path}");
    resp.json().await.unwrap()
}

async fn office_post(server: &TestServer, path: &str, body: Value) -> (u16, Value) {
    let resp =
        server.http.post(server.url(path)).bearer_auth(&server.operator).json(&body).send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or_default())
}

/// A temperature-test order for the team at its own address.
async fn test_order(server: &TestServer, id: &str, room: &str, technicians: &[&str]) {
    let body = json!({
        "id": id,
        "category": "temperature_test",
        "customer": {"name": "孙丽华", "phone": "13935100001",
                     "address": {"community": "阳光花园", "building": "9号楼", "unit": "1单元", "room": room}},
        "fault_description": "客厅温度低",
        "technicians": technicians,
    });
    let (status, answer) = office_post(server, "/v1/office/work-orders", body).await;
    assert_eq!(status, 201, "{answer}");
}

/// The office's view of one order's tests, and of its address.
async fn tests_of(server: &TestServer, wo: &str) -> (Vec<Value>, Value) {
    let v = office_get(server, &format!("/v1/office/temperature-tests?work_order={wo}")).await;
    let tests = v["tests"].as_array().cloned().unwrap_or_default();
    (tests, v["addresses"].get(0).cloned().unwrap_or(Value::Null))
}

async fn review(server: &TestServer, record_id: &str, decision: &str) -> (u16, Value) {
    office_post(
        server,
        &format!("/v1/office/records/{record_id}/review"),
        json!({"decision": decision, "note": "核对执法记录仪录像，读数属实"}),
    )
    .await
}

fn record_id(r: &EntryResult) -> String {
    r.receipt.as_ref().map(|x| x.record_id.clone()).unwrap_or_default()
}

// --- who must sign ---------------------------------------------------------

async fn an_empty_unsigned_report_is_stored_and_flagged_never_valid(backend: Backend) {
    let server = TestServer::start(backend);
    let mut device = team(&server, "t1", 10).await;
    let c = content(&device, "hearth.temperature_test/1", "WO-DEMO-0001", vec![], vec![], json!({}));
    let (result, _) = push_one(&server, &mut device, c).await;
    assert_eq!(status(&result), "needs_review");
    let f = flags(&result);
    assert!(f.contains(&"required_signer_missing".to_owned()), "{f:?}");
    assert!(f.contains(&"invalid_data".to_owned()), "{f:?}");
}

async fn a_report_signed_by_one_technician_twice_or_without_a_witness_is_flagged(backend: Backend) {
    let server = TestServer::start(backend);
    let mut device = team(&server, "t1", 20).await;
    let readings = [reading("TT-1", RoomKind::LivingRoom, "客厅", 1900, at(yesterday(), 10, 0))];
    let (refs, _) = push_readings(&server, &mut device, "WO-DEMO-0001", "TM-2291", &readings).await;
    let data = serde_json::to_value(report("WO-DEMO-0001", "TM-2291", &readings)).unwrap_or_default();

    // One key in both roles: the verifier lets it through (two roles), the rule does not.
    let twice = vec![signer(&device, SignerRole::Performer, 0), signer(&device, SignerRole::Witness, 0)];
    let c = content(&device, "hearth.temperature_test/1", "WO-DEMO-0001", twice, refs.clone(), data.clone());
    let (result, _) = push_one(&server, &mut device, c).await;
    assert_eq!(status(&result), "needs_review");
    assert!(flags(&result).contains(&"signer_repeated".to_owned()), "{:?}", flags(&result));

    let alone = vec![signer(&device, SignerRole::Performer, 0)];
    let c = content(&device, "hearth.temperature_test/1", "WO-DEMO-0001", alone, refs.clone(), data.clone());
    let (result, _) = push_one(&server, &mut device, c).await;
    assert_eq!(status(&result), "needs_review");
    assert_eq!(flags(&result), ["required_signer_missing"]);

    // The honest report is simply valid.
    let c = content(&device, "hearth.temperature_test/1", "WO-DEMO-0001", cosigners(&device), refs, data);
    let (result, _) = push_one(&server, &mut device, c).await;
    assert_eq!(status(&result), "valid", "{:?}", flags(&result));
}

async fn a_cold_report_for_another_technicians_order_does_not_make_the_address_non_compliant(
    backend: Backend,
) {
    let server = TestServer::start(backend);
    let mut device = team(&server, "t1", 30).await;
    test_order(&server, "WO-OTHER", "101", &["T0031"]).await;
    let readings = [reading("TT-9", RoomKind::LivingRoom, "客厅", 1500, at(yesterday(), 10, 0))];
    let (refs, results) = push_readings(&server, &mut device, "WO-OTHER", "TM-2291", &readings).await;
    assert_eq!(flags(&results[0]), ["not_assigned"]);
    // No signatures at all on the report, and a refusal for someone else's order.
    let data = serde_json::to_value(report("WO-OTHER", "TM-2291", &readings)).unwrap_or_default();
    let c = content(&device, "hearth.temperature_test/1", "WO-OTHER", vec![], refs, data);
    let (result, report_ref) = push_one(&server, &mut device, c).await;
    let f = flags(&result);
    // Nobody signed it, so nobody can be unassigned: it is missing its signers,
    // and the reading it binds is flagged.
    assert_eq!(f, ["reading_flagged", "required_signer_missing"]);
    let signoff = push_signoff(&server, &mut device, "WO-OTHER", report_ref).await;
    assert_eq!(flags(&signoff), ["not_assigned"]);

    let (tests, address) = tests_of(&server, "WO-OTHER").await;
    assert_eq!(tests[0]["counts"], false, "{}", tests[0]);
    assert!(address.is_null() || address["first_non_compliant_on"].is_null(), "{address}");
}

// --- the server re-judges every test ---------------------------------------

async fn seventeen_and_a_half_at_five_fifty_nine_and_at_six_are_judged_by_the_server(backend: Backend) {
    let server = TestServer::start(backend);
    let mut device = team(&server, "t1", 40).await;
    let day = yesterday();

    // 05:59: night minimum 16 °C, compliant, and the tablet says so.
    test_order(&server, "WO-0559", "559", &["T0017", "T0023"]).await;
    let early = [reading("TT-A", RoomKind::LivingRoom, "客厅", 1750, at(day, 5, 59))];
    let (refs, _) = push_readings(&server, &mut device, "WO-0559", "TM-2291", &early).await;
    let data = serde_json::to_value(report("WO-0559", "TM-2291", &early)).unwrap_or_default();
    let c = content(&device, "hearth.temperature_test/1", "WO-0559", cosigners(&device), refs, data);
    let (honest, honest_ref) = push_one(&server, &mut device, c).await;
    assert_eq!(status(&honest), "valid", "{:?}", flags(&honest));
    push_signoff(&server, &mut device, "WO-0559", honest_ref).await;
    let (tests, address) = tests_of(&server, "WO-0559").await;
    assert_eq!(tests[0]["judged"]["verdict"], "compliant");
    assert_eq!(tests[0]["counts"], true);
    assert!(address["first_non_compliant_on"].is_null(), "{address}");

    // 06:00: day minimum 18 °C. A tablet that judges it by the night rule
    // still says "compliant"; the server judges it below standard.
    test_order(&server, "WO-0600", "600", &["T0017", "T0023"]).await;
    let six = [reading("TT-B", RoomKind::LivingRoom, "客厅", 1750, at(day, 6, 0))];
    let (refs, _) = push_readings(&server, &mut device, "WO-0600", "TM-2291", &six).await;
    let mut claimed = report("WO-0600", "TM-2291", &six);
    assert_eq!(claimed.compliance.verdict, hearth_domain::Compliance::BelowStandard);
    claimed.compliance = report("WO-0600", "TM-2291", &early).compliance;
    let c = content(
        &device,
        "hearth.temperature_test/1",
        "WO-0600",
        cosigners(&device),
        refs,
        serde_json::to_value(&claimed).unwrap_or_default(),
    );
    let (lying, lying_ref) = push_one(&server, &mut device, c).await;
    assert_eq!(status(&lying), "needs_review");
    assert_eq!(flags(&lying), ["verdict_mismatch"]);
    push_signoff(&server, &mut device, "WO-0600", lying_ref).await;

    let (tests, address) = tests_of(&server, "WO-0600").await;
    assert_eq!(tests[0]["report"]["compliance"]["verdict"], "compliant", "the tablet's claim is shown");
    assert_eq!(tests[0]["judged"]["verdict"], "below_standard", "the office's verdict is the server's");
    assert_eq!(tests[0]["counts"], false, "flagged: out of the figures until reviewed");
    assert!(address["first_non_compliant_on"].is_null(), "{address}");

    // It waits in the reviewers' queue, named with its flag and no decision.
    let queue = office_get(&server, "/v1/office/review-queue").await;
    let waiting =
        queue.as_array().and_then(|q| q.iter().find(|i| i["record_id"] == record_id(&lying)).cloned());
    let waiting = waiting.unwrap_or_else(|| panic!("the flagged report is in the queue: {queue}"));
    assert_eq!(
        (waiting["flags"].clone(), waiting.get("decision")),
        (json!(["verdict_mismatch"]), None),
        "{waiting}"
    );
    assert!(
        queue.as_array().into_iter().flatten().all(|i| i["record_id"] != record_id(&honest)),
        "a valid record is not in the queue: {queue}"
    );

    // A reviewer accepts it: it counts, with the server's verdict.
    let (code, decided) = review(&server, &record_id(&lying), "accept").await;
    assert_eq!(code, 201, "{decided}");
    let queue = office_get(&server, "/v1/office/review-queue").await;
    let item = queue.as_array().and_then(|q| q.iter().find(|i| i["record_id"] == record_id(&lying)).cloned());
    assert_eq!(item.map(|i| i["decision"]["decision"].clone()), Some(json!("accept")), "{queue}");
    assert_eq!(decided["operator"], "operator");
    let (tests, address) = tests_of(&server, "WO-0600").await;
    assert_eq!(tests[0]["counts"], true, "{}", tests[0]);
    assert_eq!(tests[0]["reviews"][0]["decision"], "accept");
    assert_eq!(address["first_non_compliant_on"], day.to_string());

    // Decisions are history: a later rejection takes it out again, both stay.
    let (code, _) = review(&server, &record_id(&lying), "reject").await;
    assert_eq!(code, 201);
    let (tests, _) = tests_of(&server, "WO-0600").await;
    assert_eq!(tests[0]["counts"], false);
    assert_eq!(tests[0]["reviews"].as_array().map(Vec::len), Some(2));

    // A valid record has nothing to review; an unknown one is not found.
    assert_eq!(review(&server, &record_id(&honest), "accept").await.0, 409);
    assert_eq!(review(&server, "0190aaaa-0000-7000-8000-000000000000", "accept").await.0, 404);
    let (code, body) = office_post(
        &server,
        &format!("/v1/office/records/{}/review", record_id(&lying)),
        json!({"decision": "maybe", "note": "x"}),
    )
    .await;
    assert_eq!((code, body["error"].as_str()), (400, Some("bad_field")), "{body}");
}

async fn a_thermometer_expired_the_day_before_is_flagged(backend: Backend) {
    let server = TestServer::start(backend);
    let day = yesterday();
    let expired = (day - Days::new(1)).to_string();
    server.admin(&[
        "thermometer",
        "add",
        "--serial",
        "TM-OLD",
        "--certificate",
        "JJG-OLD",
        "--valid-until",
        &expired,
    ]);
    let mut device = team(&server, "t1", 50).await;
    let readings = [reading("TT-C", RoomKind::Bedroom, "主卧", 1900, at(day, 10, 0))];
    let (refs, results) = push_readings(&server, &mut device, "WO-DEMO-0001", "TM-OLD", &readings).await;
    assert_eq!(flags(&results[0]), ["calibration_expired"]);
    let data = serde_json::to_value(report("WO-DEMO-0001", "TM-OLD", &readings)).unwrap_or_default();
    let c = content(&device, "hearth.temperature_test/1", "WO-DEMO-0001", cosigners(&device), refs, data);
    let (result, _) = push_one(&server, &mut device, c).await;
    assert_eq!(flags(&result), ["calibration_expired", "reading_flagged"]);
}

async fn a_report_signed_by_a_revoked_key_counts_only_once_accepted(backend: Backend) {
    let server = TestServer::start(backend);
    let mut device = team(&server, "t1", 60).await;
    test_order(&server, "WO-REV", "700", &["T0017", "T0023"]).await;
    let readings = [reading("TT-D", RoomKind::LivingRoom, "客厅", 1500, at(yesterday(), 10, 0))];
    let (refs, _) = push_readings(&server, &mut device, "WO-REV", "TM-2291", &readings).await;
    let witness_kid = signer(&device, SignerRole::Witness, 1).kid;
    server.admin(&["revoke-technician", "--kid", &witness_kid]);
    let data = serde_json::to_value(report("WO-REV", "TM-2291", &readings)).unwrap_or_default();
    let c = content(&device, "hearth.temperature_test/1", "WO-REV", cosigners(&device), refs, data);
    let (result, report_ref) = push_one(&server, &mut device, c).await;
    assert_eq!(flags(&result), ["technician_key_revoked"]);
    push_signoff(&server, &mut device, "WO-REV", report_ref).await;
    let (tests, _) = tests_of(&server, "WO-REV").await;
    assert_eq!(tests[0]["counts"], false);
    assert_eq!(review(&server, &record_id(&result), "accept").await.0, 201);
    let (tests, address) = tests_of(&server, "WO-REV").await;
    assert_eq!(tests[0]["counts"], true);
    assert_eq!(address["first_non_compliant_on"], yesterday().to_string());
}

// --- evidence --------------------------------------------------------------

async fn garbage_signed_forks_leave_no_evidence_and_a_signed_fork_does(backend: Backend) {
    let server = TestServer::start(backend);
    let mut device = team(&server, "t1", 70).await;
    let first = device.arrival("WO-DEMO-0001");
    let sealed = device.seal(first);
    server.push(&device, std::slice::from_ref(&sealed.envelope)).await;

    // Five different entries at seq 1, each with a device signature of garbage.
    for n in 0..5u8 {
        let mut other = TestDevice::unenrolled(&device.device_id, 200 + n, "T0017", 1);
        let arrival = other.arrival("WO-DEMO-0001");
        let fake = other.seal(arrival);
        let answer = server.push(&device, std::slice::from_ref(&fake.envelope)).await;
        assert_eq!(answer.results[0].status, EntryStatus::Conflict, "{:?}", answer.results[0]);
    }
    let storage = server.storage().await;
    assert_eq!(
        storage.conflicts(&device.device_id).await.unwrap_or_default().len(),
        0,
        "nothing proven, nothing kept"
    );

    // A fork the device key really signed is evidence.
    let (seq, prev) = (device.seq, device.prev);
    device.seq = 0;
    device.prev = hearth_protocol::hash::genesis_prev(&device.device_id);
    let arrival = device.arrival("WO-DEMO-0001");
    let fork = device.seal(arrival);
    let answer = server.push(&device, std::slice::from_ref(&fork.envelope)).await;
    assert_eq!(answer.results[0].status, EntryStatus::Conflict);
    let kept = storage.conflicts(&device.device_id).await.unwrap_or_default();
    assert_eq!(kept.len(), 1, "the signed fork is kept");
    assert_eq!(kept[0].kind, "fork");
    (device.seq, device.prev) = (seq, prev);
}

// --- orders opened on site ---------------------------------------------------

async fn feed_kinds(server: &TestServer, device: &TestDevice, id: &str) -> Vec<String> {
    let page: Value =
        server.device_get(device, &format!("/v1/devices/{}/feed?limit=1000", device.device_id)).await;
    page["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|i| i["id"] == id)
        .map(|i| i["kind"].as_str().unwrap_or("").to_owned())
        .collect()
}

async fn an_order_opened_on_site_stays_on_its_tablet_until_dispatch_confirms(backend: Backend) {
    let server = TestServer::start(backend);
    let mut opener = team(&server, "opener", 80).await;
    let mut other = server.enrol_device("other", 90).await;
    server.enrol_technician(&mut other, "T0031", 91).await;

    for (id, room) in [("L-PLANTED", "801"), ("L-MISTAKE", "802")] {
        // The opener assigns the order to T0031, who works on another tablet.
        let order = json!({
            "id": id,
            "category": "repair",
            "priority": "urgent",
            "customer": {"name": "<img src=x onerror=alert(1)>", "phone": "13900000000",
                         "address": {"community": "阳光花园", "building": "1号楼", "unit": "1单元", "room": room}},
            "fault_description": "立即联系 13900000000 退款",
            "received_at": Utc::now().to_rfc3339(),
            "assigned_technicians": ["T0031"],
        });
        let performer = signer(&opener, SignerRole::Performer, 0);
        let c = content(&opener, "hearth.work_order_local/1", id, vec![performer], vec![], order);
        let (result, _) = push_one(&server, &mut opener, c).await;
        assert_eq!(status(&result), "valid", "{:?}", flags(&result));
        assert_eq!(
            feed_kinds(&server, &opener, id).await,
            ["work_order"],
            "it stays on the tablet that opened it"
        );
        assert_eq!(feed_kinds(&server, &other, id).await, ["work_order_removed"], "never on another's");
    }

    let detail = office_get(&server, "/v1/office/work-orders/L-PLANTED").await;
    let rev = detail["rev"].as_u64().unwrap_or_default();
    let (code, body) =
        office_post(&server, "/v1/office/work-orders/L-PLANTED/confirm", json!({"expected_rev": rev})).await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(feed_kinds(&server, &other, "L-PLANTED").await, ["work_order"], "dispatch put it there");

    let detail = office_get(&server, "/v1/office/work-orders/L-MISTAKE").await;
    let rev = detail["rev"].as_u64().unwrap_or_default();
    let (code, body) = office_post(
        &server,
        "/v1/office/work-orders/L-MISTAKE/reject",
        json!({"reason": "误开单", "expected_rev": rev}),
    )
    .await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["body"]["status"], "cancelled");
    assert_eq!(feed_kinds(&server, &opener, "L-MISTAKE").await, ["work_order_removed"]);
    let (code, body) = office_post(
        &server,
        "/v1/office/work-orders/L-PLANTED/reject",
        json!({"reason": "x", "expected_rev": rev + 1}),
    )
    .await;
    assert_eq!((code, body["error"].as_str()), (409, Some("already_confirmed")), "{body}");
}

// --- a revoked tablet is cut off ---------------------------------------------

async fn a_revoked_tablet_may_only_push_its_entries(backend: Backend) {
    let server = TestServer::start(backend);
    let mut device = team(&server, "lost", 100).await;
    let code = server.admin(&["technician-code", "--id", "T0031"]);
    server.admin(&["revoke-device", "--device-id", &device.device_id]);

    let id = device.device_id.clone();
    let tus = |req: reqwest::RequestBuilder| req.bearer_auth(&device.token).header("Tus-Resumable", "1.0.0");
    // Its feed says it was revoked, and nothing else: no orders, customers or technicians.
    let page: Value = server.device_get(&device, &format!("/v1/devices/{id}/feed?limit=1000")).await;
    let items = page["items"].as_array().cloned().unwrap_or_default();
    assert_eq!(items.len(), 1, "{page}");
    assert_eq!(items[0]["kind"], "device_revocation");
    assert_eq!(items[0]["id"], id.as_str());
    assert_eq!(items[0]["body"]["device_id"], id.as_str());
    assert!(items[0]["body"]["effective_at_ms"].as_i64().is_some_and(|at| at <= common::now_ms()), "{page}");
    assert_eq!(page["has_more"], false);

    let refused = [
        tus(server.http.post(server.url("/v1/uploads")))
            .header("Upload-Length", "3")
            .header("Upload-Metadata", "sha256 YWJj,media_type aW1hZ2UvanBlZw"),
        server
            .http
            .post(server.url("/v1/blobs/missing"))
            .bearer_auth(&device.token)
            .json(&json!({"sha256": ["ab".repeat(32)]})),
        server.http.post(server.url("/v1/enroll/technician")).bearer_auth(&device.token).json(&json!({
            "code": code, "tech_id": "T0031",
            "pubkey": hearth_protocol::b64::encode(hearth_protocol::SigningKey::from_bytes(&[7; 32]).verifying_key().as_bytes()),
        })),
    ];
    for req in refused {
        let resp = req.send().await.unwrap();
        let body = common::expect_json_error(resp, 403, Some("device_revoked")).await;
        assert!(body["message"].as_str().unwrap_or("").contains("revoked"), "{body}");
    }

    // What it sealed still reaches the server: stored and flagged, never dropped.
    let arrival = device.arrival("WO-DEMO-0001");
    let sealed = device.seal(arrival);
    let answer = server.push(&device, std::slice::from_ref(&sealed.envelope)).await;
    assert_eq!(answer.results[0].status, EntryStatus::Accepted);
    assert_eq!(flags(&answer.results[0]), ["device_key_revoked"]);
    let head: Value = server.device_get(&device, &format!("/v1/devices/{id}/head")).await;
    assert_eq!(head["seq"], 1);
}

on_both_backends!(
    an_empty_unsigned_report_is_stored_and_flagged_never_valid,
    a_report_signed_by_one_technician_twice_or_without_a_witness_is_flagged,
    a_cold_report_for_another_technicians_order_does_not_make_the_address_non_compliant,
    seventeen_and_a_half_at_five_fifty_nine_and_at_six_are_judged_by_the_server,
    a_thermometer_expired_the_day_before_is_flagged,
    a_report_signed_by_a_revoked_key_counts_only_once_accepted,
    garbage_signed_forks_leave_no_evidence_and_a_signed_fork_does,
    an_order_opened_on_site_stays_on_its_tablet_until_dispatch_confirms,
    a_revoked_tablet_may_only_push_its_entries,
);

// --- the server's key --------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_key_lives_in_a_0600_file_that_survives_restarts_and_a_readable_one_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let mut server = TestServer::start(Backend::Sqlite);
    let mode =
        |p: &std::path::Path| std::fs::metadata(p).map(|m| m.permissions().mode() & 0o777).unwrap_or(0);
    let key_file = server.dir.path().join("server.db.key");
    assert_eq!(mode(&key_file), 0o600, "created readable by the server alone");
    assert_eq!(mode(&server.dir.path().join("server.db")), 0o600, "so is the database");
    let key = server.server_key().await;
    let text = std::fs::read_to_string(&key_file).unwrap_or_default();
    assert!(
        !text.contains(&hex::encode(key.as_bytes())),
        "the file holds the secret seed, not the public key"
    );

    server.kill();
    server.spawn();
    assert_eq!(server.server_key().await, key, "the same key after a restart");

    server.kill();
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o644)).unwrap_or_default();
    let out = std::process::Command::new(common::BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--database", &server.database])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("can be read by others"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_that_held_the_key_hands_it_to_the_key_file() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let db = dir.path().join("old.db");
    // An older server kept the key in the database.
    let storage = hearth_server::storage::sqlite::SqliteStorage::open(&db).unwrap_or_else(|e| panic!("{e}"));
    let seed = hearth_server::storage::Storage::server_secret(&storage, [9; 32]).await.unwrap_or_default();
    drop(storage);
    let key_file = dir.path().join("old.db.key");
    let key = hearth_server::server_key::load_or_create(
        &key_file,
        &hearth_server::storage::sqlite::SqliteStorage::open(&db).unwrap_or_else(|e| panic!("{e}")),
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(key.to_bytes(), seed, "receipts already issued keep verifying");
    assert!(key_file.exists());
}

// --- a stored rule set is never replaced by the defaults ---------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stored_rule_set_that_cannot_be_read_is_an_internal_error_never_the_defaults() {
    use hearth_server::storage::{PutSnapshot, Scope, SnapshotKind, Storage};
    let mut server = TestServer::start(Backend::Sqlite);
    let repeats = |server: &TestServer| {
        server.http.get(server.url("/v1/office/repeat-repairs")).bearer_auth(&server.operator).send()
    };
    assert_eq!(repeats(&server).await.unwrap().status(), 200, "the demo's rule set reads");

    // A rule set no office PUT would let through (a zero-minute deadline),
    // written straight into the database: a fault to fix, not defaults.
    server.kill();
    let db = server.dir.path().join("server.db");
    let storage = hearth_server::storage::sqlite::SqliteStorage::open(&db).unwrap_or_else(|e| panic!("{e}"));
    let mut bad = serde_json::to_value(hearth_domain::RuleSet::default()).unwrap();
    bad["deadlines"]["leak_on_site_minutes"] = json!(0);
    storage
        .put_snapshot(PutSnapshot {
            kind: SnapshotKind::RuleSet,
            id: "company".into(),
            body: bad,
            scope: Scope::default(),
            expected_rev: None,
            now_ms: chrono::Utc::now().timestamp_millis(),
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    drop(storage);
    server.spawn();

    let resp = repeats(&server).await.unwrap();
    let body = common::expect_json_error(resp, 500, Some("internal")).await;
    assert!(
        !body["message"].as_str().unwrap_or("").contains("leak"),
        "the cause is logged, not shown: {body}"
    );
}
