-- migrate: foreign_keys off
-- Bureau staff who take complaints in (the office, 办公室/受理员) are users
-- of their own role: neither leaders nor inspectors. SQLite cannot alter a
-- CHECK constraint, so users is rebuilt the documented way (foreign keys
-- off outside the transaction, copy, drop, rename, indexes again; Migrate
-- runs PRAGMA foreign_key_check before it commits). Devices, tokens and
-- every other table that names users keep their references: they name the
-- table, which has the same name and rows afterwards.
CREATE TABLE users_0025 (
    id            TEXT PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    display_name  TEXT NOT NULL,
    badge_no      TEXT NOT NULL DEFAULT '',
    role          TEXT NOT NULL CHECK (role IN ('admin', 'leader', 'inspector', 'office')),
    squad_id      INTEGER REFERENCES squads (id),
    password_hash TEXT NOT NULL,
    disabled      INTEGER NOT NULL DEFAULT 0,
    created_at    TEXT NOT NULL,
    seq           INTEGER NOT NULL DEFAULT 0
);
INSERT INTO users_0025 (id, username, display_name, badge_no, role, squad_id, password_hash, disabled, created_at, seq)
    SELECT id, username, display_name, badge_no, role, squad_id, password_hash, disabled, created_at, seq FROM users;
DROP TABLE users;
ALTER TABLE users_0025 RENAME TO users;
CREATE INDEX users_squad_seq ON users (squad_id, seq);
