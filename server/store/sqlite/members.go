package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/patrolhq/patrol/schema"
)

// The members of a squad are its active users and the inspectors of other
// squads its leader allowed on its records (squad_co_inspectors). Devices
// pull them (pull.go) and pushes check inspections against them
// (schema.CheckInspectors), from the same rows.

// rosterQuery lists the members of a squad (the argument, three times)
// with their user ids: the squad's active users of every role, then its
// active co-inspectors.
const rosterQuery = `SELECT id, username, display_name, badge_no, role, coalesce(squad_id, 0), 0 FROM users
		WHERE squad_id = ? AND disabled = 0
	UNION ALL
	SELECT u.id, u.username, u.display_name, u.badge_no, u.role, coalesce(u.squad_id, 0), 1
		FROM squad_co_inspectors c JOIN users u ON u.id = c.user_id
		WHERE c.squad_id = ? AND c.removed_at IS NULL AND u.disabled = 0 AND u.role = 'inspector'
		  AND (u.squad_id IS NULL OR u.squad_id <> ?)`

// squadRoster returns the members of squad and the username of the user
// userID among them ("" if not a member), in one query: what a push
// judges the inspectors of its records by.
func squadRoster(ctx context.Context, q queryer, squad int64, userID string) ([]schema.Member, string, error) {
	rows, err := q.QueryContext(ctx, rosterQuery, squad, squad, squad)
	if err != nil {
		return nil, "", fmt.Errorf("members of squad %d: %w", squad, err)
	}
	defer rows.Close()
	var out []schema.Member
	username := ""
	for rows.Next() {
		var id string
		var m schema.Member
		if err := rows.Scan(&id, &m.Username, &m.Name, &m.BadgeNo, &m.Role, &m.SquadID, &m.CoInspector); err != nil {
			return nil, "", fmt.Errorf("members of squad %d: %w", squad, err)
		}
		if id == userID && !m.CoInspector {
			username = m.Username
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("members of squad %d: %w", squad, err)
	}
	return out, username, nil
}

// AddCoInspector allows an active inspector of another squad (or of none)
// on the records of squad; a scope that does not cover the squad is
// forbidden. Allowing one allowed already writes nothing.
func (s *Store) AddCoInspector(ctx context.Context, squadID int64, username, by string, scope schema.Scope) (schema.Member, error) {
	if !scope.Covers(squadID) {
		return schema.Member{}, coInspectorScope(squadID)
	}
	var out schema.Member
	err := s.writeTx(ctx, func(w *writer) error {
		if err := w.squadExists(ctx, squadID); err != nil {
			return err
		}
		id, m, err := w.activeUser(ctx, username)
		if err != nil {
			return err
		}
		if err := schema.CheckCoInspector(m, squadID); err != nil {
			return err
		}
		m.CoInspector = true
		out = m
		var removed sql.NullString
		err = w.tx.QueryRowContext(ctx, `SELECT removed_at FROM squad_co_inspectors WHERE squad_id = ? AND user_id = ?`, squadID, id).Scan(&removed)
		switch {
		case err == nil && !removed.Valid:
			return nil // allowed already
		case err != nil && !errors.Is(err, sql.ErrNoRows):
			return err
		}
		seq, err := w.seq.nextSeq(ctx)
		if err != nil {
			return err
		}
		_, err = w.exec(ctx, `INSERT INTO squad_co_inspectors (squad_id, user_id, added_by, added_at, removed_at, seq) VALUES (?, ?, ?, ?, NULL, ?)
			ON CONFLICT (squad_id, user_id) DO UPDATE SET added_by = excluded.added_by, added_at = excluded.added_at, removed_at = NULL,
				seq = excluded.seq`, squadID, id, by, w.nowText(), seq)
		if err != nil {
			return err
		}
		return w.audit(ctx, schema.AuditUser, id, &squadID, "co_inspector_add", "", fmt.Sprintf("co-inspector of squad %d", squadID),
			username+" allowed by "+by)
	})
	if err != nil {
		return schema.Member{}, fmt.Errorf("store: add co-inspector %s to squad %d: %w", username, squadID, err)
	}
	return out, nil
}

// RemoveCoInspector withdraws a co-inspector's permission with a new seq,
// so that the squad's devices drop the member; one not allowed is not
// found.
func (s *Store) RemoveCoInspector(ctx context.Context, squadID int64, username string, scope schema.Scope) error {
	if !scope.Covers(squadID) {
		return coInspectorScope(squadID)
	}
	err := s.writeTx(ctx, func(w *writer) error {
		seq, err := w.seq.nextSeq(ctx)
		if err != nil {
			return err
		}
		res, err := w.exec(ctx, `UPDATE squad_co_inspectors SET removed_at = ?, seq = ?
			WHERE squad_id = ? AND removed_at IS NULL AND user_id = (SELECT id FROM users WHERE username = ?)`, w.nowText(), seq, squadID, username)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return schema.Errorf(schema.CodeNotFound, "%s is not a co-inspector of squad %d", username, squadID)
		}
		var id string
		if err := w.tx.QueryRowContext(ctx, `SELECT id FROM users WHERE username = ?`, username).Scan(&id); err != nil {
			return err
		}
		return w.audit(ctx, schema.AuditUser, id, &squadID, "co_inspector_remove", fmt.Sprintf("co-inspector of squad %d", squadID), "",
			username+" no longer allowed")
	})
	if err != nil {
		return fmt.Errorf("store: remove co-inspector %s from squad %d: %w", username, squadID, err)
	}
	return nil
}

func coInspectorScope(squadID int64) error {
	return schema.Errorf(schema.CodeForbidden, "only the leader of squad %d or an admin may change its co-inspectors", squadID)
}

// activeUser returns the id and member record of an active user.
func (w *writer) activeUser(ctx context.Context, username string) (string, schema.Member, error) {
	var id string
	var m schema.Member
	var disabled int
	err := w.tx.QueryRowContext(ctx, `SELECT id, username, display_name, badge_no, role, coalesce(squad_id, 0), disabled FROM users WHERE username = ?`,
		username).Scan(&id, &m.Username, &m.Name, &m.BadgeNo, &m.Role, &m.SquadID, &disabled)
	if errors.Is(err, sql.ErrNoRows) || disabled != 0 {
		return "", schema.Member{}, schema.Errorf(schema.CodeNotFound, "no active user %s", username)
	}
	if err != nil {
		return "", schema.Member{}, err
	}
	return id, m, nil
}
