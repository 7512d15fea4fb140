-- The board's search over every order without reading every row: an FTS5
-- trigram index of work_order_board.search (office::views, storage::BoardQuery).
--
-- The index is an external-content FTS5 table keyed by the board row's
-- rowid. A table whose key is TEXT may have its rowids renumbered by VACUUM,
-- which would silently point the index at the wrong rows, so the board is
-- rebuilt here with an INTEGER PRIMARY KEY (`seq`), which VACUUM keeps. Rows
-- keep their gen and built_gen: nothing becomes stale.
--
-- The tokenizer is case-sensitive: `search` and the query are both
-- lower-cased by the server (Rust's Unicode lower-casing), and a second
-- folding here could only disagree with it. A query of 3 or more characters
-- is a MATCH of one quoted phrase, re-checked with instr(); shorter ones
-- cannot be trigram-indexed and scan as before.
CREATE TABLE work_order_board_0010 (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    gen INTEGER NOT NULL DEFAULT 1,
    built_gen INTEGER NOT NULL DEFAULT 0,
    status TEXT,
    category TEXT,
    technicians TEXT NOT NULL DEFAULT '',
    search TEXT NOT NULL DEFAULT '',
    address_key TEXT NOT NULL DEFAULT '',
    received_at_ms INTEGER NOT NULL DEFAULT 0,
    due_ms INTEGER NOT NULL DEFAULT 9223372036854775807,
    late_due_ms INTEGER NOT NULL DEFAULT 9223372036854775807,
    switch_ms INTEGER,
    is_repeat INTEGER NOT NULL DEFAULT 0,
    another_visit INTEGER NOT NULL DEFAULT 0,
    opened_on_site INTEGER NOT NULL DEFAULT 0
) STRICT;
INSERT INTO work_order_board_0010 (id, gen, built_gen, status, category, technicians, search, address_key,
        received_at_ms, due_ms, late_due_ms, switch_ms, is_repeat, another_visit, opened_on_site)
    SELECT id, gen, built_gen, status, category, technicians, search, address_key,
        received_at_ms, due_ms, late_due_ms, switch_ms, is_repeat, another_visit, opened_on_site
    FROM work_order_board ORDER BY id;

-- The triggers of 0008 name the board; dropped with it and created again as they were.
DROP TRIGGER work_order_board_snapshot_insert;
DROP TRIGGER work_order_board_snapshot_update;
DROP TRIGGER work_order_board_entry;
DROP TABLE work_order_board;
ALTER TABLE work_order_board_0010 RENAME TO work_order_board;

CREATE INDEX work_order_board_status_due ON work_order_board (status, due_ms, id);
CREATE INDEX work_order_board_due ON work_order_board (due_ms, id);
CREATE INDEX work_order_board_address ON work_order_board (address_key);
CREATE INDEX work_order_board_stale ON work_order_board (id) WHERE gen > built_gen;
-- Rows whose address is not known yet (never built): the address index must
-- find every order at a home before the background rebuild reaches it.
CREATE INDEX work_order_board_unaddressed ON work_order_board (id) WHERE address_key = '';

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

CREATE VIRTUAL TABLE work_order_board_search USING fts5(
    search, content = 'work_order_board', content_rowid = 'seq', tokenize = 'trigram case_sensitive 1'
);
INSERT INTO work_order_board_search (work_order_board_search) VALUES ('rebuild');

-- Kept current where `search` is written: a new row, a rebuilt row whose
-- text changed (board_put), a row deleted.
CREATE TRIGGER work_order_board_search_insert AFTER INSERT ON work_order_board
BEGIN
    INSERT INTO work_order_board_search (rowid, search) VALUES (NEW.seq, NEW.search);
END;
CREATE TRIGGER work_order_board_search_update AFTER UPDATE OF search ON work_order_board
    WHEN OLD.search IS NOT NEW.search
BEGIN
    INSERT INTO work_order_board_search (work_order_board_search, rowid, search)
        VALUES ('delete', OLD.seq, OLD.search);
    INSERT INTO work_order_board_search (rowid, search) VALUES (NEW.seq, NEW.search);
END;
CREATE TRIGGER work_order_board_search_delete AFTER DELETE ON work_order_board
BEGIN
    INSERT INTO work_order_board_search (work_order_board_search, rowid, search)
        VALUES ('delete', OLD.seq, OLD.search);
END;
