-- Naming a photo's hash in an inspection proves nothing: whoever learns a
-- hash can name it. Each photo reference now carries a claim: 'proven'
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
-- claim proven at once. Several devices (of one squad or of several) can
-- deliver the same bytes; they are stored once, and each delivery is a
-- row here. Photos received before this table existed have no known
-- sender: nothing recorded says which device sent them.
CREATE TABLE photo_receipts (
    sha256      TEXT NOT NULL REFERENCES photos (sha256),
    device_id   TEXT NOT NULL,
    squad_id    INTEGER NOT NULL,
    received_at TEXT NOT NULL,
    PRIMARY KEY (sha256, device_id)
) WITHOUT ROWID;
