-- The dispatcher's board at scale (issue 15): one row per work order with
-- what the board filters, searches and sorts on, so a page is one indexed
-- query instead of every snapshot and record judged in memory.
--
-- Rows are kept current lazily: a write to a work-order snapshot, or a
-- record naming the order, bumps `gen` in the writer's own transaction
-- (the triggers below); the next read of the board recomputes the rows
-- whose `built_gen` lags (office::views::refresh_board) with
-- hearth-domain's rules, and stores `built_gen` = the `gen` it read, so a
-- write that lands meanwhile leaves the row stale for the next read.
CREATE TABLE work_order_board (
    id TEXT PRIMARY KEY,
    gen INTEGER NOT NULL DEFAULT 1,
    built_gen INTEGER NOT NULL DEFAULT 0,
    -- NULL until built (and for a snapshot whose body does not decode).
    status TEXT,
    category TEXT,
    -- ' T1 T2 ': each assigned tech id between spaces.
    technicians TEXT NOT NULL DEFAULT '',
    -- Lower-cased order id, customer name, phone, address parts, tech ids and names.
    search TEXT NOT NULL DEFAULT '',
    address_key TEXT NOT NULL DEFAULT '',
    received_at_ms INTEGER NOT NULL DEFAULT 0,
    -- The nearest deadline still to meet (9223372036854775807: none) while
    -- the clock is before switch_ms; from switch_ms on (an appointment's end
    -- passed with nobody on site: a late notice is due), late_due_ms.
    due_ms INTEGER NOT NULL DEFAULT 9223372036854775807,
    late_due_ms INTEGER NOT NULL DEFAULT 9223372036854775807,
    switch_ms INTEGER,
    is_repeat INTEGER NOT NULL DEFAULT 0,
    another_visit INTEGER NOT NULL DEFAULT 0,
    opened_on_site INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX work_order_board_status_due ON work_order_board (status, due_ms, id);
CREATE INDEX work_order_board_due ON work_order_board (due_ms, id);
CREATE INDEX work_order_board_address ON work_order_board (address_key);
CREATE INDEX work_order_board_stale ON work_order_board (id) WHERE gen > built_gen;

INSERT INTO work_order_board (id) SELECT id FROM snapshot WHERE kind = 'work_order';

CREATE TRIGGER work_order_board_snapshot_insert AFTER INSERT ON snapshot WHEN NEW.kind = 'work_order'
BEGIN
    INSERT INTO work_order_board (id) VALUES (NEW.id) ON CONFLICT (id) DO UPDATE SET gen = gen + 1;
END;
CREATE TRIGGER work_order_board_snapshot_update AFTER UPDATE ON snapshot WHEN NEW.kind = 'work_order'
BEGIN
    INSERT INTO work_order_board (id) VALUES (NEW.id) ON CONFLICT (id) DO UPDATE SET gen = gen + 1;
END;
CREATE TRIGGER work_order_board_entry AFTER INSERT ON entry WHEN NEW.work_order_id IS NOT NULL
BEGIN
    UPDATE work_order_board SET gen = gen + 1 WHERE id = NEW.work_order_id;
END;
