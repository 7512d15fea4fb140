//! The key vault (protocol §9): the tablet's own identity and the technicians'
//! signing keys.
//!
//! - The device identity — the Ed25519 device key `dk` and a 32-byte device
//!   secret — lives in its own key file, outside the SQLite database, so that a
//!   copied database alone cannot be PIN-brute-forced.
//! - Each technician key `tk` is generated on the tablet and stored only
//!   wrapped: XChaCha20-Poly1305 under Argon2id(PIN, salt, device secret), in
//!   the `technician_key` table (`migrations/device/0003_key_vault.sql`).
//! - Wrong PINs are counted durably; after [`MAX_WRONG_PINS`] in a row the
//!   wrapped key is destroyed and the technician must enrol again (online).
//!
//! Never: key material, PINs, salts or wrapped bytes in `Debug`, `Display`,
//! errors or logs.

use std::fmt;
use std::fs;
use std::io::{self, Read as _, Write as _};
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::Path;

use argon2::{Algorithm, Argon2, Params, Version};
use chacha20poly1305::aead::{Aead as _, KeyInit as _, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use hearth_protocol::seal::kid_of;
use hearth_protocol::{SigningKey, VerifyingKey};
use rand_core::{OsRng, RngCore as _};
use rusqlite::{Connection, OptionalExtension as _, params};
use sha2::{Digest as _, Sha256};
use zeroize::Zeroizing;

/// Wrong PINs in a row after which a technician's wrapped key is destroyed.
pub const MAX_WRONG_PINS: u32 = 5;

/// Shortest and longest PIN accepted, in digits.
/// The PIN policy, defined once: the vault enforces it and the screens are
/// told it (`hearth_tablet::AppState`), never keeping their own copy.
pub const PIN_MIN_DIGITS: usize = 6;
pub const PIN_MAX_DIGITS: usize = 12;

/// Argon2id parameters for new enrolments (OWASP's recommended m = 19 MiB, t = 2, p = 1).
const ARGON2_M_KIB: u32 = 19 * 1024;
const ARGON2_T: u32 = 2;
const ARGON2_P: u32 = 1;
/// Upper bounds accepted from a stored row, so that a tampered row cannot make
/// the tablet allocate gigabytes or spin for minutes.
const ARGON2_MAX_M_KIB: u32 = 1024 * 1024;
const ARGON2_MAX_T: u32 = 64;
const ARGON2_MAX_P: u32 = 16;

const SALT_LEN: usize = 16;
const NONCE_LEN: usize = 24;
const KEY_LEN: usize = 32;

/// Associated-data prefix binding a wrapped key to its row.
const AAD_PREFIX: &[u8] = b"hearth/vault/v1\n";

/// Device key file: magic ‖ signing key ‖ device secret ‖ SHA-256(all before).
const KEY_FILE_MAGIC: &[u8; 8] = b"HRTHDK\x00\x01";
const KEY_FILE_LEN: usize = KEY_FILE_MAGIC.len() + KEY_LEN + KEY_LEN + 32;

/// What can go wrong in the vault. Messages never carry key material, PINs,
/// salts or wrapped bytes.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error("a PIN must be {PIN_MIN_DIGITS} to {PIN_MAX_DIGITS} digits (0-9), nothing else")]
    WeakPin,
    #[error("technician {tech_id} is not enrolled on this tablet")]
    NotEnrolled { tech_id: String },
    #[error("wrong PIN; {remaining} attempt(s) left before the key is destroyed")]
    WrongPin { remaining: u32 },
    #[error(
        "the key of technician {tech_id} was destroyed after {MAX_WRONG_PINS} wrong PINs; \
         the technician must enrol again (online)"
    )]
    KeyDestroyed { tech_id: String },
    #[error(
        "the office revoked the key of technician {tech_id} (effective {effective_at_ms}); it was destroyed"
    )]
    Revoked { tech_id: String, effective_at_ms: i64 },
    #[error("the device key file is corrupt or is not a Hearth device key file")]
    CorruptKeyFile,
    #[error("device key file I/O failed: {0}")]
    Io(#[from] io::Error),
    #[error("key vault storage failed: {0}")]
    Storage(#[from] rusqlite::Error),
    #[error("a key could not be wrapped or unwrapped")]
    Crypto,
}

impl VaultError {
    /// The stable code the UI switches on.
    pub fn code(&self) -> &'static str {
        match self {
            Self::WeakPin => "weak_pin",
            Self::NotEnrolled { .. } => "not_enrolled",
            Self::WrongPin { .. } => "wrong_pin",
            Self::KeyDestroyed { .. } => "key_destroyed",
            Self::Revoked { .. } => "technician_revoked",
            Self::CorruptKeyFile => "corrupt_key_file",
            Self::Io(_) => "io",
            Self::Storage(_) => "storage",
            Self::Crypto => "crypto",
        }
    }
}

// ---------------------------------------------------------------------------
// Device identity
// ---------------------------------------------------------------------------

/// The tablet's own identity: Ed25519 device key `dk` and a 32-byte device
/// secret used as Argon2's secret (pepper).
///
/// Kept in a separate key file, not in the SQLite database, so that a copied
/// database alone cannot be PIN-brute-forced. Both halves are zeroized on drop.
pub struct DeviceIdentity {
    signing: SigningKey,
    secret: Zeroizing<[u8; KEY_LEN]>,
}

impl fmt::Debug for DeviceIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeviceIdentity").field("kid", &self.kid()).finish_non_exhaustive()
    }
}

impl DeviceIdentity {
    /// Loads the device key file at `path`, or creates it if there is none.
    ///
    /// Creation writes a temporary file (mode 0600) in the same directory,
    /// fsyncs it, renames it into place and fsyncs the directory. An existing
    /// file that is not a well-formed key file answers
    /// [`VaultError::CorruptKeyFile`] and is left untouched.
    pub fn load_or_create(path: &Path) -> Result<Self, VaultError> {
        match fs::File::open(path) {
            Ok(file) => Self::read_key_file(file),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Self::create_key_file(path),
            Err(e) => Err(VaultError::Io(e)),
        }
    }

    /// A deterministic identity, for golden vectors and tests.
    pub fn from_secret_bytes(signing: [u8; KEY_LEN], secret: [u8; KEY_LEN]) -> Self {
        let signing = Zeroizing::new(signing);
        Self { signing: SigningKey::from_bytes(&signing), secret: Zeroizing::new(secret) }
    }

    pub fn signing_key(&self) -> &SigningKey {
        &self.signing
    }

    pub fn public_key(&self) -> VerifyingKey {
        self.signing.verifying_key()
    }

    pub fn kid(&self) -> String {
        kid_of(&self.public_key())
    }

    fn generate() -> Self {
        let mut secret = Zeroizing::new([0u8; KEY_LEN]);
        OsRng.fill_bytes(secret.as_mut());
        Self { signing: SigningKey::generate(&mut OsRng), secret }
    }

    fn encode(&self) -> Zeroizing<Vec<u8>> {
        let mut out = Zeroizing::new(Vec::with_capacity(KEY_FILE_LEN));
        out.extend_from_slice(KEY_FILE_MAGIC);
        out.extend_from_slice(self.signing.as_bytes());
        out.extend_from_slice(self.secret.as_ref());
        let checksum = Sha256::digest(out.as_slice());
        out.extend_from_slice(&checksum);
        out
    }

    fn decode(bytes: &[u8]) -> Result<Self, VaultError> {
        if bytes.len() != KEY_FILE_LEN {
            return Err(VaultError::CorruptKeyFile);
        }
        let (body, checksum) = bytes.split_at(KEY_FILE_LEN - 32);
        let (magic, keys) = body.split_at(KEY_FILE_MAGIC.len());
        if magic != KEY_FILE_MAGIC || Sha256::digest(body).as_slice() != checksum {
            return Err(VaultError::CorruptKeyFile);
        }
        let (signing, secret) = keys.split_at(KEY_LEN);
        let mut signing_bytes = Zeroizing::new([0u8; KEY_LEN]);
        signing_bytes.copy_from_slice(signing);
        let mut secret_bytes = Zeroizing::new([0u8; KEY_LEN]);
        secret_bytes.copy_from_slice(secret);
        Ok(Self { signing: SigningKey::from_bytes(&signing_bytes), secret: secret_bytes })
    }

    fn read_key_file(file: fs::File) -> Result<Self, VaultError> {
        let mut bytes = Zeroizing::new(Vec::with_capacity(KEY_FILE_LEN + 1));
        // Read at most one byte more than a key file holds: enough to tell it is too long.
        file.take(KEY_FILE_LEN as u64 + 1).read_to_end(&mut bytes)?;
        Self::decode(&bytes)
    }

    fn create_key_file(path: &Path) -> Result<Self, VaultError> {
        let identity = Self::generate();
        let encoded = identity.encode();

        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        let name = path.file_name().ok_or_else(|| {
            VaultError::Io(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the device key path has no file name",
            ))
        })?;
        let mut suffix = [0u8; 8];
        OsRng.fill_bytes(&mut suffix);
        let mut tmp_name = std::ffi::OsString::from(".");
        tmp_name.push(name);
        tmp_name.push(format!(".tmp-{}", hex::encode(suffix)));
        let tmp = dir.join(tmp_name);

        let written = (|| -> io::Result<()> {
            let mut file = fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&tmp)?;
            file.write_all(&encoded)?;
            file.sync_all()?;
            drop(file);
            fs::rename(&tmp, path)
        })();
        if let Err(e) = written {
            // Best effort: do not leave a stray copy of the secret behind.
            let _ = fs::remove_file(&tmp);
            return Err(VaultError::Io(e));
        }
        fs::File::open(dir)?.sync_all()?;
        Ok(identity)
    }
}

// ---------------------------------------------------------------------------
// PIN
// ---------------------------------------------------------------------------

/// A technician's PIN: 6 to 12 ASCII digits. Zeroized on drop; `Debug` prints `Pin(***)`.
pub struct Pin(Zeroizing<String>);

impl Pin {
    pub fn new(digits: &str) -> Result<Pin, VaultError> {
        let len_ok = (PIN_MIN_DIGITS..=PIN_MAX_DIGITS).contains(&digits.len());
        if !len_ok || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(VaultError::WeakPin);
        }
        Ok(Pin(Zeroizing::new(digits.to_owned())))
    }

    fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl fmt::Debug for Pin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pin(***)")
    }
}

// ---------------------------------------------------------------------------
// Technicians
// ---------------------------------------------------------------------------

/// A technician with a live key on this tablet. Public data only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnrolledTechnician {
    pub tech_id: String,
    pub kid: String,
    pub public_key: VerifyingKey,
}

/// A technician's key, unwrapped with their PIN. The key is zeroized on drop;
/// `Debug` shows only the ids.
pub struct UnlockedTechnician {
    tech_id: String,
    kid: String,
    key: SigningKey,
}

impl UnlockedTechnician {
    pub fn tech_id(&self) -> &str {
        &self.tech_id
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    pub fn signing_key(&self) -> &SigningKey {
        &self.key
    }
}

impl fmt::Debug for UnlockedTechnician {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnlockedTechnician")
            .field("tech_id", &self.tech_id)
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

/// Argon2id cost parameters, stored with each row.
#[derive(Debug, Clone, Copy)]
struct KdfParams {
    m_kib: u32,
    t: u32,
    p: u32,
}

impl KdfParams {
    const CURRENT: KdfParams = KdfParams { m_kib: ARGON2_M_KIB, t: ARGON2_T, p: ARGON2_P };

    fn from_row(m_kib: i64, t: i64, p: i64) -> Result<Self, VaultError> {
        let bounded = |v: i64, max: u32| u32::try_from(v).ok().filter(|v| (1..=max).contains(v));
        match (bounded(m_kib, ARGON2_MAX_M_KIB), bounded(t, ARGON2_MAX_T), bounded(p, ARGON2_MAX_P)) {
            (Some(m_kib), Some(t), Some(p)) => Ok(Self { m_kib, t, p }),
            _ => Err(VaultError::Crypto),
        }
    }
}

/// Argon2id(PIN, salt, secret = device secret) → 32-byte key-encryption key.
fn derive_kek(
    device: &DeviceIdentity,
    pin: &Pin,
    salt: &[u8],
    kdf: KdfParams,
) -> Result<Zeroizing<[u8; KEY_LEN]>, VaultError> {
    let params = Params::new(kdf.m_kib, kdf.t, kdf.p, Some(KEY_LEN)).map_err(|_| VaultError::Crypto)?;
    let argon2 = Argon2::new_with_secret(device.secret.as_ref(), Algorithm::Argon2id, Version::V0x13, params)
        .map_err(|_| VaultError::Crypto)?;
    let mut kek = Zeroizing::new([0u8; KEY_LEN]);
    argon2.hash_password_into(pin.as_bytes(), salt, kek.as_mut()).map_err(|_| VaultError::Crypto)?;
    Ok(kek)
}

/// `"hearth/vault/v1\n" ‖ device kid ‖ "\n" ‖ tech_id ‖ "\n" ‖ tech kid`.
///
/// Kids are fixed-length hex, so the encoding is unambiguous even if a tech_id
/// contains a newline.
fn associated_data(device_kid: &str, tech_id: &str, tech_kid: &str) -> Vec<u8> {
    let mut aad =
        Vec::with_capacity(AAD_PREFIX.len() + device_kid.len() + tech_id.len() + tech_kid.len() + 2);
    aad.extend_from_slice(AAD_PREFIX);
    aad.extend_from_slice(device_kid.as_bytes());
    aad.push(b'\n');
    aad.extend_from_slice(tech_id.as_bytes());
    aad.push(b'\n');
    aad.extend_from_slice(tech_kid.as_bytes());
    aad
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Runs `body` in a transaction with `PRAGMA secure_delete` on, so that bytes a
/// statement overwrites or frees are zeroed in the database pages, then puts
/// the connection's previous setting back.
fn with_secure_delete<T>(
    conn: &Connection,
    body: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T, VaultError>,
) -> Result<T, VaultError> {
    let previous: i64 = conn.pragma_query_value(None, "secure_delete", |row| row.get(0))?;
    conn.pragma_update(None, "secure_delete", 1)?;
    let result = conn.unchecked_transaction().map_err(VaultError::from).and_then(|tx| {
        let value = body(&tx)?;
        tx.commit()?;
        Ok(value)
    });
    let restored = conn.pragma_update(None, "secure_delete", previous);
    let value = result?;
    restored?;
    Ok(value)
}

/// Generates a technician key on the tablet, wraps it with XChaCha20-Poly1305
/// under Argon2id(PIN, salt, device secret) and stores it, replacing any
/// previous enrolment of `tech_id` (new key, wrong-PIN counter back to 0).
pub fn enrol_technician(
    conn: &Connection,
    device: &DeviceIdentity,
    tech_id: &str,
    pin: &Pin,
) -> Result<EnrolledTechnician, VaultError> {
    enrol_technician_with_key(conn, device, tech_id, pin, SigningKey::generate(&mut OsRng))
}

/// [`enrol_technician`] with a given key, for deterministic fixtures and golden vectors.
pub fn enrol_technician_with_key(
    conn: &Connection,
    device: &DeviceIdentity,
    tech_id: &str,
    pin: &Pin,
    key: SigningKey,
) -> Result<EnrolledTechnician, VaultError> {
    let public_key = key.verifying_key();
    let kid = kid_of(&public_key);
    let kdf = KdfParams::CURRENT;

    let mut salt = [0u8; SALT_LEN];
    OsRng.fill_bytes(&mut salt);
    let mut nonce = [0u8; NONCE_LEN];
    OsRng.fill_bytes(&mut nonce);

    let kek = derive_kek(device, pin, &salt, kdf)?;
    let cipher = XChaCha20Poly1305::new(Key::from_slice(kek.as_ref()));
    let aad = associated_data(&device.kid(), tech_id, &kid);
    let wrapped = cipher
        .encrypt(XNonce::from_slice(&nonce), Payload { msg: key.as_bytes(), aad: &aad })
        .map_err(|_| VaultError::Crypto)?;
    drop(key);

    with_secure_delete(conn, |tx| {
        tx.execute(
            "INSERT INTO technician_key (tech_id, kid, public_key, salt, nonce, wrapped,
                 argon2_m_kib, argon2_t, argon2_p, failed_attempts, destroyed_at_ms, enrolled_at_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 0, NULL, ?10)
             ON CONFLICT (tech_id) DO UPDATE SET
                 kid = excluded.kid, public_key = excluded.public_key, salt = excluded.salt,
                 nonce = excluded.nonce, wrapped = excluded.wrapped,
                 argon2_m_kib = excluded.argon2_m_kib, argon2_t = excluded.argon2_t,
                 argon2_p = excluded.argon2_p, failed_attempts = 0, destroyed_at_ms = NULL,
                 revoked_at_ms = NULL, enrolled_at_ms = excluded.enrolled_at_ms",
            params![
                tech_id,
                kid,
                public_key.as_bytes().as_slice(),
                salt.as_slice(),
                nonce.as_slice(),
                wrapped,
                kdf.m_kib,
                kdf.t,
                kdf.p,
                now_ms()
            ],
        )?;
        Ok(())
    })?;

    Ok(EnrolledTechnician { tech_id: tech_id.to_owned(), kid, public_key })
}

/// The stored, still wrapped key of one technician, as read when an attempt is counted.
struct WrappedRow {
    kid: String,
    public_key: Vec<u8>,
    salt: Vec<u8>,
    nonce: Vec<u8>,
    wrapped: Vec<u8>,
    kdf: (i64, i64, i64),
    failed_attempts: i64,
}

/// What the first step of an unlock found.
enum Attempt {
    /// The attempt is counted (durably); go on and try the PIN.
    Counted(WrappedRow),
    /// The counter had already reached the limit (an earlier attempt was cut
    /// short before it could destroy the key): destroy it now.
    Exhausted {
        kid: String,
    },
    Destroyed {
        /// Set when the office revoked it, rather than wrong PINs.
        revoked_at_ms: Option<i64>,
    },
    NotEnrolled,
}

/// Counts an attempt *before* the PIN is tried, in its own committed
/// transaction, so that killing the app during Argon2 cannot yield free guesses.
///
/// Runs with `secure_delete` on like every write to this table: a counter
/// update can move the row, and the bytes it leaves behind hold the wrapped key.
fn begin_attempt(conn: &Connection, tech_id: &str) -> Result<Attempt, VaultError> {
    with_secure_delete(conn, |tx| count_attempt(tx, tech_id))
}

fn count_attempt(tx: &rusqlite::Transaction<'_>, tech_id: &str) -> Result<Attempt, VaultError> {
    let counted = tx
        .query_row(
            "UPDATE technician_key SET failed_attempts = failed_attempts + 1
             WHERE tech_id = ?1 AND wrapped IS NOT NULL AND failed_attempts < ?2
             RETURNING kid, public_key, salt, nonce, wrapped, argon2_m_kib, argon2_t, argon2_p, failed_attempts",
            params![tech_id, MAX_WRONG_PINS],
            |row| {
                Ok(WrappedRow {
                    kid: row.get(0)?,
                    public_key: row.get(1)?,
                    salt: row.get(2)?,
                    nonce: row.get(3)?,
                    wrapped: row.get(4)?,
                    kdf: (row.get(5)?, row.get(6)?, row.get(7)?),
                    failed_attempts: row.get(8)?,
                })
            },
        )
        .optional()?;
    Ok(match counted {
        Some(row) => Attempt::Counted(row),
        None => match state_of(tx, tech_id)? {
            None => Attempt::NotEnrolled,
            Some(RowState { live: false, revoked_at_ms, .. }) => Attempt::Destroyed { revoked_at_ms },
            Some(RowState { live: true, kid, .. }) => Attempt::Exhausted { kid },
        },
    })
}

struct RowState {
    kid: String,
    live: bool,
    revoked_at_ms: Option<i64>,
}

fn state_of(conn: &Connection, tech_id: &str) -> Result<Option<RowState>, VaultError> {
    Ok(conn
        .query_row(
            "SELECT kid, wrapped IS NOT NULL, revoked_at_ms FROM technician_key WHERE tech_id = ?1",
            params![tech_id],
            |row| Ok(RowState { kid: row.get(0)?, live: row.get(1)?, revoked_at_ms: row.get(2)? }),
        )
        .optional()?)
}

/// Overwrites the wrapped key in place, then NULLs it and records when.
fn destroy(conn: &Connection, tech_id: &str, kid: &str) -> Result<(), VaultError> {
    with_secure_delete(conn, |tx| {
        tx.execute(
            "UPDATE technician_key SET wrapped = zeroblob(length(wrapped))
             WHERE tech_id = ?1 AND kid = ?2 AND wrapped IS NOT NULL",
            params![tech_id, kid],
        )?;
        tx.execute(
            "UPDATE technician_key SET wrapped = NULL, destroyed_at_ms = ?3
             WHERE tech_id = ?1 AND kid = ?2 AND wrapped IS NOT NULL",
            params![tech_id, kid, now_ms()],
        )?;
        Ok(())
    })
}

/// Argon2 + AEAD. `Ok(None)` means the AEAD refused: a wrong PIN (or a row
/// tampered with, which AEAD cannot tell apart).
fn try_unwrap(
    device: &DeviceIdentity,
    tech_id: &str,
    pin: &Pin,
    row: &WrappedRow,
) -> Result<Option<SigningKey>, VaultError> {
    let kdf = KdfParams::from_row(row.kdf.0, row.kdf.1, row.kdf.2)?;
    if row.nonce.len() != NONCE_LEN {
        return Err(VaultError::Crypto);
    }
    let kek = derive_kek(device, pin, &row.salt, kdf)?;
    let cipher = XChaCha20Poly1305::new(Key::from_slice(kek.as_ref()));
    let aad = associated_data(&device.kid(), tech_id, &row.kid);
    let plain = match cipher.decrypt(XNonce::from_slice(&row.nonce), Payload { msg: &row.wrapped, aad: &aad })
    {
        Ok(plain) => Zeroizing::new(plain),
        Err(_) => return Ok(None),
    };
    let mut bytes = Zeroizing::new([0u8; KEY_LEN]);
    if plain.len() != KEY_LEN {
        return Err(VaultError::Crypto);
    }
    bytes.copy_from_slice(&plain);
    let key = SigningKey::from_bytes(&bytes);
    // The AAD already binds the kid; check the stored public key agrees too.
    let public = key.verifying_key();
    if public.as_bytes().as_slice() != row.public_key.as_slice() || kid_of(&public) != row.kid {
        return Err(VaultError::Crypto);
    }
    Ok(Some(key))
}

/// Unwraps the technician's key with their PIN.
///
/// Every attempt is counted and committed before the PIN is tried; a correct
/// PIN puts the counter back to 0. The [`MAX_WRONG_PINS`]-th wrong PIN in a row
/// destroys the wrapped key and answers [`VaultError::KeyDestroyed`]; so does
/// any later attempt, without running Argon2.
///
/// Must not be called inside an open transaction (the counter must be durable
/// when this returns).
pub fn unlock(
    conn: &Connection,
    device: &DeviceIdentity,
    tech_id: &str,
    pin: &Pin,
) -> Result<UnlockedTechnician, VaultError> {
    let destroyed = || VaultError::KeyDestroyed { tech_id: tech_id.to_owned() };
    let row = match begin_attempt(conn, tech_id)? {
        Attempt::Counted(row) => row,
        Attempt::NotEnrolled => return Err(VaultError::NotEnrolled { tech_id: tech_id.to_owned() }),
        Attempt::Destroyed { revoked_at_ms: Some(effective_at_ms) } => {
            return Err(VaultError::Revoked { tech_id: tech_id.to_owned(), effective_at_ms });
        }
        Attempt::Destroyed { revoked_at_ms: None } => return Err(destroyed()),
        Attempt::Exhausted { kid } => {
            destroy(conn, tech_id, &kid)?;
            return Err(destroyed());
        }
    };

    match try_unwrap(device, tech_id, pin, &row)? {
        Some(key) => {
            let reset = with_secure_delete(conn, |tx| {
                Ok(tx.execute(
                    "UPDATE technician_key SET failed_attempts = 0
                     WHERE tech_id = ?1 AND kid = ?2 AND wrapped IS NOT NULL",
                    params![tech_id, row.kid],
                )?)
            })?;
            if reset == 0 {
                // The row changed under us while Argon2 ran.
                return Err(match state_of(conn, tech_id)? {
                    None => VaultError::NotEnrolled { tech_id: tech_id.to_owned() },
                    Some(RowState { live: false, revoked_at_ms: Some(effective_at_ms), .. }) => {
                        VaultError::Revoked { tech_id: tech_id.to_owned(), effective_at_ms }
                    }
                    Some(RowState { live: false, .. }) => destroyed(),
                    Some(RowState { live: true, .. }) => VaultError::Crypto,
                });
            }
            Ok(UnlockedTechnician { tech_id: tech_id.to_owned(), kid: row.kid.clone(), key })
        }
        None => {
            let failed = u32::try_from(row.failed_attempts).unwrap_or(MAX_WRONG_PINS);
            if failed >= MAX_WRONG_PINS {
                destroy(conn, tech_id, &row.kid)?;
                Err(destroyed())
            } else {
                Err(VaultError::WrongPin { remaining: MAX_WRONG_PINS - failed })
            }
        }
    }
}

/// The office revoked the key `kid` (the feed's `key_revocation`): its
/// wrapped key is overwritten and dropped, as after too many wrong PINs, and
/// the row remembers it was the office. Answers the technician whose key it
/// was, the first time only; a key this tablet does not hold is no concern of it.
pub fn revoke_key(conn: &Connection, kid: &str, effective_at_ms: i64) -> Result<Option<String>, VaultError> {
    with_secure_delete(conn, |tx| {
        tx.execute(
            "UPDATE technician_key SET wrapped = zeroblob(length(wrapped))
             WHERE kid = ?1 AND wrapped IS NOT NULL",
            params![kid],
        )?;
        Ok(tx
            .query_row(
                "UPDATE technician_key SET wrapped = NULL, destroyed_at_ms = coalesce(destroyed_at_ms, ?3),
                     revoked_at_ms = ?2
                 WHERE kid = ?1 AND revoked_at_ms IS NULL
                 RETURNING tech_id",
                params![kid, effective_at_ms, now_ms()],
                |row| row.get(0),
            )
            .optional()?)
    })
}

/// Technicians with a live (not destroyed) key on this tablet, by tech_id.
pub fn enrolled_technicians(conn: &Connection) -> Result<Vec<EnrolledTechnician>, VaultError> {
    let mut stmt = conn.prepare(
        "SELECT tech_id, kid, public_key FROM technician_key WHERE wrapped IS NOT NULL ORDER BY tech_id",
    )?;
    let rows = stmt.query_map([], |row| {
        Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?, row.get::<_, Vec<u8>>(2)?))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (tech_id, kid, public_key) = row?;
        let bytes: [u8; 32] = public_key.as_slice().try_into().map_err(|_| VaultError::Crypto)?;
        let public_key = VerifyingKey::from_bytes(&bytes).map_err(|_| VaultError::Crypto)?;
        out.push(EnrolledTechnician { tech_id, kid, public_key });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_associated_data_has_the_documented_layout() {
        assert_eq!(associated_data("dk", "t-1", "tk"), b"hearth/vault/v1\ndk\nt-1\ntk".to_vec());
    }

    #[test]
    fn a_device_key_file_round_trips_and_rejects_any_flipped_byte() {
        let device = DeviceIdentity::from_secret_bytes([7; 32], [9; 32]);
        let encoded = device.encode();
        let back = DeviceIdentity::decode(&encoded).expect("a freshly encoded key file decodes");
        assert_eq!(back.kid(), device.kid());
        assert_eq!(*back.secret, *device.secret);
        for i in 0..encoded.len() {
            let mut bad = encoded.to_vec();
            bad[i] ^= 0x01;
            assert!(
                matches!(DeviceIdentity::decode(&bad), Err(VaultError::CorruptKeyFile)),
                "flipping byte {i} must be detected"
            );
        }
    }

    #[test]
    fn stored_argon2_parameters_are_bounded() {
        assert!(KdfParams::from_row(19456, 2, 1).is_ok());
        assert!(KdfParams::from_row(0, 2, 1).is_err());
        assert!(KdfParams::from_row(i64::from(u32::MAX) + 1, 2, 1).is_err());
        assert!(KdfParams::from_row(19456, 1000, 1).is_err());
        assert!(KdfParams::from_row(19456, 2, -1).is_err());
    }
}
