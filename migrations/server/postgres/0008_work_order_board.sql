-- The dispatcher's board at scale (issue 15); as
-- migrations/server/sqlite/0008_work_order_board.sql, which says how rows
-- are kept current.
CREATE TABLE work_order_board (
    id TEXT PRIMARY KEY,
    gen BIGINT NOT NULL DEFAULT 1,
    built_gen BIGINT NOT NULL DEFAULT 0,
    status TEXT,
    category TEXT,
    technicians TEXT NOT NULL DEFAULT '',
    search TEXT NOT NULL DEFAULT '',
    address_key TEXT NOT NULL DEFAULT '',
    received_at_ms BIGINT NOT NULL DEFAULT 0,
    due_ms BIGINT NOT NULL DEFAULT 9223372036854775807,
    late_due_ms BIGINT NOT NULL DEFAULT 9223372036854775807,
    switch_ms BIGINT,
    is_repeat BIGINT NOT NULL DEFAULT 0,
    another_visit BIGINT NOT NULL DEFAULT 0,
    opened_on_site BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX work_order_board_status_due ON work_order_board (status, due_ms, id);
CREATE INDEX work_order_board_due ON work_order_board (due_ms, id);
CREATE INDEX work_order_board_address ON work_order_board (address_key);
CREATE INDEX work_order_board_stale ON work_order_board (id) WHERE gen > built_gen;

INSERT INTO work_order_board (id) SELECT id FROM snapshot WHERE kind = 'work_order';

CREATE FUNCTION work_order_board_snapshot() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO work_order_board (id) VALUES (NEW.id)
        ON CONFLICT (id) DO UPDATE SET gen = work_order_board.gen + 1;
    RETURN NULL;
END $$;
CREATE TRIGGER work_order_board_snapshot AFTER INSERT OR UPDATE ON snapshot
    FOR EACH ROW WHEN (NEW.kind = 'work_order') EXECUTE FUNCTION work_order_board_snapshot();

CREATE FUNCTION work_order_board_entry() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE work_order_board SET gen = gen + 1 WHERE id = NEW.work_order_id;
    RETURN NULL;
END $$;
CREATE TRIGGER work_order_board_entry AFTER INSERT ON entry
    FOR EACH ROW WHEN (NEW.work_order_id IS NOT NULL) EXECUTE FUNCTION work_order_board_entry();
