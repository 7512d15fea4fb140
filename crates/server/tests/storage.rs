//! One scenario suite for both storage backends. Each scenario is written
//! once against `Arc<dyn Storage>` and run twice: `sqlite_<scenario>` on a
//! fresh SQLite file in a temporary directory, `postgres_<scenario>` on a
//! fresh PostgreSQL database created for the test and dropped after it (even
//! when it panics).
//!
//! PostgreSQL: `postgres://root@127.0.0.1:5432/test` unless
//! `HEARTH_TEST_POSTGRES` names another server (URL form; the database in it
//! is only used to create and drop the test databases). When it cannot be
//! reached the postgres tests fail; they never skip.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use hearth_protocol::{DeviceSignature, Envelope, Receipt, ReceiptStatus, SignerRole, TechSignature};
use hearth_server::storage::postgres::PostgresStorage;
use hearth_server::storage::sqlite::SqliteStorage;
use hearth_server::storage::{
    CodePurpose, NewConflict, NewDevice, NewEnrolCode, NewEntry, PutSnapshot, ReceiptSigner, Scope,
    SnapshotKind, Storage, StorageError, StoredEntry, TechnicianKeyRow,
};
use rand_core::{OsRng, RngCore};
use serde_json::json;
use sha2::{Digest, Sha256};
use tokio::sync::Barrier;
use tokio_postgres::NoTls;

const DEFAULT_POSTGRES: &str = "postgres://root@127.0.0.1:5432/test";

// ---------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------

/// A fresh storage, a way to run raw SQL on the same database through a
/// separate connection, and whatever must outlive them (dropped last).
struct Backend {
    storage: Arc<dyn Storage>,
    raw: Raw,
    _keep: Keep,
}

#[allow(dead_code)] // held only for their Drop
enum Keep {
    Dir(tempfile::TempDir),
    Database(DropDatabase),
}

enum Raw {
    Sqlite(PathBuf),
    Postgres(String),
}

impl Raw {
    /// Runs SQL on a new connection; the error is the database's message.
    async fn execute(&self, sql: &str) -> Result<(), String> {
        match self {
            Raw::Sqlite(path) => {
                let (path, sql) = (path.clone(), sql.to_owned());
                tokio::task::spawn_blocking(move || {
                    let conn = rusqlite::Connection::open(&path).map_err(|e| e.to_string())?;
                    conn.busy_timeout(Duration::from_secs(10)).map_err(|e| e.to_string())?;
                    conn.execute_batch(&sql).map_err(|e| e.to_string())
                })
                .await
                .expect("the raw SQLite task panicked")
            }
            Raw::Postgres(url) => {
                let client = pg_connect(url).await;
                client.batch_execute(sql).await.map_err(|e| match e.as_db_error() {
                    Some(db) => db.message().to_owned(),
                    None => format!("{e:?}"),
                })
            }
        }
    }

    /// The first column of the only row, as text.
    async fn text(&self, sql: &str) -> String {
        match self {
            Raw::Sqlite(path) => {
                let (path, sql) = (path.clone(), sql.to_owned());
                tokio::task::spawn_blocking(move || {
                    let conn = rusqlite::Connection::open(&path).expect("open the SQLite file");
                    conn.query_row(&sql, [], |r| r.get::<_, String>(0)).expect("raw SQLite query")
                })
                .await
                .expect("the raw SQLite task panicked")
            }
            Raw::Postgres(url) => {
                let client = pg_connect(url).await;
                client.query_one(sql, &[]).await.expect("raw PostgreSQL query").get::<_, String>(0)
            }
        }
    }
}

fn sqlite() -> Backend {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("server.db");
    let storage = SqliteStorage::open(&path).expect("open a fresh SQLite database");
    Backend { storage: Arc::new(storage), raw: Raw::Sqlite(path), _keep: Keep::Dir(dir) }
}

fn admin_url() -> String {
    std::env::var("HEARTH_TEST_POSTGRES").unwrap_or_else(|_| DEFAULT_POSTGRES.to_owned())
}

/// Connects or fails the test with a message saying what to do.
async fn pg_connect(url: &str) -> tokio_postgres::Client {
    let mut config: tokio_postgres::Config =
        url.parse().unwrap_or_else(|e| panic!("HEARTH_TEST_POSTGRES is not a PostgreSQL URL: {e}"));
    config.connect_timeout(Duration::from_secs(10));
    match config.connect(NoTls).await {
        Ok((client, connection)) => {
            tokio::spawn(connection);
            client
        }
        Err(e) => {
            let which = if std::env::var_os("HEARTH_TEST_POSTGRES").is_some() {
                "the server named by HEARTH_TEST_POSTGRES".to_owned()
            } else {
                DEFAULT_POSTGRES.to_owned()
            };
            panic!(
                "PostgreSQL is not reachable at {which}: {e:?}. The postgres_* storage tests need a \
                 PostgreSQL 15 server (trust auth); start one or set HEARTH_TEST_POSTGRES."
            )
        }
    }
}

/// `url` with its database replaced by `database` (URL form only).
fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, format!("?{query}")),
        None => (url, String::new()),
    };
    let (scheme, rest) = base.split_once("://").expect("HEARTH_TEST_POSTGRES must be a postgres:// URL");
    let authority = rest.split_once('/').map_or(rest, |(authority, _)| authority);
    format!("{scheme}://{authority}/{database}{query}")
}

/// Creates an empty database for one test; it is dropped with the guard.
async fn fresh_postgres_database() -> (DropDatabase, String) {
    let admin = admin_url();
    let client = pg_connect(&admin).await;
    let name = format!("hearth_t_{:016x}", OsRng.next_u64());
    client.batch_execute(&format!("CREATE DATABASE {name}")).await.expect("CREATE DATABASE for the test");
    let url = with_database(&admin, &name);
    (DropDatabase { admin_url: admin, name }, url)
}

async fn postgres() -> Backend {
    let (guard, url) = fresh_postgres_database().await;
    let storage = PostgresStorage::connect(&url).await.expect("connect and migrate the fresh database");
    Backend { storage: Arc::new(storage), raw: Raw::Postgres(url), _keep: Keep::Database(guard) }
}

/// Drops the test database when the test ends, passing or panicking. Drop
/// cannot await, so it uses a thread with its own small runtime.
struct DropDatabase {
    admin_url: String,
    name: String,
}

impl Drop for DropDatabase {
    fn drop(&mut self) {
        let (url, name) = (self.admin_url.clone(), self.name.clone());
        let outcome = std::thread::spawn(move || -> Result<(), String> {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            runtime.block_on(async move {
                let (client, connection) =
                    tokio_postgres::connect(&url, NoTls).await.map_err(|e| format!("{e:?}"))?;
                tokio::spawn(connection);
                client
                    .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .await
                    .map_err(|e| format!("{e:?}"))
            })
        })
        .join();
        match outcome {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!("could not drop test database {}: {e}", self.name),
            Err(_) => eprintln!("could not drop test database {}: the dropping thread panicked", self.name),
        }
    }
}

macro_rules! on_both_backends {
    ($($scenario:ident => $sqlite:ident, $postgres:ident;)*) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $sqlite() {
            let db = sqlite();
            $scenario(&db).await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $postgres() {
            let db = postgres().await;
            $scenario(&db).await;
        }
    )*};
}

on_both_backends! {
    the_server_secret_and_epoch_are_created_once_and_then_stable =>
        sqlite_the_server_secret_and_epoch_are_created_once_and_then_stable,
        postgres_the_server_secret_and_epoch_are_created_once_and_then_stable;
    operator_tokens_are_found_once_added_and_cannot_be_added_twice =>
        sqlite_operator_tokens_are_found_once_added_and_cannot_be_added_twice,
        postgres_operator_tokens_are_found_once_added_and_cannot_be_added_twice;
    a_device_code_enrols_exactly_one_device_and_cannot_be_reused =>
        sqlite_a_device_code_enrols_exactly_one_device_and_cannot_be_reused,
        postgres_a_device_code_enrols_exactly_one_device_and_cannot_be_reused;
    an_expired_unknown_or_other_kind_of_code_is_rejected =>
        sqlite_an_expired_unknown_or_other_kind_of_code_is_rejected,
        postgres_an_expired_unknown_or_other_kind_of_code_is_rejected;
    a_technician_code_binds_only_the_tech_id_it_names =>
        sqlite_a_technician_code_binds_only_the_tech_id_it_names,
        postgres_a_technician_code_binds_only_the_tech_id_it_names;
    device_keys_return_the_device_and_its_technician_keys =>
        sqlite_device_keys_return_the_device_and_its_technician_keys,
        postgres_device_keys_return_the_device_and_its_technician_keys;
    revocations_set_revoked_at_once_and_keep_the_first_time =>
        sqlite_revocations_set_revoked_at_once_and_keep_the_first_time,
        postgres_revocations_set_revoked_at_once_and_keep_the_first_time;
    append_entry_allocates_server_seq_in_order_and_entries_read_back_identical =>
        sqlite_append_entry_allocates_server_seq_in_order_and_entries_read_back_identical,
        postgres_append_entry_allocates_server_seq_in_order_and_entries_read_back_identical;
    appending_the_same_device_seq_or_record_id_again_is_refused_as_exists =>
        sqlite_appending_the_same_device_seq_or_record_id_again_is_refused_as_exists,
        postgres_appending_the_same_device_seq_or_record_id_again_is_refused_as_exists;
    the_database_refuses_update_and_delete_on_entries_and_conflicts =>
        sqlite_the_database_refuses_update_and_delete_on_entries_and_conflicts,
        postgres_the_database_refuses_update_and_delete_on_entries_and_conflicts;
    conflicts_are_recorded_and_listed_per_device_in_order =>
        sqlite_conflicts_are_recorded_and_listed_per_device_in_order,
        postgres_conflicts_are_recorded_and_listed_per_device_in_order;
    entry_queries_behave_as_documented =>
        sqlite_entry_queries_behave_as_documented,
        postgres_entry_queries_behave_as_documented;
    put_snapshot_bumps_rev_and_refuses_a_stale_expected_rev =>
        sqlite_put_snapshot_bumps_rev_and_refuses_a_stale_expected_rev,
        postgres_put_snapshot_bumps_rev_and_refuses_a_stale_expected_rev;
    the_feed_returns_each_snapshot_once_at_its_latest_feed_seq_in_order =>
        sqlite_the_feed_returns_each_snapshot_once_at_its_latest_feed_seq_in_order,
        postgres_the_feed_returns_each_snapshot_once_at_its_latest_feed_seq_in_order;
    concurrent_first_writes_of_one_snapshot_never_both_succeed =>
        sqlite_concurrent_first_writes_of_one_snapshot_never_both_succeed,
        postgres_concurrent_first_writes_of_one_snapshot_never_both_succeed;
    eight_concurrent_appenders_get_server_seqs_1_to_400_without_gaps_or_duplicates =>
        sqlite_eight_concurrent_appenders_get_server_seqs_1_to_400_without_gaps_or_duplicates,
        postgres_eight_concurrent_appenders_get_server_seqs_1_to_400_without_gaps_or_duplicates;
    a_feed_reader_never_misses_an_item_while_four_writers_put_snapshots =>
        sqlite_a_feed_reader_never_misses_an_item_while_four_writers_put_snapshots,
        postgres_a_feed_reader_never_misses_an_item_while_four_writers_put_snapshots;
}

// ---------------------------------------------------------------------------
// Values
// ---------------------------------------------------------------------------

fn sha(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// An envelope with text that serialisers like to mangle (non-ASCII, quotes,
/// escapes), so "reads back identical" means something.
fn envelope(tag: &str) -> Envelope {
    Envelope {
        entry: format!("ZW50cnk-{tag}"),
        content: format!("Y29udGVudA-{tag} «crème brûlée» \"q\" \\ ✓"),
        tech_sigs: vec![TechSignature {
            role: SignerRole::Performer,
            tech_id: "T0017".into(),
            kid: "kid-tech".into(),
            sig: format!("tsig-{tag}"),
        }],
        device_sig: DeviceSignature { kid: "kid-device".into(), sig: format!("dsig-{tag}") },
    }
}

fn new_entry(device: &str, seq: u64) -> NewEntry {
    let tag = format!("{device}/{seq}");
    NewEntry {
        device_id: device.into(),
        seq,
        record_id: format!("rec-{device}-{seq}"),
        entry_hash: sha(&format!("entry {tag}")),
        content_hash: sha(&format!("content {tag}")),
        schema: "hearth.test/v1".into(),
        work_order_id: None,
        envelope: envelope(&tag),
        received_at_ms: 1_700_000_000_000 + i64::try_from(seq).expect("small seq") * 1000,
        boot_id: "boot-1".into(),
        device_time_ms: 1_699_999_999_000 + i64::try_from(seq).expect("small seq") * 1000,
        monotonic_ms: 5_000 + i64::try_from(seq).expect("small seq"),
        status: ReceiptStatus::Valid,
        flags: vec![],
    }
}

fn signer() -> ReceiptSigner {
    Arc::new(|r: &Receipt| Ok(format!("sig-{}", r.server_seq)))
}

fn device_code(name: &str, expires_at_ms: i64) -> NewEnrolCode {
    NewEnrolCode { code_hash: sha(name), purpose: CodePurpose::Device, created_at_ms: 1_000, expires_at_ms }
}

fn technician_code(name: &str, tech_id: &str) -> NewEnrolCode {
    NewEnrolCode {
        code_hash: sha(name),
        purpose: CodePurpose::Technician { tech_id: tech_id.into() },
        created_at_ms: 1_000,
        expires_at_ms: 100_000,
    }
}

fn device(id: &str) -> NewDevice {
    NewDevice {
        device_id: id.into(),
        name: format!("Tablet {id}"),
        public_key: [id.len() as u8; 32],
        kid: format!("kid-{id}"),
        token_hash: sha(&format!("token {id}")),
    }
}

fn tech_key(kid: &str, tech_id: &str, device_id: &str) -> TechnicianKeyRow {
    TechnicianKeyRow {
        kid: kid.into(),
        tech_id: tech_id.into(),
        device_id: device_id.into(),
        public_key: [0xA5; 32],
        bound_at_ms: 0,
        revoked_at_ms: None,
    }
}

/// Enrols `id` with a fresh device code at time 2000.
async fn enrol(storage: &dyn Storage, id: &str) {
    storage
        .add_enrol_code(device_code(&format!("code for {id}"), 100_000))
        .await
        .expect("add the device code");
    storage.enrol_device(&sha(&format!("code for {id}")), device(id), 2_000).await.expect("enrol the device");
}

fn put(
    kind: SnapshotKind,
    id: &str,
    body: serde_json::Value,
    expected_rev: Option<u64>,
    now_ms: i64,
) -> PutSnapshot {
    PutSnapshot {
        kind,
        id: id.into(),
        body,
        scope: Scope { technicians: vec!["T0017".into()], device_id: None },
        expected_rev,
        now_ms,
    }
}

fn assert_exists<T: std::fmt::Debug>(result: Result<T, StorageError>, why: &str) {
    assert!(matches!(result, Err(StorageError::Exists(_))), "{why}: expected Exists, got {result:?}");
}

fn assert_code_rejected<T: std::fmt::Debug>(result: Result<T, StorageError>, why: &str) {
    assert!(
        matches!(result, Err(StorageError::CodeRejected)),
        "{why}: expected CodeRejected, got {result:?}"
    );
}

// ---------------------------------------------------------------------------
// Scenarios
// ---------------------------------------------------------------------------

async fn the_server_secret_and_epoch_are_created_once_and_then_stable(db: &Backend) {
    let s = &db.storage;
    assert_eq!(s.server_secret([1; 32]).await.unwrap(), [1; 32], "the first secret offered is stored");
    assert_eq!(s.server_secret([2; 32]).await.unwrap(), [1; 32], "a later fresh secret must not replace it");
    assert_eq!(s.database_epoch("epoch-a".into()).await.unwrap(), "epoch-a", "the first epoch is stored");
    assert_eq!(s.database_epoch("epoch-b".into()).await.unwrap(), "epoch-a", "the epoch never changes");
    assert_eq!(
        s.server_secret([3; 32]).await.unwrap(),
        [1; 32],
        "the epoch and the secret are separate keys"
    );
}

async fn operator_tokens_are_found_once_added_and_cannot_be_added_twice(db: &Backend) {
    let s = &db.storage;
    let token = sha("operator token");
    assert!(!s.operator_token_exists(&token).await.unwrap(), "no token exists before one is added");
    s.add_operator_token(&token, 1_000).await.unwrap();
    assert!(s.operator_token_exists(&token).await.unwrap(), "an added token is found");
    assert!(!s.operator_token_exists(&sha("another")).await.unwrap(), "only the added token is found");
    assert_exists(s.add_operator_token(&token, 2_000).await, "the same token hash twice");
}

async fn a_device_code_enrols_exactly_one_device_and_cannot_be_reused(db: &Backend) {
    let s = &db.storage;
    s.add_enrol_code(device_code("code-1", 10_000)).await.unwrap();
    assert_exists(s.add_enrol_code(device_code("code-1", 20_000)).await, "the same code hash twice");

    s.enrol_device(&sha("code-1"), device("dev-1"), 2_000).await.expect("a fresh device code enrols");
    let row =
        s.device_by_token(&sha("token dev-1")).await.unwrap().expect("the enrolled device is found by token");
    assert_eq!(row.device_id, "dev-1");
    assert_eq!(row.name, "Tablet dev-1");
    assert_eq!(row.public_key, [5; 32]);
    assert_eq!(row.kid, "kid-dev-1");
    assert_eq!(row.enrolled_at_ms, 2_000, "enrolled_at is the time of enrolment");
    assert_eq!(row.revoked_at_ms, None);

    assert_code_rejected(s.enrol_device(&sha("code-1"), device("dev-2"), 3_000).await, "a used code");
    assert_eq!(s.device_by_token(&sha("token dev-2")).await.unwrap(), None, "a rejected code enrols nothing");
    assert_eq!(s.device_by_token(&sha("no such token")).await.unwrap(), None);

    // Many tablets racing with one code: exactly one wins.
    s.add_enrol_code(device_code("code-race", 10_000)).await.unwrap();
    let barrier = Arc::new(Barrier::new(6));
    let tasks: Vec<_> = (0..6)
        .map(|n| {
            let (s, barrier) = (s.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                s.enrol_device(&sha("code-race"), device(&format!("racer-{n}")), 4_000).await
            })
        })
        .collect();
    let mut won = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(()) => won += 1,
            Err(StorageError::CodeRejected) => {}
            Err(e) => panic!("a losing racer must see CodeRejected, got {e:?}"),
        }
    }
    assert_eq!(won, 1, "a one-time code used concurrently enrols exactly one device");

    // A failed insert (duplicate device) must not burn the code.
    s.add_enrol_code(device_code("code-3", 10_000)).await.unwrap();
    assert_exists(
        s.enrol_device(&sha("code-3"), device("dev-1"), 5_000).await,
        "an already enrolled device_id",
    );
    s.enrol_device(&sha("code-3"), device("dev-3"), 5_000)
        .await
        .expect("the code survives a failed enrolment");
}

async fn an_expired_unknown_or_other_kind_of_code_is_rejected(db: &Backend) {
    let s = &db.storage;
    s.add_enrol_code(device_code("short-lived", 5_000)).await.unwrap();
    assert_code_rejected(
        s.enrol_device(&sha("short-lived"), device("dev-1"), 5_000).await,
        "a code at its expiry",
    );
    assert_code_rejected(
        s.enrol_device(&sha("short-lived"), device("dev-1"), 9_000).await,
        "an expired code",
    );
    assert_code_rejected(
        s.enrol_device(&sha("never issued"), device("dev-1"), 1_000).await,
        "an unknown code",
    );
    s.add_enrol_code(technician_code("tech code", "T0017")).await.unwrap();
    assert_code_rejected(
        s.enrol_device(&sha("tech code"), device("dev-1"), 2_000).await,
        "a technician code used to enrol a device",
    );
    assert_eq!(s.device_keys("dev-1").await.unwrap(), None, "no rejected code enrolled the device");
    s.enrol_device(&sha("short-lived"), device("dev-1"), 4_999)
        .await
        .expect("the code is still good before expiry");
}

async fn a_technician_code_binds_only_the_tech_id_it_names(db: &Backend) {
    let s = &db.storage;
    enrol(s.as_ref(), "dev-1").await;
    s.add_enrol_code(technician_code("tech code", "T0017")).await.unwrap();
    assert_code_rejected(
        s.enrol_technician_key(&sha("tech code"), tech_key("kid-t2", "T0002", "dev-1"), 3_000).await,
        "a code for T0017 presented for T0002",
    );
    s.enrol_technician_key(&sha("tech code"), tech_key("kid-t17", "T0017", "dev-1"), 3_000)
        .await
        .expect("the code binds the technician it names (the failed attempt did not consume it)");
    assert_code_rejected(
        s.enrol_technician_key(&sha("tech code"), tech_key("kid-t17b", "T0017", "dev-1"), 3_500).await,
        "a used technician code",
    );
    s.add_enrol_code(device_code("device code", 100_000)).await.unwrap();
    assert_code_rejected(
        s.enrol_technician_key(&sha("device code"), tech_key("kid-t17c", "T0017", "dev-1"), 3_500).await,
        "a device code used to bind a technician key",
    );
    let keys = s.device_keys("dev-1").await.unwrap().expect("the device exists");
    let kids: Vec<_> = keys.technicians.iter().map(|k| (k.kid.as_str(), k.tech_id.as_str())).collect();
    assert_eq!(kids, [("kid-t17", "T0017")], "only the accepted binding is stored");
    assert_eq!(keys.technicians[0].bound_at_ms, 3_000, "bound_at is the time of binding");
}

async fn device_keys_return_the_device_and_its_technician_keys(db: &Backend) {
    let s = &db.storage;
    assert_eq!(s.device_keys("dev-1").await.unwrap(), None, "no keys for an unknown device");
    enrol(s.as_ref(), "dev-1").await;
    enrol(s.as_ref(), "dev-22").await;
    for (code, kid, tech, dev, at) in [
        ("c1", "kid-b", "T0002", "dev-1", 3_000),
        ("c2", "kid-a", "T0001", "dev-1", 3_000),
        ("c3", "kid-c", "T0003", "dev-1", 2_500),
        ("c4", "kid-z", "T0001", "dev-22", 2_500),
    ] {
        s.add_enrol_code(technician_code(code, tech)).await.unwrap();
        s.enrol_technician_key(&sha(code), tech_key(kid, tech, dev), at).await.unwrap();
    }
    let keys = s.device_keys("dev-1").await.unwrap().expect("an enrolled device has keys");
    assert_eq!(keys.device.device_id, "dev-1");
    assert_eq!(keys.device.public_key, [5; 32], "the device's own key comes back");
    assert_eq!(keys.device.kid, "kid-dev-1");
    let got: Vec<_> =
        keys.technicians.iter().map(|k| (k.kid.as_str(), k.tech_id.as_str(), k.bound_at_ms)).collect();
    assert_eq!(
        got,
        [("kid-c", "T0003", 2_500), ("kid-a", "T0001", 3_000), ("kid-b", "T0002", 3_000)],
        "the device's technician keys only, by bound_at then kid"
    );
    assert!(keys.technicians.iter().all(|k| k.device_id == "dev-1" && k.public_key == [0xA5; 32]));
    assert!(keys.technicians.iter().all(|k| k.revoked_at_ms.is_none()));
}

async fn revocations_set_revoked_at_once_and_keep_the_first_time(db: &Backend) {
    let s = &db.storage;
    enrol(s.as_ref(), "dev-1").await;
    s.add_enrol_code(technician_code("c1", "T0001")).await.unwrap();
    s.enrol_technician_key(&sha("c1"), tech_key("kid-a", "T0001", "dev-1"), 3_000).await.unwrap();

    assert!(s.revoke_device("dev-1", 10_000).await.unwrap(), "an existing device is revoked");
    assert!(s.revoke_device("dev-1", 20_000).await.unwrap(), "revoking again still finds the device");
    assert!(!s.revoke_device("nobody", 10_000).await.unwrap(), "an unknown device is reported as such");
    let row = s.device_by_token(&sha("token dev-1")).await.unwrap().unwrap();
    assert_eq!(row.revoked_at_ms, Some(10_000), "the first revocation time is kept");

    let key = s.revoke_technician_key("kid-a", 30_000).await.unwrap().expect("an existing key is revoked");
    assert_eq!((key.kid.as_str(), key.tech_id.as_str(), key.revoked_at_ms), ("kid-a", "T0001", Some(30_000)));
    let again = s.revoke_technician_key("kid-a", 40_000).await.unwrap().expect("the key is still found");
    assert_eq!(again.revoked_at_ms, Some(30_000), "a second revocation keeps the first time");
    assert_eq!(s.revoke_technician_key("kid-none", 1).await.unwrap(), None, "an unknown key is None");

    let keys = s.device_keys("dev-1").await.unwrap().unwrap();
    assert_eq!(keys.device.revoked_at_ms, Some(10_000), "device_keys shows the device's revocation");
    assert_eq!(
        keys.technicians[0].revoked_at_ms,
        Some(30_000),
        "device_keys keeps revoked keys, with their time"
    );
}

async fn append_entry_allocates_server_seq_in_order_and_entries_read_back_identical(db: &Backend) {
    let s = &db.storage;
    assert_eq!(s.head("dev-1").await.unwrap(), (0, None), "the head of a device with no entries");
    assert_eq!(s.entry_count().await.unwrap(), 0);

    let mut stored = Vec::new();
    for seq in 1..=3 {
        let mut entry = new_entry("dev-1", seq);
        if seq == 2 {
            entry.status = ReceiptStatus::NeedsReview;
            entry.flags = vec!["clock_suspect".into(), "unknown_work_order".into()];
            entry.work_order_id = Some("WO-1".into());
        }
        let got = s.append_entry(entry.clone(), signer()).await.expect("append a fresh entry");
        assert_eq!(got.receipt.server_seq, seq, "server_seq counts 1, 2, 3 on a fresh database");
        assert_eq!(got.receipt_sig, format!("sig-{seq}"), "the signer saw the allocated server_seq");
        assert_eq!(got.receipt.v, 1);
        assert_eq!(got.receipt.device_id, "dev-1");
        assert_eq!(got.receipt.seq, seq);
        assert_eq!(got.receipt.record_id, entry.record_id);
        assert_eq!(got.receipt.entry_hash.to_hex(), entry.entry_hash);
        assert_eq!(got.receipt.received_at_ms, entry.received_at_ms);
        assert_eq!(got.receipt.status, entry.status);
        assert_eq!(got.envelope, entry.envelope);
        assert_eq!(got.flags, entry.flags);
        assert_eq!(got.work_order_id, entry.work_order_id);
        stored.push(got);
    }

    for got in &stored {
        let at = s.entry_at("dev-1", got.seq).await.unwrap().expect("entry_at finds an appended entry");
        assert_eq!(&at, got, "entry_at reads back what append_entry returned");
        let by_id = s.entry_by_record_id(&got.record_id).await.unwrap().expect("found by record_id");
        assert_eq!(&by_id, got, "entry_by_record_id reads back what append_entry returned");
    }
    let e2 = &stored[1];
    assert_eq!(
        db.raw.text("SELECT envelope FROM entry WHERE record_id = 'rec-dev-1-2'").await,
        serde_json::to_string(&e2.envelope).unwrap(),
        "the envelope is stored as the exact serde_json text"
    );
    assert_eq!(
        db.raw.text("SELECT receipt FROM entry WHERE record_id = 'rec-dev-1-2'").await,
        serde_json::to_string(&e2.receipt).unwrap(),
        "the receipt is stored as the exact serde_json text it was signed from"
    );

    assert_eq!(s.entry_at("dev-1", 4).await.unwrap(), None, "no entry past the head");
    assert_eq!(s.entry_at("dev-2", 1).await.unwrap(), None, "no entry of another device");
    assert_eq!(s.entry_by_record_id("rec-nope").await.unwrap(), None);
    assert_eq!(
        s.head("dev-1").await.unwrap(),
        (3, Some(stored[2].entry_hash.clone())),
        "the head is the last entry"
    );
    assert_eq!(s.head("dev-2").await.unwrap(), (0, None), "heads are per device");
    assert_eq!(s.entry_count().await.unwrap(), 3);
}

async fn appending_the_same_device_seq_or_record_id_again_is_refused_as_exists(db: &Backend) {
    let s = &db.storage;
    let first = s.append_entry(new_entry("dev-1", 1), signer()).await.unwrap();

    let mut same_seq = new_entry("dev-1", 1);
    same_seq.record_id = "rec-other".into();
    same_seq.entry_hash = sha("a fork");
    assert_exists(s.append_entry(same_seq, signer()).await, "the same (device, seq) again");

    let mut same_record = new_entry("dev-1", 2);
    same_record.record_id = first.record_id.clone();
    assert_exists(s.append_entry(same_record, signer()).await, "the same record_id under another seq");

    let mut same_record_other_device = new_entry("dev-2", 1);
    same_record_other_device.record_id = first.record_id.clone();
    assert_exists(
        s.append_entry(same_record_other_device, signer()).await,
        "the same record_id on another device",
    );

    assert_eq!(s.entry_at("dev-1", 1).await.unwrap(), Some(first), "the original entry is untouched");
    assert_eq!(s.entry_count().await.unwrap(), 1, "refused appends store nothing");
    let next = s.append_entry(new_entry("dev-1", 2), signer()).await.unwrap();
    assert_eq!(next.receipt.server_seq, 2, "refused appends roll back their server_seq: no gap");
}

async fn the_database_refuses_update_and_delete_on_entries_and_conflicts(db: &Backend) {
    let s = &db.storage;
    let entry = s.append_entry(new_entry("dev-1", 1), signer()).await.unwrap();
    let conflict = NewConflict {
        device_id: "dev-1".into(),
        seq: 1,
        kind: "fork".into(),
        envelope: envelope("forked"),
        received_at_ms: 9_000,
    };
    s.record_conflict(conflict.clone()).await.unwrap();

    for sql in [
        "UPDATE entry SET receipt_sig = 'forged'",
        "UPDATE entry SET flags = '[]' WHERE device_id = 'dev-1' AND seq = 1",
        "DELETE FROM entry",
        "DELETE FROM entry WHERE record_id = 'rec-dev-1-1'",
        "UPDATE conflict SET kind = 'nothing'",
        "DELETE FROM conflict",
    ] {
        let outcome = db.raw.execute(sql).await;
        match outcome {
            Err(message) => assert!(message.contains("append-only"), "{sql}: refused, but with {message:?}"),
            Ok(()) => panic!("{sql}: the database must refuse it"),
        }
    }
    assert_eq!(s.entry_at("dev-1", 1).await.unwrap(), Some(entry), "the entry is unchanged");
    assert_eq!(s.conflicts("dev-1").await.unwrap(), [conflict], "the conflict is unchanged");
    db.raw.execute("UPDATE meta SET value = value").await.expect("other tables are not append-only");
}

async fn conflicts_are_recorded_and_listed_per_device_in_order(db: &Backend) {
    let s = &db.storage;
    assert!(s.conflicts("dev-1").await.unwrap().is_empty(), "no conflicts on a fresh database");
    let make = |device: &str, seq, kind: &str, at| NewConflict {
        device_id: device.into(),
        seq,
        kind: kind.into(),
        envelope: envelope(&format!("{device}-{seq}-{kind}")),
        received_at_ms: at,
    };
    let a = make("dev-1", 7, "fork", 1_000);
    let b = make("dev-2", 1, "broken_chain", 1_500);
    let c = make("dev-1", 3, "record_id_reuse", 2_000);
    let d = make("dev-1", 7, "fork", 2_500); // the same evidence twice is kept twice
    for conflict in [&a, &b, &c, &d] {
        s.record_conflict(conflict.clone()).await.unwrap();
    }
    assert_eq!(s.conflicts("dev-1").await.unwrap(), [a, c, d], "a device's conflicts, in the order recorded");
    assert_eq!(s.conflicts("dev-2").await.unwrap(), [b]);
    assert!(s.conflicts("dev-3").await.unwrap().is_empty());
}

async fn entry_queries_behave_as_documented(db: &Backend) {
    let s = &db.storage;
    // dev-A: seq 1..=3 under boot-1, 4..=5 under boot-2; dev-B: seq 1.
    // Work order WO-1 on A1, B1, A4 (appended in that server_seq order).
    let plan: [(&str, u64, &str, Option<&str>); 6] = [
        ("dev-A", 1, "boot-1", Some("WO-1")),
        ("dev-A", 2, "boot-1", None),
        ("dev-A", 3, "boot-1", Some("WO-2")),
        ("dev-B", 1, "boot-9", Some("WO-1")),
        ("dev-A", 4, "boot-2", Some("WO-1")),
        ("dev-A", 5, "boot-2", None),
    ];
    let mut stored: BTreeMap<(String, u64), StoredEntry> = BTreeMap::new();
    for (device, seq, boot, wo) in plan {
        let mut entry = new_entry(device, seq);
        entry.boot_id = boot.into();
        entry.work_order_id = wo.map(str::to_owned);
        let got = s.append_entry(entry, signer()).await.unwrap();
        stored.insert((device.into(), seq), got);
    }
    let e = |device: &str, seq: u64| stored[&(device.to_owned(), seq)].clone();
    let seqs =
        |entries: Vec<StoredEntry>| entries.into_iter().map(|e| (e.device_id, e.seq)).collect::<Vec<_>>();

    assert_eq!(
        s.entries_from("dev-A", 2, 2).await.unwrap(),
        [e("dev-A", 2), e("dev-A", 3)],
        "from seq 2, at most 2"
    );
    assert_eq!(
        seqs(s.entries_from("dev-A", 4, 100).await.unwrap()),
        [("dev-A".to_owned(), 4), ("dev-A".to_owned(), 5)],
        "from seq 4 to the end, one device only"
    );
    assert_eq!(seqs(s.entries_from("dev-A", 1, 100).await.unwrap()).len(), 5);
    assert!(s.entries_from("dev-A", 6, 10).await.unwrap().is_empty(), "nothing past the head");
    assert!(s.entries_from("dev-A", 1, 0).await.unwrap().is_empty(), "limit 0 is nothing");
    assert!(s.entries_from("dev-C", 1, 10).await.unwrap().is_empty());

    assert_eq!(s.last_entry_of_boot("dev-A", "boot-1").await.unwrap(), Some(e("dev-A", 3)), "last of boot-1");
    assert_eq!(s.last_entry_of_boot("dev-A", "boot-2").await.unwrap(), Some(e("dev-A", 5)), "last of boot-2");
    assert_eq!(s.last_entry_of_boot("dev-A", "boot-9").await.unwrap(), None, "boot ids are per device");
    assert_eq!(s.last_entry_of_boot("dev-A", "boot-x").await.unwrap(), None);

    let a4 = e("dev-A", 4);
    assert_eq!(a4.receipt.server_seq, 5);
    assert_eq!(
        s.received_at_of_server_seq("dev-A", 5).await.unwrap(),
        Some(a4.receipt.received_at_ms),
        "the receive time of the receipt with that server_seq"
    );
    assert_eq!(s.received_at_of_server_seq("dev-A", 4).await.unwrap(), None, "server_seq 4 belongs to dev-B");
    assert_eq!(
        s.received_at_of_server_seq("dev-B", 4).await.unwrap(),
        Some(e("dev-B", 1).receipt.received_at_ms)
    );
    assert_eq!(s.received_at_of_server_seq("dev-A", 99).await.unwrap(), None);

    assert_eq!(
        s.entries_for_work_order("WO-1").await.unwrap(),
        [e("dev-A", 1), e("dev-B", 1), e("dev-A", 4)],
        "a work order's entries from every device, in server_seq order"
    );
    assert_eq!(s.entries_for_work_order("WO-2").await.unwrap(), [e("dev-A", 3)]);
    assert!(s.entries_for_work_order("WO-none").await.unwrap().is_empty());
    assert_eq!(s.entry_count().await.unwrap(), 6, "entries of all devices");
}

async fn put_snapshot_bumps_rev_and_refuses_a_stale_expected_rev(db: &Backend) {
    let s = &db.storage;
    let wo = SnapshotKind::WorkOrder;
    assert_eq!(s.snapshot(wo, "WO-1").await.unwrap(), None);

    let first = s.put_snapshot(put(wo, "WO-1", json!({"title": "Fridge"}), Some(0), 1_000)).await.unwrap();
    assert_eq!(first.rev, 1, "a new snapshot starts at rev 1");
    match s.put_snapshot(put(wo, "WO-1", json!({"title": "late"}), Some(0), 1_100)).await {
        Err(StorageError::StaleRevision { current: 1 }) => {}
        other => panic!("expected_rev 0 on an existing snapshot must be StaleRevision at 1, got {other:?}"),
    }
    let second = s.put_snapshot(put(wo, "WO-1", json!({"title": "Freezer"}), Some(1), 1_200)).await.unwrap();
    assert_eq!(second.rev, 2, "a matching expected_rev bumps the rev");
    let third = s.put_snapshot(put(wo, "WO-1", json!({"title": "Cold room"}), None, 1_300)).await.unwrap();
    assert_eq!(third.rev, 3, "no expected_rev: an unconditional write still bumps the rev");
    match s.put_snapshot(put(wo, "WO-9", json!({}), Some(5), 1_400)).await {
        Err(StorageError::StaleRevision { current: 0 }) => {}
        other => panic!("expected_rev 5 on a missing snapshot must be StaleRevision at 0, got {other:?}"),
    }
    assert_eq!(s.snapshot(wo, "WO-9").await.unwrap(), None, "a refused write stores nothing");

    let read = s.snapshot(wo, "WO-1").await.unwrap().expect("the snapshot is stored");
    assert_eq!(read, third, "snapshot() reads back the latest write");
    assert_eq!(read.body, json!({"title": "Cold room"}));
    assert_eq!(read.scope.technicians, ["T0017"]);
    assert_eq!(read.updated_at_ms, 1_300);

    s.put_snapshot(put(wo, "WO-0", json!({"n": 0}), None, 1_500)).await.unwrap();
    s.put_snapshot(put(SnapshotKind::Technician, "WO-1", json!({"name": "a technician"}), None, 1_600))
        .await
        .unwrap();
    let ids: Vec<_> = s.snapshots(wo).await.unwrap().into_iter().map(|s| (s.id, s.rev)).collect();
    assert_eq!(ids, [("WO-0".to_owned(), 1), ("WO-1".to_owned(), 3)], "snapshots of one kind, by id");
    let tech = s.snapshot(SnapshotKind::Technician, "WO-1").await.unwrap().expect("kinds are separate");
    assert_eq!(tech.rev, 1, "the same id under another kind is another snapshot");
}

async fn the_feed_returns_each_snapshot_once_at_its_latest_feed_seq_in_order(db: &Backend) {
    let s = &db.storage;
    assert!(s.feed_after(0, 100).await.unwrap().is_empty(), "an empty feed");
    let wo = SnapshotKind::WorkOrder;
    s.put_snapshot(put(wo, "A", json!({"v": 1}), None, 1)).await.unwrap();
    s.put_snapshot(put(wo, "B", json!({"v": 1}), None, 2)).await.unwrap();
    s.put_snapshot(put(SnapshotKind::RuleSet, "company", json!({"v": 1}), None, 3)).await.unwrap();
    let at = |rows: Vec<hearth_server::storage::FeedRow>| {
        rows.into_iter().map(|r| (r.feed_seq, r.snapshot.id, r.snapshot.rev)).collect::<Vec<_>>()
    };
    assert_eq!(
        at(s.feed_after(0, 100).await.unwrap()),
        [(1, "A".to_owned(), 1), (2, "B".to_owned(), 1), (3, "company".to_owned(), 1)],
        "feed_seq counts 1, 2, 3 in write order"
    );

    s.put_snapshot(put(wo, "A", json!({"v": 2}), Some(1), 4)).await.unwrap();
    let rows = s.feed_after(0, 100).await.unwrap();
    assert_eq!(
        at(rows.clone()),
        [(2, "B".to_owned(), 1), (3, "company".to_owned(), 1), (4, "A".to_owned(), 2)],
        "an updated snapshot leaves its old place and appears once, at a higher feed_seq"
    );
    assert_eq!(rows[2].snapshot.body, json!({"v": 2}), "the feed carries the latest body");
    assert_eq!(rows[1].snapshot.kind, SnapshotKind::RuleSet);
    assert_eq!(
        at(s.feed_after(2, 100).await.unwrap()),
        [(3, "company".to_owned(), 1), (4, "A".to_owned(), 2)]
    );
    assert_eq!(at(s.feed_after(1, 2).await.unwrap()), [(2, "B".to_owned(), 1), (3, "company".to_owned(), 1)]);
    assert!(s.feed_after(4, 100).await.unwrap().is_empty(), "nothing after the last feed_seq");

    match s.put_snapshot(put(wo, "B", json!({"v": 9}), Some(7), 5)).await {
        Err(StorageError::StaleRevision { current: 1 }) => {}
        other => panic!("expected StaleRevision at 1, got {other:?}"),
    }
    assert!(s.feed_after(4, 100).await.unwrap().is_empty(), "a refused write adds nothing to the feed");
    s.put_snapshot(put(wo, "B", json!({"v": 2}), None, 6)).await.unwrap();
    assert_eq!(
        at(s.feed_after(4, 100).await.unwrap()),
        [(5, "B".to_owned(), 2)],
        "a refused write does not use up a feed_seq"
    );
}

async fn concurrent_first_writes_of_one_snapshot_never_both_succeed(db: &Backend) {
    let s = &db.storage;
    const WRITERS: usize = 4;
    for round in 0..8 {
        // Everyone expects the snapshot not to exist yet: exactly one wins.
        let id = format!("race-{round}");
        let barrier = Arc::new(Barrier::new(WRITERS));
        let tasks: Vec<_> = (0..WRITERS)
            .map(|w| {
                let (s, barrier, id) = (s.clone(), barrier.clone(), id.clone());
                tokio::spawn(async move {
                    barrier.wait().await;
                    s.put_snapshot(put(SnapshotKind::WorkOrder, &id, json!({"writer": w}), Some(0), 1)).await
                })
            })
            .collect();
        let mut won = 0;
        for task in tasks {
            match task.await.unwrap() {
                Ok(snapshot) => {
                    assert_eq!(snapshot.rev, 1);
                    won += 1;
                }
                Err(StorageError::StaleRevision { current: 1 }) => {}
                Err(e) => panic!("{id}: a losing first write must be StaleRevision at 1, got {e:?}"),
            }
        }
        assert_eq!(won, 1, "{id}: exactly one of {WRITERS} concurrent first writes succeeds");

        // Unconditional writes all succeed, each with its own rev.
        let id = format!("pile-{round}");
        let barrier = Arc::new(Barrier::new(WRITERS));
        let tasks: Vec<_> = (0..WRITERS)
            .map(|w| {
                let (s, barrier, id) = (s.clone(), barrier.clone(), id.clone());
                tokio::spawn(async move {
                    barrier.wait().await;
                    s.put_snapshot(put(SnapshotKind::Technician, &id, json!({"writer": w}), None, 1)).await
                })
            })
            .collect();
        let mut revs = BTreeSet::new();
        for task in tasks {
            revs.insert(
                task.await.unwrap().unwrap_or_else(|e| panic!("{id}: unconditional write failed: {e:?}")).rev,
            );
        }
        assert_eq!(revs, (1..=WRITERS as u64).collect(), "{id}: concurrent writes get revs 1..={WRITERS}");
    }
    let feed = s.feed_after(0, 1_000).await.unwrap();
    let keys: BTreeSet<_> = feed.iter().map(|r| (r.snapshot.kind.as_str(), r.snapshot.id.clone())).collect();
    assert_eq!(feed.len(), 16, "the feed has one row per snapshot");
    assert_eq!(keys.len(), 16);
}

async fn eight_concurrent_appenders_get_server_seqs_1_to_400_without_gaps_or_duplicates(db: &Backend) {
    const DEVICES: u64 = 8;
    const PER_DEVICE: u64 = 50;
    let s = &db.storage;
    let barrier = Arc::new(Barrier::new(DEVICES as usize));
    let tasks: Vec<_> = (0..DEVICES)
        .map(|d| {
            let (s, barrier) = (s.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                let mut got = Vec::new();
                for seq in 1..=PER_DEVICE {
                    let entry = s.append_entry(new_entry(&format!("dev-{d}"), seq), signer()).await;
                    got.push(entry.unwrap_or_else(|e| panic!("dev-{d} seq {seq}: {e:?}")).receipt.server_seq);
                }
                got
            })
        })
        .collect();
    let mut all = Vec::new();
    for task in tasks {
        let got = task.await.unwrap();
        assert!(
            got.windows(2).all(|w| w[0] < w[1]),
            "one device's sequential appends get growing server_seqs"
        );
        all.extend(got);
    }
    all.sort_unstable();
    assert_eq!(all, (1..=DEVICES * PER_DEVICE).collect::<Vec<_>>(), "server_seq is exactly 1..=400");
    assert_eq!(s.entry_count().await.unwrap(), DEVICES * PER_DEVICE);
    for d in 0..DEVICES {
        let entries = s.entries_from(&format!("dev-{d}"), 1, 1_000).await.unwrap();
        assert_eq!(entries.len() as u64, PER_DEVICE);
        for e in entries {
            assert_eq!(
                e.receipt_sig,
                format!("sig-{}", e.receipt.server_seq),
                "each receipt signed with its own seq"
            );
        }
    }
}

async fn a_feed_reader_never_misses_an_item_while_four_writers_put_snapshots(db: &Backend) {
    const WRITERS: usize = 4;
    const IDS: usize = 12;
    const ROUNDS: usize = 6;
    let s = &db.storage;
    let kind_of =
        |id: usize| if id.is_multiple_of(2) { SnapshotKind::WorkOrder } else { SnapshotKind::Thermometer };

    let done = Arc::new(AtomicBool::new(false));
    let reader = {
        let (s, done) = (s.clone(), done.clone());
        tokio::spawn(async move {
            let mut cursor = 0u64;
            let mut seen: BTreeMap<(&'static str, String), u64> = BTreeMap::new();
            let mut pages = 0usize;
            loop {
                // Read `done` before the page: a page read after every
                // writer finished is complete.
                let finished = done.load(Ordering::SeqCst);
                let page = s.feed_after(cursor, 5).await.expect("feed_after while writers write");
                pages += 1;
                if page.is_empty() {
                    if finished {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(1)).await;
                    continue;
                }
                for row in page {
                    assert!(row.feed_seq > cursor, "feed rows come in growing feed_seq order");
                    cursor = row.feed_seq;
                    let key = (row.snapshot.kind.as_str(), row.snapshot.id.clone());
                    if let Some(&before) = seen.get(&key) {
                        assert!(row.snapshot.rev > before, "{key:?}: the reader sees revs only grow");
                    }
                    seen.insert(key, row.snapshot.rev);
                }
            }
            (seen, pages)
        })
    };

    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let s = s.clone();
            tokio::spawn(async move {
                for round in 0..ROUNDS {
                    for k in 0..IDS {
                        // Every writer touches every id, starting at
                        // different places, so writers collide on ids
                        // (including their first writes).
                        let id = (k + w * 3) % IDS;
                        let body = json!({"writer": w, "round": round});
                        s.put_snapshot(put(kind_of(id), &format!("item-{id}"), body, None, 1))
                            .await
                            .unwrap_or_else(|e| panic!("writer {w}: {e:?}"));
                    }
                }
            })
        })
        .collect();
    for writer in writers {
        writer.await.expect("a writer panicked");
    }
    done.store(true, Ordering::SeqCst);
    let (seen, pages) = reader.await.expect("the reader panicked");
    assert!(pages > 1, "the reader polled while writing went on");

    let mut stored = BTreeMap::new();
    for kind in [SnapshotKind::WorkOrder, SnapshotKind::Thermometer] {
        for snapshot in s.snapshots(kind).await.unwrap() {
            stored.insert((snapshot.kind.as_str(), snapshot.id), snapshot.rev);
        }
    }
    assert_eq!(stored.len(), IDS);
    assert!(
        stored.values().all(|&rev| rev == (WRITERS * ROUNDS) as u64),
        "no write was lost: every item has rev {}: {stored:?}",
        WRITERS * ROUNDS
    );
    assert_eq!(seen, stored, "the reader's final view equals the stored snapshots: it missed nothing");
}

// ---------------------------------------------------------------------------
// PostgreSQL only
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_servers_starting_at_once_on_an_empty_database_apply_each_migration_once() {
    let (_guard, url) = fresh_postgres_database().await;
    let starts = (0..4).map(|_| PostgresStorage::connect(&url));
    let started = futures_util::future::join_all(starts).await;
    for (n, outcome) in started.into_iter().enumerate() {
        outcome.unwrap_or_else(|e| panic!("concurrent start {n} on an empty database failed: {e:?}"));
    }
    let raw = Raw::Postgres(url.clone());
    let every: Vec<String> =
        std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../../migrations/server/postgres"))
            .map(|d| {
                d.filter_map(|e| e.ok()).filter(|e| e.path().extension().is_some_and(|x| x == "sql")).count()
            })
            .map(|n| (1..=n).map(|v| v.to_string()).collect())
            .unwrap_or_default();
    assert_eq!(
        raw.text("SELECT string_agg(version::text, ',' ORDER BY version) FROM schema_migrations").await,
        every.join(","),
        "each migration is recorded once"
    );
    assert_eq!(
        raw.text("SELECT string_agg(name || '=' || value, ',' ORDER BY name) FROM counter").await,
        "feed_seq=0,server_seq=0",
        "the counters were seeded once"
    );
    let storage = PostgresStorage::connect(&url).await.expect("a restart on a migrated database");
    storage.append_entry(new_entry("dev-1", 1), signer()).await.unwrap();
    let again = PostgresStorage::connect(&url).await.expect("another restart");
    assert_eq!(again.entry_count().await.unwrap(), 1, "a restart keeps the data");
    assert_eq!(raw.text("SELECT value::text FROM counter WHERE name = 'server_seq'").await, "1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_truncate_is_refused_on_entries_and_conflicts() {
    let db = postgres().await;
    db.storage.append_entry(new_entry("dev-1", 1), signer()).await.unwrap();
    for sql in ["TRUNCATE entry", "TRUNCATE conflict"] {
        match db.raw.execute(sql).await {
            Err(message) => assert!(message.contains("append-only"), "{sql}: refused, but with {message:?}"),
            Ok(()) => panic!("{sql}: the database must refuse it"),
        }
    }
    assert_eq!(db.storage.entry_count().await.unwrap(), 1);
}

#[test]
fn the_test_database_url_keeps_server_and_options_and_replaces_the_database() {
    assert_eq!(with_database("postgres://root@127.0.0.1:5432/test", "x"), "postgres://root@127.0.0.1:5432/x");
    assert_eq!(
        with_database("postgres://u:p@h/test?sslmode=disable", "x"),
        "postgres://u:p@h/x?sslmode=disable"
    );
    assert_eq!(with_database("postgresql://h:5432", "x"), "postgresql://h:5432/x");
}
