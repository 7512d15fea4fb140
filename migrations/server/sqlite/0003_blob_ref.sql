-- Which blobs each device's records name (their attachments), so a device
-- may learn about its own blobs only (issue 13). Written with the entries.
-- Entries stored before this table existed have no rows: their blobs are
-- answered "missing" to their device, which uploads them again and the
-- upload completes at once (blobs are content-addressed).
CREATE TABLE blob_ref (
    device_id TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    PRIMARY KEY (device_id, sha256)
) STRICT, WITHOUT ROWID;
