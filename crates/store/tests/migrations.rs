//! Migrations only move forward: a database made by an older set opens,
//! upgrades, and keeps its chain.

mod common;

use common::*;
use hearth_store::migrate::MIGRATIONS;
use hearth_store::{Pin, Store};

#[test]
fn a_database_made_by_the_previous_migration_set_upgrades_and_keeps_its_chain() {
    let dir = tempfile::tempdir().unwrap();
    let older = &MIGRATIONS[..MIGRATIONS.len() - 1];
    let mut old = Store::open_with_migrations(dir.path(), identity(), older).unwrap();
    old.set_device_id(DEVICE_ID, 1).unwrap();
    let sealed = seal_n(&mut old, 1);
    drop(old);

    let mut store = Store::open_with_identity(dir.path(), identity()).unwrap();
    let version: i64 = store.connection().query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
    assert_eq!(version as usize, MIGRATIONS.len(), "every migration ran");
    let report = store.verify_chain().unwrap();
    assert_eq!(report.head, Some(sealed.entry_hash), "the old chain survives the upgrade");
    seal_n(&mut store, 2);
    // The newest migration's tables work on the upgraded file.
    store.enrol_technician("T0017", &Pin::new("246810").unwrap()).unwrap();
}

#[test]
fn a_database_from_a_newer_app_is_refused_not_guessed_at() {
    let dir = tempfile::tempdir().unwrap();
    drop(Store::open_with_identity(dir.path(), identity()).unwrap());
    let conn = rusqlite::Connection::open(dir.path().join(hearth_store::DATABASE_FILE)).unwrap();
    conn.pragma_update(None, "user_version", 99).unwrap();
    drop(conn);
    let err = Store::open_with_identity(dir.path(), identity()).unwrap_err();
    assert_eq!(err.code(), "newer_database");
}

#[test]
fn the_store_runs_in_wal_mode_with_full_sync_and_foreign_keys() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_with_identity(dir.path(), identity()).unwrap();
    let c = store.connection();
    let mode: String = c.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
    let sync: i64 = c.query_row("PRAGMA synchronous", [], |r| r.get(0)).unwrap();
    let fk: i64 = c.query_row("PRAGMA foreign_keys", [], |r| r.get(0)).unwrap();
    assert_eq!((mode.as_str(), sync, fk), ("wal", 2, 1));
}
