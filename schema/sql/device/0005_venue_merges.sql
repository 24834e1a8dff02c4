-- Venues a squad leader merged into another (a field duplicate): the pull
-- that delivered the merge re-pointed this device's records to the
-- survivor, and this row lets the device answer for an id it may still be
-- shown (a stale list, a note on paper) which venue holds its records now.
CREATE TABLE venue_merges (
    duplicate_id TEXT PRIMARY KEY,
    survivor_id  TEXT NOT NULL
) WITHOUT ROWID;
