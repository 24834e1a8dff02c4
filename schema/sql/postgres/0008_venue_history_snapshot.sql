-- A venue that leaves a squad keeps, in the squad's history row, the venue
-- as the squad last saw it (JSON schema.Venue at the move), as in
-- sql/server/0008: the old squad's inspections show that copy, never what
-- the new squad wrote since. Rows closed before this migration have none
-- (NULL), and reads show only the fields that never change.
ALTER TABLE venue_squad_history ADD COLUMN venue TEXT;
