-- The board's search over every order without reading every row; as
-- migrations/server/sqlite/0010_board_search.sql (FTS5 there): a pg_trgm GIN
-- index on work_order_board.search, used by `search LIKE '%…%'` for queries
-- of 3 or more characters (storage::BoardQuery).
--
-- pg_trgm ships with PostgreSQL (contrib), but creating an extension may
-- need a privilege the server's role lacks, or the package may be missing.
-- The migration then succeeds without the index (a NOTICE says why) and the
-- search scans as before, with the same answers; a superuser can later run
-- `CREATE EXTENSION pg_trgm` and
-- `CREATE INDEX work_order_board_search_trgm ON work_order_board USING gin (search gin_trgm_ops)`
-- (docs/operations.md).
DO $$
BEGIN
    CREATE EXTENSION IF NOT EXISTS pg_trgm;
EXCEPTION WHEN OTHERS THEN
    RAISE NOTICE 'pg_trgm is not available (%): the board search scans without an index', SQLERRM;
END $$;

DO $$
DECLARE
    trgm_schema TEXT;
BEGIN
    SELECT n.nspname INTO trgm_schema
        FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm';
    IF trgm_schema IS NOT NULL THEN
        -- The operator class by its schema: the extension may live outside the search_path.
        EXECUTE format(
            'CREATE INDEX work_order_board_search_trgm ON work_order_board USING gin (search %I.gin_trgm_ops)',
            trgm_schema);
    END IF;
END $$;

-- Rows whose address is not known yet (never built): the address index must
-- find every order at a home before the background rebuild reaches it.
CREATE INDEX work_order_board_unaddressed ON work_order_board (id) WHERE address_key = '';
