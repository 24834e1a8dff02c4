-- audit_log: every state change (who, when, from which address, on what,
-- from what state to what, why), appended in the transaction of the change
-- and chained by hash (schema.AuditHash): hash covers every other column
-- and prev_hash, the hash of the entry of seq - 1 ('' for seq 1).
--
-- audit_head: the one row (id 1) naming the last entry. Every append locks
-- it (SELECT … FOR UPDATE) as the last lock its transaction takes, appends
-- seq + 1 chained to its hash and moves it on: replicas append one at a
-- time, in commit order, without gaps. It also lets verify notice the
-- newest entries removed.
--
-- The triggers refuse every UPDATE, DELETE and TRUNCATE of the log, so it
-- only grows; whoever goes around them breaks the chain (patrold audit
-- verify names the entry).
CREATE TABLE audit_log (
    seq         BIGINT PRIMARY KEY,
    at          TEXT NOT NULL,
    actor       TEXT NOT NULL,
    address     TEXT NOT NULL DEFAULT '',
    entity_kind TEXT NOT NULL,
    entity_id   TEXT NOT NULL,
    squad_id    BIGINT,
    action      TEXT NOT NULL,
    from_state  TEXT NOT NULL DEFAULT '',
    to_state    TEXT NOT NULL DEFAULT '',
    reason      TEXT NOT NULL DEFAULT '',
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL
);
CREATE INDEX audit_log_entity ON audit_log (entity_kind, entity_id, seq);
CREATE INDEX audit_log_squad ON audit_log (squad_id, seq);
CREATE INDEX audit_log_actor ON audit_log (actor, seq);

CREATE TABLE audit_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  BIGINT NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '');

CREATE FUNCTION audit_log_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: entries are never changed or removed';
END;
$$;

CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_refuse();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse();
