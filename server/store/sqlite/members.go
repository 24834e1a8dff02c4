package sqlite

import (
	"context"
	"fmt"

	"github.com/patrolhq/patrol/schema"
)

// The members of a squad are its active users. Devices pull them
// (pull.go) and pushes check inspections against them
// (schema.CheckInspectors), from the same rows.

// rosterQuery lists the members of a squad with their user ids: the
// squad's active users of every role, as its devices pull them.
const rosterQuery = `SELECT id, username, display_name, badge_no, role, coalesce(squad_id, 0) FROM users
		WHERE squad_id = ? AND disabled = 0`

// squadRoster returns the members of squad and the username of the user
// userID among them ("" if not a member), in one query: what a push
// judges the inspectors of its records by.
func squadRoster(ctx context.Context, q queryer, squad int64, userID string) ([]schema.Member, string, error) {
	rows, err := q.QueryContext(ctx, rosterQuery, squad)
	if err != nil {
		return nil, "", fmt.Errorf("members of squad %d: %w", squad, err)
	}
	defer rows.Close()
	var out []schema.Member
	username := ""
	for rows.Next() {
		var id string
		var m schema.Member
		if err := rows.Scan(&id, &m.Username, &m.Name, &m.BadgeNo, &m.Role, &m.SquadID); err != nil {
			return nil, "", fmt.Errorf("members of squad %d: %w", squad, err)
		}
		if id == userID {
			username = m.Username
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("members of squad %d: %w", squad, err)
	}
	return out, username, nil
}
