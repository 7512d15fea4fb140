//! Forward-only migrations from `migrations/device`, embedded and applied in
//! order at open. `PRAGMA user_version` records how many have run.

use rusqlite::Connection;

use crate::error::StoreError;

/// One numbered SQL file. Never edited once landed: add a new one instead.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    pub name: &'static str,
    pub sql: &'static str,
}

pub const MIGRATIONS: &[Migration] = &[
    Migration { name: "0001_chain", sql: include_str!("../../../migrations/device/0001_chain.sql") },
    Migration {
        name: "0002_server_derived",
        sql: include_str!("../../../migrations/device/0002_server_derived.sql"),
    },
    Migration { name: "0003_key_vault", sql: include_str!("../../../migrations/device/0003_key_vault.sql") },
    Migration { name: "0004_sync", sql: include_str!("../../../migrations/device/0004_sync.sql") },
    Migration { name: "0005_photos", sql: include_str!("../../../migrations/device/0005_photos.sql") },
    Migration {
        name: "0006_revocation",
        sql: include_str!("../../../migrations/device/0006_revocation.sql"),
    },
];

/// Applies every migration in `set` not yet applied, each in its own transaction.
pub fn apply(conn: &mut Connection, set: &[Migration]) -> Result<(), StoreError> {
    let applied: usize =
        conn.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0))?.try_into().unwrap_or(0);
    if applied > set.len() {
        // A database from a newer app: refuse rather than guess.
        return Err(StoreError::NewerDatabase { version: applied, known: set.len() });
    }
    for (i, m) in set.iter().enumerate().skip(applied) {
        let tx = conn.transaction()?;
        tx.execute_batch(m.sql).map_err(|e| StoreError::Migration { name: m.name, cause: e.to_string() })?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
    }
    Ok(())
}
