-- 0003: the key vault (protocol §9).
--
-- One row per technician enrolled on this tablet. The technician's Ed25519 key
-- is stored only wrapped: XChaCha20-Poly1305 under Argon2id(PIN, salt, device
-- secret), the device secret living in the device key file, not here. The
-- Argon2 parameters are kept per row so that they can be raised later without
-- stranding existing enrolments.
--
-- After MAX_WRONG_PINS wrong PINs in a row the wrapped key is overwritten and
-- set to NULL and destroyed_at_ms is set; the technician must enrol again.
-- Re-enrolling replaces the row (new key, counter back to 0).
CREATE TABLE technician_key (
    tech_id         TEXT    NOT NULL PRIMARY KEY,
    kid             TEXT    NOT NULL,
    public_key      BLOB    NOT NULL CHECK (length(public_key) = 32),
    salt            BLOB    NOT NULL CHECK (length(salt) >= 16),
    nonce           BLOB    NOT NULL CHECK (length(nonce) = 24),
    wrapped         BLOB,
    argon2_m_kib    INTEGER NOT NULL CHECK (argon2_m_kib > 0),
    argon2_t        INTEGER NOT NULL CHECK (argon2_t > 0),
    argon2_p        INTEGER NOT NULL CHECK (argon2_p > 0),
    failed_attempts INTEGER NOT NULL DEFAULT 0 CHECK (failed_attempts >= 0),
    destroyed_at_ms INTEGER,
    enrolled_at_ms  INTEGER NOT NULL,
    -- a key is either live (wrapped bytes, no destruction time) or destroyed
    CHECK ((wrapped IS NULL) = (destroyed_at_ms IS NOT NULL))
) STRICT;
