-- photo_uploads is kept per device: uploads are staged per device (what
-- a device sent of a photo is its own, and sending all of it is how the
-- device proves it has the photo), so two devices uploading the same photo
-- must neither share nor clobber one partial upload. The rows are rekeyed
-- by (sha256, device_id); rows from before name no device ('') and are
-- left to the clean-up job.
ALTER TABLE photo_uploads ADD COLUMN device_id TEXT NOT NULL DEFAULT '';
ALTER TABLE photo_uploads DROP CONSTRAINT photo_uploads_pkey;
ALTER TABLE photo_uploads ADD PRIMARY KEY (sha256, device_id);
ALTER TABLE photo_uploads ALTER COLUMN device_id DROP DEFAULT;
