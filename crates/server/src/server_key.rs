//! The server's receipt-signing key, in a file of its own created 0600.
//!
//! Every receipt a tablet holds is signed with this key, and tablets pin its
//! public half at enrolment, so it is the server's most valuable secret: it
//! lives beside the data (by default `<database>.key` for SQLite,
//! `<blob directory>.key` for PostgreSQL, where several servers share the
//! blob directory and so the key), readable by the server's user alone. A
//! key file others can read is refused at start. A database made before the
//! key file existed held the key in its `meta` table; on first start it is
//! moved to the file, so receipts already issued keep verifying.
//! `docs/operations.md` says how to back it up and rotate it.

use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use hearth_protocol::SigningKey;
use rand_core::{OsRng, RngCore};
use zeroize::Zeroizing;

use crate::storage::Storage;

/// Where the key lives when no `--server-key-file` is given.
pub fn default_path(database: &str, blobs: &Path) -> PathBuf {
    match database.strip_prefix("sqlite://") {
        Some(db) => PathBuf::from(format!("{db}.key")),
        None => {
            let mut name = blobs.as_os_str().to_owned();
            name.push(".key");
            PathBuf::from(name)
        }
    }
}

fn parse(path: &Path, text: &str) -> Result<[u8; 32], String> {
    let mut seed = [0u8; 32];
    hex::decode_to_slice(text.trim(), &mut seed).map_err(|_| {
        format!("the server key file {} does not hold a key (64 hex characters)", path.display())
    })?;
    Ok(seed)
}

fn read(path: &Path) -> Result<SigningKey, String> {
    let mode = std::fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?.permissions().mode();
    if mode & 0o077 != 0 {
        return Err(format!(
            "the server key file {} can be read by others (mode {:o}); make it readable by the server alone \
             (chmod 600 {})",
            path.display(),
            mode & 0o777,
            path.display()
        ));
    }
    let text = Zeroizing::new(std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?);
    Ok(SigningKey::from_bytes(&parse(path, &text)?))
}

/// Writes a new key file, 0600 from its first byte; `false` when another
/// process created it first.
fn create(path: &Path, seed: &[u8; 32]) -> Result<bool, String> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
    }
    let mut file = match std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Ok(false),
        Err(e) => return Err(format!("creating {}: {e}", path.display())),
    };
    let text = Zeroizing::new(format!("{}\n", hex::encode(seed)));
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|e| format!("writing {}: {e}", path.display()))?;
    Ok(true)
}

/// The key in `path`; created on first start (from the key an older
/// database holds, or fresh).
pub async fn load_or_create(path: &Path, storage: &dyn Storage) -> Result<SigningKey, String> {
    if !path.exists() {
        let seed = match storage.stored_server_secret().await.map_err(|e| e.to_string())? {
            Some(old) => {
                tracing::warn!(path = %path.display(), "moving the server key out of the database into its key file");
                Zeroizing::new(old)
            }
            None => {
                let mut fresh = Zeroizing::new([0u8; 32]);
                OsRng.fill_bytes(fresh.as_mut());
                fresh
            }
        };
        if create(path, &seed)? {
            tracing::info!(path = %path.display(), "server key file created (0600)");
        }
    }
    let key = read(path)?;
    if let Some(old) = storage.stored_server_secret().await.map_err(|e| e.to_string())?
        && old != key.to_bytes()
    {
        tracing::warn!(
            path = %path.display(),
            "the database holds an older server key than the key file: receipts signed with it verify only against \
             the old public key (docs/operations.md, rotating the server key)"
        );
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_path_is_beside_the_sqlite_database_or_the_shared_blob_directory() {
        assert_eq!(
            default_path("sqlite://data/hearth.db", Path::new("b")),
            PathBuf::from("data/hearth.db.key")
        );
        assert_eq!(default_path("postgres://db/x", Path::new("/srv/blobs")), PathBuf::from("/srv/blobs.key"));
    }

    #[test]
    fn a_new_key_file_is_0600_and_a_readable_one_is_refused() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("k.key");
        assert!(create(&path, &[7; 32]).unwrap_or(false));
        let mode = std::fs::metadata(&path).map(|m| m.permissions().mode() & 0o777).unwrap_or(0);
        assert_eq!(mode, 0o600);
        assert_eq!(read(&path).map(|k| k.to_bytes()), Ok([7; 32]));
        assert!(!create(&path, &[8; 32]).unwrap_or(true), "never overwritten");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap_or_default();
        let refused = read(&path).err().unwrap_or_default();
        assert!(refused.contains("can be read by others") && refused.contains("644"), "{refused}");
        std::fs::write(&path, "not a key").unwrap_or_default();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap_or_default();
        assert!(read(&path).is_err());
    }
}
