-- The overdue ledger (ordered findings past their deadline) soonest
-- deadline first: the page is a range of this index from the squad's
-- oldest ordered deadline up to now, read in order, instead of every
-- overdue row of the squad found by findings_deadline and then sorted.
CREATE INDEX findings_squad_status_deadline ON findings (squad_id, status, deadline, id);
