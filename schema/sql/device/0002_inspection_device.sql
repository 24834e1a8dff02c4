-- Which device authored an inspection: pulled inspections may come from
-- another device of the same inspector, so it cannot be inferred locally.
ALTER TABLE inspections ADD COLUMN device_id TEXT NOT NULL DEFAULT '';
