-- photo_uploads is kept per device: uploads are staged per device (what
-- a device sent of a photo is its own, and sending all of it is how the
-- device proves it has the photo), so two devices uploading the same photo
-- must neither share nor clobber one partial upload. The rows are rekeyed
-- by (sha256, device_id); rows from before name no device ('') and are
-- left to the clean-up job.
CREATE TABLE photo_uploads_by_device (
    sha256       TEXT NOT NULL,
    device_id    TEXT NOT NULL,
    size         INTEGER NOT NULL,
    staged_bytes INTEGER NOT NULL,
    hash_state   BLOB NOT NULL,
    pieces       TEXT NOT NULL DEFAULT '[]',
    pending      TEXT NOT NULL DEFAULT '',
    version      INTEGER NOT NULL,
    updated_at   TEXT NOT NULL,
    PRIMARY KEY (sha256, device_id)
);
INSERT INTO photo_uploads_by_device (sha256, device_id, size, staged_bytes, hash_state, pieces, pending, version, updated_at)
    SELECT sha256, '', size, staged_bytes, hash_state, pieces, pending, version, updated_at FROM photo_uploads;
DROP TABLE photo_uploads;
ALTER TABLE photo_uploads_by_device RENAME TO photo_uploads;
CREATE INDEX photo_uploads_updated ON photo_uploads (updated_at);
