-- State that several replicas behind one load balancer must share, so that
-- they behave as one server.
--
-- photo_uploads: the durable point of each partial photo upload. The first
-- staged_bytes of the photo (of size bytes) are staged as pieces, objects
-- in the staging blob store listed in order in pieces (JSON: [{"key",
-- "size"}]); hash_state is the SHA-256 state after exactly those bytes.
-- pending names a piece being written that the row does not vouch for yet.
-- version grows with every save: a save names the version it replaces, so
-- that of two replicas receiving one photo only one moves it on.
CREATE TABLE photo_uploads (
    sha256       TEXT PRIMARY KEY,
    size         INTEGER NOT NULL,
    staged_bytes INTEGER NOT NULL,
    hash_state   BLOB NOT NULL,
    pieces       TEXT NOT NULL DEFAULT '[]',
    pending      TEXT NOT NULL DEFAULT '',
    version      INTEGER NOT NULL,
    updated_at   TEXT NOT NULL
);
CREATE INDEX photo_uploads_updated ON photo_uploads (updated_at);

-- attempt_failures: failed (or not yet checked) logins and enrollments,
-- one row per key (name) an attempt counts against (an account, an address, all
-- enrollments), at_ns in Unix nanoseconds; id names the attempt, so that a
-- success takes its rows back. known_logins: the addresses each account
-- logged in from, whose failures count apart.
CREATE TABLE attempt_failures (
    id    TEXT NOT NULL,
    name  TEXT NOT NULL,
    at_ns INTEGER NOT NULL,
    PRIMARY KEY (id, name)
);
CREATE INDEX attempt_failures_key ON attempt_failures (name, at_ns);
CREATE INDEX attempt_failures_at ON attempt_failures (at_ns);

CREATE TABLE known_logins (
    account TEXT NOT NULL,
    address TEXT NOT NULL,
    at_ns   INTEGER NOT NULL,
    PRIMARY KEY (account, address)
);
CREATE INDEX known_logins_at ON known_logins (at_ns);
