-- audit_log: every state change (who, when, from which address, on what,
-- from what state to what, why), appended in the transaction of the change
-- and chained by hash (schema.AuditHash): hash covers every other column
-- and prev_hash, the hash of the entry of seq - 1 ('' for seq 1). Seqs
-- have no gaps: the one writer reads the last row in its transaction and
-- appends seq + 1. The triggers refuse every UPDATE and DELETE, so the log
-- only grows; whoever goes around them breaks the chain (patrold audit
-- verify names the entry).
CREATE TABLE audit_log (
    seq         INTEGER PRIMARY KEY,
    at          TEXT NOT NULL,
    actor       TEXT NOT NULL,
    address     TEXT NOT NULL DEFAULT '',
    entity_kind TEXT NOT NULL,
    entity_id   TEXT NOT NULL,
    squad_id    INTEGER,
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

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only: entries are never updated');
END;

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only: entries are never deleted');
END;
