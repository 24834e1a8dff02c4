-- Pulls read a device's own inspections by (device_id, seq) since 0002;
-- nothing reads inspections by author and change sequence any more, and
-- every push paid for keeping that index.
DROP INDEX IF EXISTS inspections_author_seq;
