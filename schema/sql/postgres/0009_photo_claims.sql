-- Each photo reference carries a claim, as in sql/server/0009: 'proven'
-- when the server knows the inspection's squad had the bytes, 'pending'
-- until a device of the inspection delivers bytes that hash to the name
-- (see schema/claims.go). Only proven claims let a device or a leader
-- read the photo, and a pending one counts as missing.
--
-- New references are pending unless the push proves them, so the column
-- defaults to 'pending'; the references written before claims existed
-- are trusted as they were and become proven.
ALTER TABLE inspection_photos ADD COLUMN claim TEXT NOT NULL DEFAULT 'pending' CHECK (claim IN ('proven', 'pending'));
UPDATE inspection_photos SET claim = 'proven';

-- Which devices delivered verified bytes of a photo, and for which squad:
-- a squad that had the bytes may name them in later inspections with a
-- claim proven at once. Each delivery is a row; photos received before
-- this table existed have no known sender.
CREATE TABLE photo_receipts (
    sha256      TEXT NOT NULL REFERENCES photos (sha256),
    device_id   TEXT NOT NULL,
    squad_id    BIGINT NOT NULL,
    received_at TEXT NOT NULL,
    PRIMARY KEY (sha256, device_id)
);
