-- The on-site inspection record of an inspection (schema.OnSiteRecord as
-- JSON, NULL for an inspection recorded without one), and the device's
-- running count of the records it numbered (现检〔YYYY〕BADGE-N号).
ALTER TABLE inspections ADD COLUMN record TEXT;
INSERT OR IGNORE INTO meta (key, value) VALUES ('record_count', '0');
