-- Record search in the office (issue 15): newest first by server_seq, so
-- every filter has an index ending in server_seq and a page is an index walk
-- from the cursor down, never a scan of the million records.

-- Who signed each record (the tech ids of its technician signatures), kept
-- by a trigger as records are appended: the signatures live inside the
-- envelope's JSON, which no index reaches.
CREATE TABLE entry_signer (
    tech_id TEXT NOT NULL,
    server_seq BIGINT NOT NULL,
    PRIMARY KEY (tech_id, server_seq)
);

INSERT INTO entry_signer (tech_id, server_seq)
SELECT DISTINCT s ->> 'tech_id', e.server_seq
FROM entry e, jsonb_array_elements(e.envelope::jsonb -> 'tech_sigs') s
WHERE s ->> 'tech_id' IS NOT NULL
ON CONFLICT DO NOTHING;

CREATE FUNCTION entry_signer_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO entry_signer (tech_id, server_seq)
    SELECT DISTINCT s ->> 'tech_id', NEW.server_seq
    FROM jsonb_array_elements(NEW.envelope::jsonb -> 'tech_sigs') s
    WHERE s ->> 'tech_id' IS NOT NULL
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END
$$;
CREATE TRIGGER entry_signer_on_insert AFTER INSERT ON entry
    FOR EACH ROW EXECUTE FUNCTION entry_signer_insert();

CREATE INDEX entry_work_order_seq ON entry (work_order_id, server_seq);
CREATE INDEX entry_device_seq ON entry (device_id, server_seq);
CREATE INDEX entry_schema_seq ON entry (schema, server_seq);
CREATE INDEX entry_flagged_seq ON entry (server_seq) WHERE flags <> '[]';
CREATE INDEX entry_received_seq ON entry (received_at_ms, server_seq);
-- Record-id prefixes compare byte-wise whatever the database's collation.
CREATE INDEX entry_record_id_prefix ON entry (record_id COLLATE "C");
