-- Geometry and imports. Schools carry their whole campus (a MultiPolygon,
-- holes included, WGS-84) besides the one ring older devices read, and the
-- bureau's own id of each school and licensed venue, on which an import
-- matches so that importing a file twice changes nothing. Squads carry
-- their jurisdiction polygon (area, JSON MultiPolygon; the bounding box
-- columns stay, derived from it, because pull scoping reads them); a venue
-- is assigned to the squad whose area contains it unless its squad was set
-- by hand (squad_manual). zone_rules.effective_to mirrors the rule's body,
-- so that the rules in force on a day can be chosen in SQL.
ALTER TABLE schools ADD COLUMN external_id TEXT;
ALTER TABLE schools ADD COLUMN geometry TEXT; -- JSON geo.MultiPolygon; NULL: the polygon ring only
CREATE UNIQUE INDEX schools_external_id ON schools (external_id);

ALTER TABLE venues ADD COLUMN footprint TEXT; -- JSON geo.Polygon; NULL: the point only
ALTER TABLE venues ADD COLUMN external_id TEXT;
ALTER TABLE venues ADD COLUMN squad_manual INTEGER NOT NULL DEFAULT 0;
CREATE UNIQUE INDEX venues_external_id ON venues (external_id);
-- A venue moved by hand before this migration keeps the squad it was moved to.
UPDATE venues SET squad_manual = 1
 WHERE id IN (SELECT entity_id FROM audit_log WHERE entity_kind = 'venue' AND action = 'move');

ALTER TABLE squads ADD COLUMN area TEXT; -- JSON geo.MultiPolygon; NULL: the bounding box only

ALTER TABLE zone_rules ADD COLUMN effective_to TEXT;
UPDATE zone_rules SET effective_to = json_extract(body, '$.effective_to')
 WHERE json_valid(body) AND json_extract(body, '$.effective_to') IS NOT NULL;
