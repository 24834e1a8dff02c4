-- HLCs the server replaced because they ran too far ahead of its clock.
-- A device that made them still names them as the base of its next edits;
-- the merge translates such a base before deciding an edit was concurrent.
CREATE TABLE hlc_restamps (
    original    TEXT PRIMARY KEY,
    replacement TEXT NOT NULL,
    device_id   TEXT NOT NULL,
    at          TEXT NOT NULL
);
