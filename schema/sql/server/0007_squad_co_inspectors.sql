-- Inspectors of another squad whom a squad's leader (or an admin) allowed
-- to be named on the squad's records, as the second officer on site when
-- the squad is short of its own. The squad's devices receive them as
-- members (co_inspector), and pushes accept them as inspectors; a row
-- stays when the permission is withdrawn (removed_at), so that its
-- withdrawal reaches the devices as a change of its own (seq).
CREATE TABLE squad_co_inspectors (
    squad_id   INTEGER NOT NULL REFERENCES squads (id),
    user_id    TEXT NOT NULL REFERENCES users (id),
    added_by   TEXT NOT NULL, -- username of the leader or admin
    added_at   TEXT NOT NULL,
    removed_at TEXT,          -- NULL while allowed
    seq        INTEGER NOT NULL,
    PRIMARY KEY (squad_id, user_id)
) WITHOUT ROWID;
