-- Zone checks offline. Schools and rules already keep their whole wire JSON
-- (a campus's geometry arrives in schools.body); what the venue row lacked
-- is the premises' footprint, which the zone rule measures when known, and
-- the zone this device found itself in when it recorded the venue, so the
-- warning it gave is still shown after a restart.
ALTER TABLE venues ADD COLUMN footprint TEXT NOT NULL DEFAULT '';     -- JSON geo.Polygon, '' when unknown
ALTER TABLE venues ADD COLUMN found_in_zone TEXT NOT NULL DEFAULT ''; -- JSON schema.ZoneHit, '' when none
