//! The office's records (issue 15): search by every field with cursor
//! pages that neither repeat nor skip while records keep arriving, the
//! record view of a cosigned reading (signers named, signatures verified),
//! a record altered in the database shown as invalid, thumbnails of a
//! real JPEG blob, and the customer's copy reprinted as a PDF; on SQLite
//! and PostgreSQL.

#[macro_use]
mod common;

use std::collections::HashSet;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use common::{Backend, TestDevice, TestServer, expect_json_error};
use hearth_domain::CustomerSignoff;
use hearth_protocol::api::{EntriesResponse, EntryStatus};
use hearth_protocol::seal::kid_of;
use hearth_protocol::{Attachment, AttachmentRole, Content, Envelope, Signer, SignerRole, Supersedes, b64};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

const WO_A: &str = "WO-REC-A";
const WO_B: &str = "WO-REC-B";

struct Setup {
    server: TestServer,
    /// Holds T0017 (王建国) and T0023 (李秀英).
    tablet: TestDevice,
    /// Holds T0023 alone.
    other: TestDevice,
}

async fn order(server: &TestServer, id: &str) {
    let body = json!({
        "id": id,
        "category": "repair",
        "customer": {"name": "<img src=x onerror=alert(1)>", "phone": "13812345678",
                     "address": {"community": "阳光花园", "building": "9号楼", "unit": "2单元", "room": "302"}},
        "fault_description": "暖气片不热",
        "technicians": ["T0017", "T0023"],
    });
    let resp = server
        .http
        .post(server.url("/v1/office/work-orders"))
        .bearer_auth(&server.operator)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201, "{}", resp.text().await.unwrap_or_default());
}

async fn setup(backend: Backend) -> Setup {
    let server = TestServer::start(backend);
    order(&server, WO_A).await;
    order(&server, WO_B).await;
    let mut tablet = server.enrol_device("records tablet", 71).await;
    server.enrol_technician(&mut tablet, "T0017", 72).await;
    server.enrol_technician(&mut tablet, "T0023", 73).await;
    let mut other = server.enrol_device("second tablet", 74).await;
    server.enrol_technician(&mut other, "T0023", 75).await;
    Setup { server, tablet, other }
}

fn signer(device: &TestDevice, role: SignerRole, tech_id: &str) -> Signer {
    let key = &device.techs.iter().find(|(id, _)| id == tech_id).unwrap().1;
    Signer { role, tech_id: tech_id.to_owned(), kid: kid_of(&key.verifying_key()) }
}

fn step(device: &TestDevice, wo: &str, tech: &str) -> Content {
    let data = json!({
        "at": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "evidence": {"step": "arrival", "body_camera_on": true, "knocked_gently": true, "work_id_shown": true},
    });
    common::record_content(
        device,
        "hearth.visit_step/1",
        wo,
        vec![signer(device, SignerRole::Performer, tech)],
        vec![],
        data,
    )
}

/// A temperature reading signed by its performer and its witness.
fn cosigned_reading(device: &TestDevice, wo: &str) -> Content {
    let data = json!({"room": "bedroom", "centi_celsius": 1760, "thermometer_serial": "TH-01"});
    common::record_content(
        device,
        "hearth.temperature_reading/1",
        wo,
        vec![signer(device, SignerRole::Performer, "T0017"), signer(device, SignerRole::Witness, "T0023")],
        vec![],
        data,
    )
}

async fn push(server: &TestServer, device: &mut TestDevice, c: Content) -> (String, String) {
    let record_id = c.record_id.clone();
    let sealed = device.seal(c);
    let answer: EntriesResponse = server.push(device, std::slice::from_ref(&sealed.envelope)).await;
    assert_eq!(answer.results[0].status, EntryStatus::Accepted, "{:?}", answer.results[0]);
    (record_id, sealed.content_hash.to_hex())
}

async fn get(server: &TestServer, path: &str) -> reqwest::Response {
    server.http.get(server.url(path)).bearer_auth(&server.operator).send().await.unwrap()
}

/// One page: the items and the next page's path from the Link header.
async fn page(server: &TestServer, path: &str) -> (Vec<Value>, Option<String>) {
    let resp = get(server, path).await;
    assert_eq!(resp.status(), 200, "{path}");
    let next = resp.headers().get("link").map(|v| {
        let v = v.to_str().unwrap();
        assert!(v.ends_with("; rel=\"next\""), "{v}");
        v.trim_start_matches('<').split('>').next().unwrap().to_owned()
    });
    let items: Vec<Value> = resp.json().await.unwrap();
    (items, next)
}

fn ids(items: &[Value]) -> Vec<String> {
    items.iter().map(|i| i["record_id"].as_str().unwrap().to_owned()).collect()
}

async fn search_finds_by_each_field_and_pages_without_gaps(backend: Backend) {
    let Setup { server, mut tablet, mut other } = setup(backend).await;
    let mut steps_a = Vec::new();
    for _ in 0..5 {
        let c = step(&tablet, WO_A, "T0017");
        steps_a.push(push(&server, &mut tablet, c).await.0);
    }
    let mut readings = Vec::new();
    for _ in 0..2 {
        let c = cosigned_reading(&tablet, WO_B);
        readings.push(push(&server, &mut tablet, c).await.0);
    }
    let mut by_other = Vec::new();
    for _ in 0..3 {
        let c = step(&other, WO_B, "T0023");
        by_other.push(push(&server, &mut other, c).await.0);
    }
    // A record for an order the server does not know: flagged.
    let c = step(&tablet, "WO-NOT-FILED", "T0017");
    let (flagged, _) = push(&server, &mut tablet, c).await;

    let set = |v: &[String]| v.iter().cloned().collect::<HashSet<_>>();
    let found = |items: &[Value]| set(&ids(items));

    let (items, next) = page(&server, &format!("/v1/office/records?work_order={WO_A}")).await;
    assert_eq!(found(&items), set(&steps_a));
    assert!(next.is_none());
    let seqs: Vec<u64> = items.iter().map(|i| i["server_seq"].as_u64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] > w[1]), "newest first: {seqs:?}");
    let first = &items[0];
    assert_eq!(first["kind"], "hearth.visit_step/1");
    assert_eq!(first["signers"], json!(["T0017"]));
    assert_eq!(first["current"], true);
    assert!(first["claimed_at"].is_string() && first["received_at"].is_string(), "{first}");

    let (items, _) = page(&server, &format!("/v1/office/records?device={}", other.device_id)).await;
    assert_eq!(found(&items), set(&by_other));
    let (items, _) = page(&server, "/v1/office/records?technician=T0023").await;
    assert_eq!(found(&items), set(&[readings.clone(), by_other.clone()].concat()));
    let (items, _) = page(&server, "/v1/office/records?kind=hearth.temperature_reading/1").await;
    assert_eq!(found(&items), set(&readings));
    assert_eq!(items[0]["signers"], json!(["T0017", "T0023"]));
    let (items, _) = page(&server, "/v1/office/records?flagged=true").await;
    assert!(found(&items).contains(&flagged), "{items:?}");
    assert!(items.iter().all(|i| !i["flags"].as_array().unwrap().is_empty()), "{items:?}");
    // Filters combine.
    let (items, _) =
        page(&server, &format!("/v1/office/records?technician=T0023&device={}", tablet.device_id)).await;
    assert_eq!(found(&items), set(&readings));

    // q: a record id by prefix, an order, a tablet, a technician.
    let (items, _) = page(&server, &format!("/v1/office/records?q={}", &readings[0][..30])).await;
    assert_eq!(ids(&items), vec![readings[0].clone()]);
    let (items, _) = page(&server, &format!("/v1/office/records?q={WO_A}")).await;
    assert_eq!(found(&items), set(&steps_a));
    let (items, _) = page(&server, &format!("/v1/office/records?q={}", other.device_id)).await;
    assert_eq!(found(&items), set(&by_other));
    let (items, _) = page(&server, "/v1/office/records?q=T0023").await;
    assert_eq!(found(&items), set(&[readings.clone(), by_other.clone()].concat()));
    let (items, _) = page(&server, "/v1/office/records?q=nothing-like-this").await;
    assert!(items.is_empty());

    // Received between: everything is inside the last hour, nothing in the next.
    let hour_ago =
        (chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let in_an_hour =
        (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let (items, _) =
        page(&server, &format!("/v1/office/records?work_order={WO_A}&from={}", urlencode(&hour_ago))).await;
    assert_eq!(items.len(), 5);
    let (items, _) = page(&server, &format!("/v1/office/records?from={}", urlencode(&in_an_hour))).await;
    assert!(items.is_empty());
    let (items, _) =
        page(&server, &format!("/v1/office/records?to={}&work_order={WO_A}", urlencode(&hour_ago))).await;
    assert!(items.is_empty());

    // Paging two at a time while new records arrive: every record that was
    // there at the start, once, and none twice.
    let (everything, _) = page(&server, "/v1/office/records?limit=200").await;
    let mut seen = Vec::new();
    let mut path = Some("/v1/office/records?limit=2".to_owned());
    while let Some(p) = path {
        let (items, next) = page(&server, &p).await;
        assert!(items.len() <= 2);
        seen.extend(ids(&items));
        let c = step(&other, WO_B, "T0023");
        push(&server, &mut other, c).await;
        path = next;
    }
    assert_eq!(seen.len(), set(&seen).len(), "no record twice: {seen:?}");
    assert_eq!(seen, ids(&everything), "every record, in order");
}

fn urlencode(text: &str) -> String {
    text.replace('+', "%2B").replace(':', "%3A")
}

async fn bad_search_input_is_refused_by_name(backend: Backend) {
    let server = TestServer::start(backend);
    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=201", "limit"),
        ("limit=ten", "limit"),
        ("cursor=abc", "cursor"),
        ("cursor=-5", "cursor"),
        ("cursor=99999999999999999999999", "cursor"),
        ("flagged=maybe", "flagged"),
        ("from=yesterday", "from"),
        ("from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z", "to"),
        ("device=two%20words", "device"),
        ("sort=asc", "sort"),
    ] {
        let resp = get(&server, &format!("/v1/office/records?{query}")).await;
        let body = expect_json_error(resp, 400, Some("bad_field")).await;
        let message = body["message"].as_str().unwrap();
        assert!(message.starts_with(field), "{query}: {message}");
    }
    let resp = get(&server, "/v1/office/records/no-such-record/view").await;
    expect_json_error(resp, 404, Some("not_found")).await;
    let resp = server.http.get(server.url("/v1/office/records")).send().await.unwrap();
    assert_eq!(resp.status(), 401);
}

async fn view(server: &TestServer, record_id: &str) -> Value {
    let resp = get(server, &format!("/v1/office/records/{record_id}/view")).await;
    assert_eq!(resp.status(), 200, "view of {record_id}");
    resp.json().await.unwrap()
}

async fn the_view_of_a_cosigned_reading_names_and_verifies_its_signers(backend: Backend) {
    let Setup { server, mut tablet, .. } = setup(backend).await;
    let c = step(&tablet, WO_B, "T0017");
    let (before, _) = push(&server, &mut tablet, c).await;
    let c = cosigned_reading(&tablet, WO_B);
    let (reading, hash) = push(&server, &mut tablet, c).await;
    let c = step(&tablet, WO_B, "T0017");
    let (after, _) = push(&server, &mut tablet, c).await;

    let v = view(&server, &reading).await;
    assert_eq!(v["record"]["record_id"], reading.as_str());
    assert_eq!(v["record"]["schema"], "hearth.temperature_reading/1");
    assert_eq!(v["record"]["content_hash"], hash.as_str());
    assert_eq!(v["record"]["data"]["centi_celsius"], 1760, "content decoded: {v}");
    assert_eq!(v["verification"]["signatures_valid"], true, "{v}");
    assert_eq!(v["verification"]["intact"], true, "{v}");
    let sigs = v["signatures"].as_array().unwrap();
    assert_eq!(sigs.len(), 2, "{v}");
    assert_eq!((sigs[0]["role"].as_str(), sigs[0]["name"].as_str()), (Some("performer"), Some("王建国")));
    assert_eq!((sigs[1]["role"].as_str(), sigs[1]["name"].as_str()), (Some("witness"), Some("李秀英")));
    assert!(sigs.iter().all(|s| s["signed"] == true && s["valid"] == true), "{v}");
    assert_eq!(v["chain"]["seq"], 2);
    assert_eq!(v["chain"]["previous_record_id"], before.as_str());
    assert_eq!(v["chain"]["next_record_id"], after.as_str());
    assert_eq!(v["chain"]["prev_hash"].as_str().map(str::len), Some(64), "{v}");
    assert!(v["receipt"]["server_seq"].as_u64().unwrap() > 0);
    // The reading's made-up data is flagged (invalid_data): the receipt says so.
    assert_eq!(v["receipt"]["status"], v["record"]["status"]);
    assert!(matches!(v["receipt"]["status"].as_str(), Some("valid" | "needs_review")), "{v}");
    assert!(!v["receipt"]["signature"].as_str().unwrap().is_empty());
    for key in ["claimed", "received_at", "at"] {
        assert!(v["times"][key].is_string(), "{key}: {v}");
    }
    assert_eq!(v["times"]["adjusted"], false);
    assert!(v["corrections"].as_array().unwrap().is_empty());
    assert!(v["reviews"].as_array().unwrap().is_empty());

    // A correction with its reason: the original is no longer current.
    let mut fix = cosigned_reading(&tablet, WO_B);
    fix.supersedes = Some(Supersedes {
        record_id: reading.clone(),
        content_hash: hash.parse().unwrap(),
        reason: "读数抄错".into(),
    });
    let (fixed, _) = push(&server, &mut tablet, fix).await;
    let v = view(&server, &reading).await;
    assert_eq!(v["record"]["latest"], false, "{v}");
    let corrections = v["corrections"].as_array().unwrap();
    assert_eq!(corrections.len(), 1, "{v}");
    assert_eq!(
        (corrections[0]["record_id"].as_str(), corrections[0]["reason"].as_str()),
        (Some(fixed.as_str()), Some("读数抄错"))
    );
    let v = view(&server, &fixed).await;
    assert_eq!(v["corrects"]["record_id"], reading.as_str(), "{v}");
    let (items, _) = page(&server, &format!("/v1/office/records?q={reading}")).await;
    assert_eq!(
        (items[0]["current"].as_bool(), items[0]["superseded_by"].clone()),
        (Some(false), json!([fixed]))
    );

    // A refusal: the customer's answer with its reason.
    let refused = CustomerSignoff::refused("维修后仍不热", "更换阀门一个").unwrap();
    let signoff = common::record_content(
        &tablet,
        "hearth.customer_signoff/1",
        WO_B,
        vec![signer(&tablet, SignerRole::Performer, "T0017")],
        vec![],
        serde_json::to_value(&refused).unwrap(),
    );
    let (signoff, _) = push(&server, &mut tablet, signoff).await;
    let v = view(&server, &signoff).await;
    assert_eq!(v["customer"]["answer"], "refused", "{v}");
    assert_eq!(v["customer"]["reason"], "维修后仍不热");
    assert_eq!(v["customer"]["summary_shown"], "更换阀门一个");
}

/// Replaces the content of a stored envelope behind the server's back, as
/// someone with database access could (crates/server/tests/verify.rs).
async fn tamper(server: &TestServer, backend: Backend, record_id: &str, change: impl FnOnce(&mut Envelope)) {
    let mut envelope = server.storage().await.entry_by_record_id(record_id).await.unwrap().unwrap().envelope;
    change(&mut envelope);
    let text = serde_json::to_string(&envelope).unwrap();
    match backend {
        Backend::Sqlite => {
            let path = server.database.strip_prefix("sqlite://").unwrap().to_owned();
            let id = record_id.to_owned();
            tokio::task::spawn_blocking(move || {
                let db = rusqlite::Connection::open(path).unwrap();
                db.execute_batch("DROP TRIGGER IF EXISTS entry_no_update").unwrap();
                db.execute("UPDATE entry SET envelope = ?1 WHERE record_id = ?2", [text, id]).unwrap();
            })
            .await
            .unwrap();
        }
        Backend::Postgres => {
            let (client, conn) =
                tokio_postgres::connect(&server.database, tokio_postgres::NoTls).await.unwrap();
            tokio::spawn(conn);
            client.batch_execute("ALTER TABLE entry DISABLE TRIGGER entry_no_update").await.unwrap();
            let n = client
                .execute("UPDATE entry SET envelope = $1 WHERE record_id = $2", &[&text, &record_id])
                .await
                .unwrap();
            assert_eq!(n, 1);
        }
    }
}

async fn a_byte_changed_in_the_database_shows_the_signatures_invalid(backend: Backend) {
    let Setup { server, mut tablet, .. } = setup(backend).await;
    let c = cosigned_reading(&tablet, WO_B);
    let (reading, _) = push(&server, &mut tablet, c).await;
    assert_eq!(view(&server, &reading).await["verification"]["signatures_valid"], true);
    // One byte of the content, changed: 1760 becomes 1960.
    tamper(&server, backend, &reading, |e| {
        let mut bytes = b64::decode(&e.content).unwrap();
        let text = String::from_utf8(bytes.clone()).unwrap();
        let at = text.find("1760").unwrap();
        bytes[at + 1] = b'9';
        e.content = b64::encode(&bytes);
    })
    .await;
    let v = view(&server, &reading).await;
    assert_eq!(v["verification"]["signatures_valid"], false, "{v}");
    assert!(v["verification"]["error"].is_string(), "{v}");
    assert!(v["signatures"].as_array().unwrap().iter().all(|s| s["valid"] == false), "{v}");

    // The tablet's signature replaced by another signature of its key.
    let c = step(&tablet, WO_B, "T0017");
    let (other, _) = push(&server, &mut tablet, c).await;
    let forged = {
        use ed25519_dalek::Signer as _;
        tablet.key.sign(b"something else").to_bytes()
    };
    tamper(&server, backend, &other, |e| e.device_sig.sig = b64::encode(&forged)).await;
    let v = view(&server, &other).await;
    assert_eq!(
        (v["verification"]["intact"].as_bool(), v["verification"]["device_signature_valid"].as_bool()),
        (Some(true), Some(false)),
        "{v}"
    );
    assert_eq!(v["verification"]["signatures_valid"], false);
}

/// A real JPEG, 96×64, of four flat colours.
fn jpeg() -> Vec<u8> {
    let (w, h) = (96u16, 64u16);
    let mut rgb = Vec::new();
    for y in 0..h {
        for x in 0..w {
            let c: [u8; 3] = match (x < w / 2, y < h / 2) {
                (true, true) => [200, 30, 30],
                (false, true) => [30, 200, 30],
                (true, false) => [30, 30, 200],
                (false, false) => [230, 230, 230],
            };
            rgb.extend_from_slice(&c);
        }
    }
    let mut out = Vec::new();
    jpeg_encoder::Encoder::new(&mut out, 85).encode(&rgb, w, h, jpeg_encoder::ColorType::Rgb).unwrap();
    out
}

/// Uploads `bytes` as the tablet would (tus, one chunk); returns its sha256.
async fn upload(server: &TestServer, device: &TestDevice, bytes: &[u8], media_type: &str) -> String {
    let sha = hex::encode(Sha256::digest(bytes));
    let meta = format!("sha256 {},media_type {}", STANDARD.encode(&sha), STANDARD.encode(media_type));
    let resp = server
        .http
        .post(server.url("/v1/uploads"))
        .bearer_auth(&device.token)
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Length", bytes.len().to_string())
        .header("Upload-Metadata", meta)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let location = resp.headers()["location"].to_str().unwrap().to_owned();
    let resp = server
        .http
        .patch(server.url(&location))
        .bearer_auth(&device.token)
        .header("Tus-Resumable", "1.0.0")
        .header("Content-Type", "application/offset+octet-stream")
        .header("Upload-Offset", "0")
        .header("Upload-Checksum", format!("sha256 {}", STANDARD.encode(Sha256::digest(bytes))))
        .body(bytes.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    sha
}

async fn a_photo_blob_has_a_cached_jpeg_thumbnail(backend: Backend) {
    let Setup { server, mut tablet, .. } = setup(backend).await;
    let photo = jpeg();
    let sha = upload(&server, &tablet, &photo, "image/jpeg").await;
    // A step naming the photo: the record view lists it as on the server.
    let mut c = step(&tablet, WO_A, "T0017");
    c.attachments = vec![Attachment {
        sha256: sha.parse().unwrap(),
        size: photo.len() as u64,
        media_type: "image/jpeg".into(),
        role: AttachmentRole::Photo,
        captured_at_ms: None,
    }];
    let (record, _) = push(&server, &mut tablet, c).await;
    let v = view(&server, &record).await;
    assert_eq!(v["photos"][0]["sha256"], sha.as_str(), "{v}");
    assert_eq!(v["photos"][0]["on_server"], true, "{v}");

    let path = format!("/v1/office/blobs/{sha}/thumbnail");
    let resp = get(&server, &path).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "image/jpeg");
    assert!(resp.headers()["cache-control"].to_str().unwrap().contains("immutable"));
    let etag = resp.headers()["etag"].to_str().unwrap().to_owned();
    let thumb = resp.bytes().await.unwrap();
    assert_eq!(&thumb[..3], &[0xFF, 0xD8, 0xFF], "a JPEG");
    assert!(server.blob_dir().join(".thumbnails").join(format!("{sha}.jpg")).is_file(), "cached on disk");
    // Again from the cache, the same bytes; revalidated, nothing.
    assert_eq!(get(&server, &path).await.bytes().await.unwrap(), thumb);
    let resp = server
        .http
        .get(server.url(&path))
        .bearer_auth(&server.operator)
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 304);

    let resp = get(&server, "/v1/office/blobs/not-a-hash/thumbnail").await;
    expect_json_error(resp, 400, Some("bad_blob_id")).await;
    let resp = get(&server, &format!("/v1/office/blobs/{}/thumbnail", "0".repeat(64))).await;
    expect_json_error(resp, 404, Some("not_found")).await;
}

/// The first six of the seven steps (a sign-off comes after the resolve step), as a tablet seals them.
fn six_steps(device: &TestDevice, wo: &str) -> Vec<Content> {
    use hearth_domain::{
        Appointment, AppointmentEvidence, ArrivalEvidence, CommunicateEvidence, CompletedStep, EntryEvidence,
        InspectEvidence, PartReplacement, ResolveEvidence, StepEvidence,
    };
    let start = chrono::Utc::now() - chrono::Duration::minutes(30);
    let evidence = [
        StepEvidence::Appointment(AppointmentEvidence {
            agreed: Appointment::new(start, start + chrono::Duration::hours(1)).unwrap(),
            customer_confirmed: true,
            note: None,
        }),
        StepEvidence::Arrival(ArrivalEvidence {
            body_camera_on: true,
            knocked_gently: true,
            work_id_shown: true,
            note: None,
            photos: vec![],
        }),
        StepEvidence::Entry(EntryEvidence { uniform: true, badge: true, shoe_covers: true, note: None }),
        StepEvidence::Communicate(CommunicateEvidence {
            confirmed_problem: "卧室暖气片不热".into(),
            paid_service_told: Some(false),
        }),
        StepEvidence::Inspect(InspectEvidence { findings: "阀门卡死".into(), ..Default::default() }),
        StepEvidence::Resolve(ResolveEvidence {
            action: "更换阀门".into(),
            parts: vec![PartReplacement {
                part: "DN20 温控阀".into(),
                price_told_cents: Some(8500),
                customer_consented: true,
            }],
            ..Default::default()
        }),
    ];
    evidence
        .into_iter()
        .enumerate()
        .map(|(i, evidence)| {
            let step = CompletedStep { at: start + chrono::Duration::minutes(i as i64), evidence };
            common::record_content(
                device,
                "hearth.visit_step/1",
                wo,
                vec![signer(device, SignerRole::Performer, "T0017")],
                vec![],
                serde_json::to_value(&step).unwrap(),
            )
        })
        .collect()
}

fn pdftotext(server: &TestServer, name: &str, pdf: &[u8]) -> String {
    let file = server.dir.path().join(name);
    std::fs::write(&file, pdf).unwrap();
    let out = std::process::Command::new("pdftotext").arg(&file).arg("-").output().unwrap();
    assert!(out.status.success(), "pdftotext reads it");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

async fn the_customer_copy_is_reprinted_from_the_server(backend: Backend) {
    let Setup { server, mut tablet, .. } = setup(backend).await;
    let resp = get(&server, &format!("/v1/office/work-orders/{WO_A}/copy.pdf")).await;
    expect_json_error(resp, 409, Some("no_signoff")).await;
    let resp = get(&server, "/v1/office/work-orders/WO-NEVER/copy.pdf").await;
    expect_json_error(resp, 404, Some("not_found")).await;

    let mut accepted = Vec::new();
    for c in six_steps(&tablet, WO_A) {
        let (record_id, hash) = push(&server, &mut tablet, c).await;
        accepted.push(hearth_protocol::RecordRef { record_id, content_hash: hash.parse().unwrap() });
    }
    let refused = CustomerSignoff::refused("维修后仍不热", "工单号：WO-REC-A\n更换阀门一个").unwrap();
    let signoff = common::record_content(
        &tablet,
        "hearth.customer_signoff/1",
        WO_A,
        vec![signer(&tablet, SignerRole::Performer, "T0017")],
        accepted,
        serde_json::to_value(&refused).unwrap(),
    );
    push(&server, &mut tablet, signoff).await;
    let resp = get(&server, &format!("/v1/office/work-orders/{WO_A}/copy.pdf?server=ftp%3A%2F%2Fx")).await;
    expect_json_error(resp, 400, Some("bad_field")).await;
    let resp = get(&server, &format!("/v1/office/work-orders/{WO_A}/copy.pdf?format=a4")).await;
    expect_json_error(resp, 400, Some("bad_field")).await;
    let resp =
        get(&server, &format!("/v1/office/work-orders/{WO_A}/copy.pdf?server=https%3A%2F%2Fheat.example.cn"))
            .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/pdf");
    let pdf = resp.bytes().await.unwrap();
    assert!(pdf.starts_with(b"%PDF"));
    let text = pdftotext(&server, "reprint.pdf", &pdf);
    assert!(text.contains(WO_A), "{text}");
    assert!(text.contains("入户维修服务确认单（重印）"), "{text}");
    assert!(text.contains("维修后仍不热"), "the refusal's reason: {text}");
    assert!(text.contains("<img src=x onerror=alert(1)>"), "the customer's name as text: {text}");
    assert!(text.contains("手机扫码可核验本单真伪"), "its QR code links to the verification page: {text}");
    // The steps and the part as the tablet prints them, not the summary as one block.
    for words in ["一、预约", "六、解决", "阀门卡死", "DN20 温控阀", "¥85.00", "王建国", "服务尚未全部完成"]
    {
        assert!(text.contains(words), "the reprint says {words}: {text}");
    }
}

/// A tablet that did not keep the visit's rules (a sign-off with no step
/// before it): the server stored the records, but no copy can be made from them.
async fn records_that_do_not_replay_make_no_copy(backend: Backend) {
    let Setup { server, mut tablet, .. } = setup(backend).await;
    let c = step(&tablet, WO_B, "T0017");
    let (record_id, hash) = push(&server, &mut tablet, c).await;
    let refused = CustomerSignoff::refused("不认可", "工单号：WO-REC-B").unwrap();
    let signoff = common::record_content(
        &tablet,
        "hearth.customer_signoff/1",
        WO_B,
        vec![signer(&tablet, SignerRole::Performer, "T0017")],
        vec![hearth_protocol::RecordRef { record_id, content_hash: hash.parse().unwrap() }],
        serde_json::to_value(&refused).unwrap(),
    );
    push(&server, &mut tablet, signoff).await;
    let resp = get(&server, &format!("/v1/office/work-orders/{WO_B}/copy.pdf")).await;
    expect_json_error(resp, 409, Some("records_do_not_replay")).await;
}

on_both_backends!(
    search_finds_by_each_field_and_pages_without_gaps,
    bad_search_input_is_refused_by_name,
    the_view_of_a_cosigned_reading_names_and_verifies_its_signers,
    a_byte_changed_in_the_database_shows_the_signatures_invalid,
    a_photo_blob_has_a_cached_jpeg_thumbnail,
    the_customer_copy_is_reprinted_from_the_server,
    records_that_do_not_replay_make_no_copy,
);
