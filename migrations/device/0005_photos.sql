-- 0005: photos as ingested (EXIF orientation applied, metadata stripped,
-- resized, re-encoded). The photo itself is a blob (uploaded, removed from
-- the tablet once the server holds it and every record naming it is
-- receipted); its thumbnail is a file kept on the tablet only, so the
-- screens can still show the photo after it left. The capture time the
-- original's EXIF stated is kept here, since the stored file no longer
-- carries it; records name it in the photo's attachment.
CREATE TABLE photo (
    sha256 TEXT PRIMARY KEY REFERENCES blob (sha256),
    width INTEGER NOT NULL CHECK (width > 0),
    height INTEGER NOT NULL CHECK (height > 0),
    thumbnail_sha256 TEXT NOT NULL,
    thumbnail_size INTEGER NOT NULL CHECK (thumbnail_size > 0),
    captured_at_ms INTEGER,
    stored_at_ms INTEGER NOT NULL
) STRICT;
