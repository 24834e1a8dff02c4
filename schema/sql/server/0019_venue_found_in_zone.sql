-- The school zone a device measured itself in when it recorded a venue in
-- the field (schema.Venue.FoundInZone, JSON schema.ZoneHit): kept as the
-- device claimed it, beside the server's own evaluation (zone_violations).
ALTER TABLE venues ADD COLUMN found_in_zone TEXT;
