package store

import (
	"context"
	"fmt"
)

// DeviceReferencesPhoto reports whether an inspection pushed by the device,
// or authored by its user, names the photo.
func (s *Store) DeviceReferencesPhoto(ctx context.Context, deviceID, userID, sha string) (bool, error) {
	var n int
	err := s.db.R.QueryRowContext(ctx, `SELECT count(*) FROM inspection_photos p JOIN inspections i ON i.id = p.inspection_id
		WHERE p.sha256 = ? AND (p.device_id = ? OR i.author_id = ?)`, sha, deviceID, userID).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("store: photo references %s: %w", sha, err)
	}
	return n > 0, nil
}

// SquadsReferencingPhoto lists the squads whose inspections name the photo.
func (s *Store) SquadsReferencingPhoto(ctx context.Context, sha string) ([]int64, error) {
	rows, err := s.db.R.QueryContext(ctx, `SELECT DISTINCT squad_id FROM inspection_photos WHERE sha256 = ? ORDER BY squad_id`, sha)
	if err != nil {
		return nil, fmt.Errorf("store: photo squads %s: %w", sha, err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("store: photo squads %s: %w", sha, err)
		}
		out = append(out, id)
	}
	return out, rows.Err()
}
