-- The office audit log records the state of what an action changed, as the
-- office read it just before the change and just after it (issue 15: "who,
-- when, what, before and after"). JSON text, as every stored body; NULL when
-- the action names nothing with a state (a login, an enrolment code) or was
-- refused. The table stays append-only (0005): adding columns updates no row.
ALTER TABLE office_audit ADD COLUMN before_state TEXT;
ALTER TABLE office_audit ADD COLUMN after_state TEXT;
