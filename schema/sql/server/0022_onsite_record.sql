-- The on-site inspection record (现场检查笔录) of an inspection: the JSON of
-- schema.OnSiteRecord (NULL for an inspection recorded without one), its
-- number apart so that no two inspections carry the same, and the party's
-- signature images, which are evidence like photos: claimed, proven by an
-- upload and readable by the same rules (inspection_photos holds the
-- answers' photos only, keyed by item).
ALTER TABLE inspections ADD COLUMN record TEXT;
ALTER TABLE inspections ADD COLUMN record_number TEXT NOT NULL DEFAULT '';
CREATE UNIQUE INDEX inspections_record_number ON inspections (record_number) WHERE record_number <> '';

CREATE TABLE record_signatures (
    inspection_id TEXT NOT NULL REFERENCES inspections (id),
    amendment     INTEGER NOT NULL,         -- 0: the record's signing; N: amendment N's
    sha256        TEXT NOT NULL,
    size          INTEGER NOT NULL,
    media_type    TEXT NOT NULL,
    captured_at   TEXT NOT NULL,
    squad_id      INTEGER NOT NULL,         -- the inspection's squad and device, for photo access
    device_id     TEXT NOT NULL,
    claim         TEXT NOT NULL DEFAULT 'pending' CHECK (claim IN ('proven', 'pending')),
    PRIMARY KEY (inspection_id, amendment)
) WITHOUT ROWID;
CREATE INDEX record_signatures_sha ON record_signatures (sha256);
