-- Venues devices discover in the field (black cafés): a pending one waits
-- on the squad's workbench until its leader confirms it (it enters the
-- ledger for the later case) or merges it into a venue already known.
-- A merged venue is deleted with merged_into naming the survivor, which
-- holds its inspections, findings, zone violations and conflicts since.
-- found_in_zone is the school zone the device measured offline when it
-- recorded the venue (JSON schema.ZoneHit, '' when none).
ALTER TABLE venues ADD COLUMN discovery_state TEXT NOT NULL DEFAULT '';
ALTER TABLE venues ADD COLUMN discovery_by    TEXT NOT NULL DEFAULT '';
ALTER TABLE venues ADD COLUMN discovery_at    TEXT NOT NULL DEFAULT '';
ALTER TABLE venues ADD COLUMN merged_into     TEXT NOT NULL DEFAULT '';
ALTER TABLE venues ADD COLUMN found_in_zone   TEXT NOT NULL DEFAULT '';
UPDATE venues SET discovery_state = 'pending' WHERE created_by <> '' AND created_by NOT LIKE 'server:%';
CREATE INDEX venues_discovery ON venues (squad_id, discovery_state, created_at) WHERE discovery_state <> '';
CREATE INDEX venues_merged_into ON venues (merged_into) WHERE merged_into <> '';
