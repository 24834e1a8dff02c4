-- A device pulls back its own inspections (with their review state), so
-- the pull reads them by device and change sequence.
CREATE INDEX inspections_device_seq ON inspections (device_id, seq);
