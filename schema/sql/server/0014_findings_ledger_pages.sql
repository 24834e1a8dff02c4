-- The ledger page of a squad, newest first or soonest deadline first,
-- unfiltered or by status: each page reads its rows in index order instead
-- of sorting the squad's whole ledger. The deadline key is the expression
-- the adapters sort by (store.NoDeadlineKey for findings without one).
CREATE INDEX findings_squad_opened ON findings (squad_id, opened_at, id);
CREATE INDEX findings_squad_deadline_key ON findings (squad_id, coalesce(deadline, '9999-12-31T23:59:59.999999999Z'), id);
CREATE INDEX findings_squad_status_deadline_key ON findings (squad_id, status, coalesce(deadline, '9999-12-31T23:59:59.999999999Z'), id);
