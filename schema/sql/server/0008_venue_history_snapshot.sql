-- A venue that leaves a squad keeps, in the squad's history row, the venue
-- as the squad last saw it (JSON schema.Venue at the move). Inspections of
-- the old squad show that copy instead of the venue's current record, so
-- that its leaders never read what the new squad wrote since (phone,
-- address, licence). Rows closed before this migration have no copy
-- (NULL): what a venue looked like then is not known, and reads show only
-- the fields that never change (id, kind, position).
ALTER TABLE venue_squad_history ADD COLUMN venue TEXT;
