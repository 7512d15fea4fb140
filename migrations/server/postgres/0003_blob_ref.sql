-- Which blobs each device's records name; as migrations/server/sqlite/0003_blob_ref.sql.
CREATE TABLE blob_ref (
    device_id TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    PRIMARY KEY (device_id, sha256)
);
