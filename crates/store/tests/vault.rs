//! The key vault: enrolment, unlocking, the wrong-PIN counter, key destruction,
//! binding to the device and the row, quiet Debug output, and the device key file.

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;

use ed25519_dalek::{Signer as _, Verifier as _};
use hearth_protocol::SigningKey;
use hearth_protocol::seal::kid_of;
use hearth_store::vault::{
    DeviceIdentity, MAX_WRONG_PINS, Pin, VaultError, enrol_technician, enrol_technician_with_key,
    enrolled_technicians, unlock,
};
use rusqlite::Connection;

const MIGRATION: &str = include_str!("../../../migrations/device/0003_key_vault.sql");
/// The vault's later column: who revoked a key (the office, from when).
const REVOCATION: &str = include_str!("../../../migrations/device/0006_revocation.sql");
const PIN: &str = "482915";
const OTHER_PIN: &str = "000000";

fn open(path: &Path) -> Connection {
    Connection::open(path).expect("the database file opens")
}

fn fresh_db() -> Connection {
    let conn = Connection::open_in_memory().expect("an in-memory database opens");
    conn.execute_batch(MIGRATION).expect("the key vault migration applies");
    conn.execute_batch(REVOCATION).expect("the revocation migration applies");
    conn
}

fn device() -> DeviceIdentity {
    DeviceIdentity::from_secret_bytes([0x11; 32], [0x22; 32])
}

fn pin(digits: &str) -> Pin {
    Pin::new(digits).expect("a valid PIN")
}

fn wrapped_is_null(conn: &Connection, tech_id: &str) -> bool {
    conn.query_row("SELECT wrapped IS NULL FROM technician_key WHERE tech_id = ?1", [tech_id], |r| r.get(0))
        .expect("the technician's row exists")
}

fn failed_attempts(conn: &Connection, tech_id: &str) -> i64 {
    conn.query_row("SELECT failed_attempts FROM technician_key WHERE tech_id = ?1", [tech_id], |r| r.get(0))
        .expect("the technician's row exists")
}

fn wrong(conn: &Connection, device: &DeviceIdentity, tech_id: &str) -> VaultError {
    unlock(conn, device, tech_id, &pin(OTHER_PIN)).expect_err("a wrong PIN must not unlock")
}

#[test]
fn enrol_then_unlock_with_the_right_pin_gives_a_key_whose_kid_matches_and_which_signs_verifiably() {
    let conn = fresh_db();
    let device = device();
    let enrolled = enrol_technician(&conn, &device, "tech-1", &pin(PIN)).expect("enrolment succeeds");
    assert_eq!(enrolled.kid, kid_of(&enrolled.public_key));
    assert_eq!(enrolled_technicians(&conn).expect("listing works"), vec![enrolled.clone()]);

    let unlocked = unlock(&conn, &device, "tech-1", &pin(PIN)).expect("the right PIN unlocks");
    assert_eq!(unlocked.tech_id(), "tech-1");
    assert_eq!(unlocked.kid(), enrolled.kid, "the unlocked key is the enrolled one");
    assert_eq!(unlocked.signing_key().verifying_key(), enrolled.public_key);

    let message = b"hearth/techsig/v1\ntest";
    let signature = unlocked.signing_key().sign(message);
    enrolled.public_key.verify(message, &signature).expect("the unlocked key signs verifiably");
}

#[test]
fn enrolling_with_a_given_key_stores_that_key() {
    let conn = fresh_db();
    let device = device();
    let key = SigningKey::from_bytes(&[0x33; 32]);
    let expected = kid_of(&key.verifying_key());
    let enrolled =
        enrol_technician_with_key(&conn, &device, "tech-1", &pin(PIN), key).expect("enrolment succeeds");
    assert_eq!(enrolled.kid, expected);
    let unlocked = unlock(&conn, &device, "tech-1", &pin(PIN)).expect("the right PIN unlocks");
    assert_eq!(unlocked.signing_key().to_bytes(), [0x33; 32]);
}

#[test]
fn a_wrong_pin_counts_down_and_a_right_pin_in_between_resets_the_count() {
    let conn = fresh_db();
    let device = device();
    enrol_technician(&conn, &device, "tech-1", &pin(PIN)).expect("enrolment succeeds");

    for remaining in [4, 3] {
        let err = wrong(&conn, &device, "tech-1");
        assert!(matches!(err, VaultError::WrongPin { remaining: r } if r == remaining), "got {err:?}");
        assert_eq!(err.code(), "wrong_pin");
    }
    unlock(&conn, &device, "tech-1", &pin(PIN)).expect("the right PIN still unlocks");
    assert_eq!(failed_attempts(&conn, "tech-1"), 0, "a right PIN resets the counter");

    let err = wrong(&conn, &device, "tech-1");
    assert!(matches!(err, VaultError::WrongPin { remaining: 4 }), "counting starts over: {err:?}");
}

#[test]
fn five_wrong_pins_in_a_row_destroy_the_key_until_the_technician_enrols_again() {
    let conn = fresh_db();
    let device = device();
    enrol_technician(&conn, &device, "tech-1", &pin(PIN)).expect("enrolment succeeds");

    for remaining in (1..MAX_WRONG_PINS).rev() {
        let err = wrong(&conn, &device, "tech-1");
        assert!(matches!(err, VaultError::WrongPin { remaining: r } if r == remaining), "got {err:?}");
    }
    let fifth = wrong(&conn, &device, "tech-1");
    assert!(matches!(&fifth, VaultError::KeyDestroyed { tech_id } if tech_id == "tech-1"), "got {fifth:?}");
    assert!(wrapped_is_null(&conn, "tech-1"), "the wrapped key is gone from the row");
    let destroyed_at: Option<i64> = conn
        .query_row("SELECT destroyed_at_ms FROM technician_key WHERE tech_id = 'tech-1'", [], |r| r.get(0))
        .expect("the row is kept");
    assert!(destroyed_at.is_some(), "the destruction time is recorded");
    assert!(enrolled_technicians(&conn).expect("listing works").is_empty(), "a destroyed key is not listed");

    let err = unlock(&conn, &device, "tech-1", &pin(PIN)).expect_err("even the right PIN cannot unlock");
    assert_eq!(err.code(), "key_destroyed");
    let message = err.to_string();
    assert!(message.contains("enrol again"), "the message says what to do: {message}");
    assert!(message.contains('5'), "the message says why: {message}");

    let enrolled = enrol_technician(&conn, &device, "tech-1", &pin(PIN)).expect("re-enrolment succeeds");
    assert_eq!(failed_attempts(&conn, "tech-1"), 0);
    let unlocked = unlock(&conn, &device, "tech-1", &pin(PIN)).expect("the new key unlocks");
    assert_eq!(unlocked.kid(), enrolled.kid);
}

#[test]
fn an_unknown_technician_is_not_enrolled() {
    let conn = fresh_db();
    let err = unlock(&conn, &device(), "nobody", &pin(PIN)).expect_err("nobody is enrolled");
    assert!(matches!(&err, VaultError::NotEnrolled { tech_id } if tech_id == "nobody"), "got {err:?}");
    assert_eq!(err.code(), "not_enrolled");
}

#[test]
fn the_wrong_pin_counter_survives_closing_and_reopening_the_database_file() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("hearth.db");
    let device = device();
    {
        let conn = open(&path);
        conn.execute_batch(MIGRATION).expect("the key vault migration applies");
        conn.execute_batch(REVOCATION).expect("the revocation migration applies");
        enrol_technician(&conn, &device, "tech-1", &pin(PIN)).expect("enrolment succeeds");
        wrong(&conn, &device, "tech-1");
        wrong(&conn, &device, "tech-1");
    }
    let conn = open(&path);
    assert_eq!(failed_attempts(&conn, "tech-1"), 2, "both wrong PINs were committed");
    let err = wrong(&conn, &device, "tech-1");
    assert!(matches!(err, VaultError::WrongPin { remaining: 2 }), "got {err:?}");
}

#[test]
fn the_wrapped_key_is_bound_to_the_device_secret() {
    let conn = fresh_db();
    enrol_technician(&conn, &device(), "tech-1", &pin(PIN)).expect("enrolment succeeds");
    // Same device key, another device secret: the database was copied elsewhere.
    let impostor = DeviceIdentity::from_secret_bytes([0x11; 32], [0x23; 32]);
    let err = unlock(&conn, &impostor, "tech-1", &pin(PIN)).expect_err("another device secret cannot unlock");
    assert!(matches!(err, VaultError::WrongPin { remaining: 4 }), "got {err:?}");
}

#[test]
fn the_wrapped_key_is_bound_to_the_device_key() {
    let conn = fresh_db();
    enrol_technician(&conn, &device(), "tech-1", &pin(PIN)).expect("enrolment succeeds");
    // Same secret, another device key: the associated data names the device kid.
    let other = DeviceIdentity::from_secret_bytes([0x12; 32], [0x22; 32]);
    let err = unlock(&conn, &other, "tech-1", &pin(PIN)).expect_err("another device key cannot unlock");
    assert!(matches!(err, VaultError::WrongPin { .. }), "got {err:?}");
}

#[test]
fn a_wrapped_row_copied_onto_another_tech_id_cannot_be_unlocked() {
    let conn = fresh_db();
    let device = device();
    enrol_technician(&conn, &device, "alice", &pin(PIN)).expect("enrolment succeeds");
    conn.execute(
        "INSERT INTO technician_key
         SELECT 'mallory', kid, public_key, salt, nonce, wrapped, argon2_m_kib, argon2_t, argon2_p,
                failed_attempts, destroyed_at_ms, enrolled_at_ms, revoked_at_ms
         FROM technician_key WHERE tech_id = 'alice'",
        [],
    )
    .expect("the row copies");
    let err = unlock(&conn, &device, "mallory", &pin(PIN)).expect_err("the copy cannot unlock");
    assert!(matches!(err, VaultError::WrongPin { remaining: 4 }), "got {err:?}");
    unlock(&conn, &device, "alice", &pin(PIN)).expect("the original still unlocks");
}

#[test]
fn a_weak_pin_is_refused_and_nothing_is_written() {
    let conn = fresh_db();
    for weak in ["12345", "abcdef", "1234567890123", "", "12 3456", "１２３４５６"] {
        let err = Pin::new(weak).expect_err("a weak PIN is refused");
        assert!(matches!(err, VaultError::WeakPin), "{weak:?} gave {err:?}");
        assert_eq!(err.code(), "weak_pin");
        let message = err.to_string();
        assert!(message.contains('6') && message.contains("12"), "the message states the rule: {message}");
    }
    assert!(Pin::new("123456").is_ok() && Pin::new("123456789012").is_ok(), "6 and 12 digits are fine");
    let rows: i64 =
        conn.query_row("SELECT count(*) FROM technician_key", [], |r| r.get(0)).expect("count works");
    assert_eq!(rows, 0, "nothing is written");
}

#[test]
fn debug_output_reveals_no_secret_pin_or_key() {
    let conn = fresh_db();
    let secret = [0xA7; 32];
    let device = DeviceIdentity::from_secret_bytes([0x5C; 32], secret);
    let the_pin = pin("918273");
    enrol_technician(&conn, &device, "tech-1", &the_pin).expect("enrolment succeeds");
    let unlocked = unlock(&conn, &device, "tech-1", &the_pin).expect("the right PIN unlocks");

    let debug = format!("{device:?} {:?} {unlocked:?} {:#?} {:#?}", the_pin, device, unlocked);
    let b64 = |bytes: &[u8]| base64::Engine::encode(&base64::engine::general_purpose::STANDARD, bytes);
    let b64url =
        |bytes: &[u8]| base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, bytes);
    let tech_key = unlocked.signing_key().to_bytes();
    for (what, bytes) in [("device secret", secret), ("device key", [0x5C; 32]), ("technician key", tech_key)]
    {
        let hex = hex::encode(bytes);
        assert!(!debug.contains(&hex), "{what} in hex leaked: {debug}");
        assert!(!debug.to_uppercase().contains(&hex.to_uppercase()), "{what} in HEX leaked: {debug}");
        assert!(!debug.contains(&b64(&bytes)[..20]), "{what} in base64 leaked: {debug}");
        assert!(!debug.contains(&b64url(&bytes)[..20]), "{what} in base64url leaked: {debug}");
        assert!(!debug.contains(&format!("{:?}", &bytes[..4])), "{what} as a byte list leaked: {debug}");
    }
    assert!(!debug.contains("918273"), "the PIN leaked: {debug}");
    assert!(format!("{the_pin:?}") == "Pin(***)");
    assert!(debug.contains(&device.kid()), "the device kid is shown: {debug}");
    assert!(debug.contains(unlocked.kid()), "the technician kid is shown: {debug}");
}

#[test]
fn the_device_key_file_is_private_reloads_to_the_same_kid_and_a_corrupt_one_is_refused_and_kept() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("device.key");

    let created = DeviceIdentity::load_or_create(&path).expect("the key file is created");
    let mode = std::fs::metadata(&path).expect("the key file exists").permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "only the owner may read the key file");
    let entries: Vec<_> = std::fs::read_dir(dir.path()).expect("the directory lists").collect();
    assert_eq!(entries.len(), 1, "no temporary file is left behind");

    let reloaded = DeviceIdentity::load_or_create(&path).expect("the key file reloads");
    assert_eq!(reloaded.kid(), created.kid());
    assert_eq!(reloaded.public_key(), created.public_key());
    assert_eq!(reloaded.signing_key().to_bytes(), created.signing_key().to_bytes());

    // The reloaded identity unwraps what the created one wrapped: the device secret round-trips too.
    let conn = fresh_db();
    enrol_technician(&conn, &created, "tech-1", &pin(PIN)).expect("enrolment succeeds");
    unlock(&conn, &reloaded, "tech-1", &pin(PIN)).expect("the reloaded identity unlocks");

    let good = std::fs::read(&path).expect("the key file reads");
    let mut flipped = good.clone();
    flipped[40] ^= 0x80;
    let mut longer = good.clone();
    longer.push(0);
    for (what, bytes) in [
        ("truncated", good[..50].to_vec()),
        ("empty", Vec::new()),
        ("flipped", flipped),
        ("too long", longer),
    ] {
        std::fs::write(&path, &bytes).expect("the key file is overwritten by the test");
        let err = DeviceIdentity::load_or_create(&path).expect_err("a corrupt key file is refused");
        assert!(matches!(err, VaultError::CorruptKeyFile), "{what}: got {err:?}");
        assert_eq!(err.code(), "corrupt_key_file");
        assert_eq!(
            std::fs::read(&path).expect("the key file reads"),
            bytes,
            "{what}: the file is left as it was"
        );
    }
}

#[test]
fn a_counter_left_at_the_limit_by_an_interrupted_attempt_destroys_the_key_on_the_next_attempt() {
    let conn = fresh_db();
    let device = device();
    enrol_technician(&conn, &device, "tech-1", &pin(PIN)).expect("enrolment succeeds");
    // Every attempt is counted before the PIN is tried; an app killed during the
    // fifth attempt leaves the counter at the limit with the key still wrapped.
    conn.execute("UPDATE technician_key SET failed_attempts = ?1", [MAX_WRONG_PINS])
        .expect("the update runs");
    let err = unlock(&conn, &device, "tech-1", &pin(PIN)).expect_err("no attempt is left");
    assert!(matches!(err, VaultError::KeyDestroyed { .. }), "got {err:?}");
    assert!(wrapped_is_null(&conn, "tech-1"));
}

#[test]
fn the_destroyed_wrapped_bytes_are_not_left_in_the_database_file() {
    for journal in ["DELETE", "WAL"] {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = dir.path().join("hearth.db");
        let device = device();
        let conn = open(&path);
        let _: String =
            conn.query_row(&format!("PRAGMA journal_mode={journal}"), [], |r| r.get(0)).expect("mode");
        conn.execute_batch(MIGRATION).expect("the key vault migration applies");
        conn.execute_batch(REVOCATION).expect("the revocation migration applies");
        for tech_id in ["tech-0", "tech-1", "tech-2"] {
            enrol_technician(&conn, &device, tech_id, &pin(PIN)).expect("enrolment succeeds");
        }
        let wrapped: Vec<u8> = conn
            .query_row("SELECT wrapped FROM technician_key WHERE tech_id = 'tech-1'", [], |r| r.get(0))
            .expect("the wrapped key is stored");
        conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);").expect("checkpoint runs");
        let file = std::fs::read(&path).expect("the database file reads");
        assert!(
            file.windows(wrapped.len()).any(|w| w == wrapped.as_slice()),
            "{journal}: the search finds the live wrapped key (control)"
        );
        let secure_delete_before: i64 =
            conn.pragma_query_value(None, "secure_delete", |r| r.get(0)).expect("pragma reads");

        for _ in 0..MAX_WRONG_PINS {
            wrong(&conn, &device, "tech-1");
        }
        assert!(wrapped_is_null(&conn, "tech-1"));
        let secure_delete_after: i64 =
            conn.pragma_query_value(None, "secure_delete", |r| r.get(0)).expect("pragma reads");
        assert_eq!(secure_delete_after, secure_delete_before, "the connection's setting is put back");

        conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);").expect("checkpoint runs");
        drop(conn);
        let file = std::fs::read(&path).expect("the database file reads");
        // Not even a piece of it: a shrinking UPDATE leaves the tail of the old cell behind.
        for piece in wrapped.chunks(12) {
            assert!(
                !file.windows(piece.len()).any(|w| w == piece),
                "{journal}: part of the wrapped key is still in the database file"
            );
        }
    }
}
