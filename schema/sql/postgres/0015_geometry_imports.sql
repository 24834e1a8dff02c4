-- Geometry and imports (see the SQLite migration of the same number):
-- the whole campus of a school, the footprint of a venue, the bureau's
-- external ids imports match on, the squads' jurisdiction polygons with
-- the manual assignments they do not override, and the end of a rule.
ALTER TABLE schools ADD COLUMN external_id TEXT;
ALTER TABLE schools ADD COLUMN geometry TEXT;
CREATE UNIQUE INDEX schools_external_id ON schools (external_id);

ALTER TABLE venues ADD COLUMN footprint TEXT;
ALTER TABLE venues ADD COLUMN external_id TEXT;
ALTER TABLE venues ADD COLUMN squad_manual BOOLEAN NOT NULL DEFAULT false;
CREATE UNIQUE INDEX venues_external_id ON venues (external_id);
UPDATE venues SET squad_manual = true
 WHERE id IN (SELECT entity_id FROM audit_log WHERE entity_kind = 'venue' AND action = 'move');

ALTER TABLE squads ADD COLUMN area TEXT;

ALTER TABLE zone_rules ADD COLUMN effective_to TEXT;
UPDATE zone_rules SET effective_to = body::jsonb ->> 'effective_to'
 WHERE body::jsonb ? 'effective_to';
