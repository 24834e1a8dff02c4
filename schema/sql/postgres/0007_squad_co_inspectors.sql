-- Inspectors of another squad whom a squad's leader (or an admin) allowed
-- on the squad's records, as in sql/server/0007: the squad's devices
-- receive them as members (co_inspector), pushes accept them as
-- inspectors, and a withdrawn permission keeps its row (removed_at) so
-- that the withdrawal reaches the devices as a change of its own (seq).
CREATE TABLE squad_co_inspectors (
    squad_id   BIGINT NOT NULL REFERENCES squads (id),
    user_id    TEXT NOT NULL REFERENCES users (id),
    added_by   TEXT NOT NULL, -- username of the leader or admin
    added_at   TEXT NOT NULL,
    removed_at TEXT,          -- NULL while allowed
    seq        BIGINT NOT NULL,
    PRIMARY KEY (squad_id, user_id)
);
