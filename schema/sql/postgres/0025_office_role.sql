-- Bureau staff who take complaints in (the office, 办公室/受理员) are users
-- of their own role: neither leaders nor inspectors.
ALTER TABLE users DROP CONSTRAINT users_role_check;
ALTER TABLE users ADD CONSTRAINT users_role_check CHECK (role IN ('admin', 'leader', 'inspector', 'office'));
