package sqlite

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/schema/geo"
	"github.com/patrolhq/patrol/server/auth"
	"github.com/patrolhq/patrol/server/store"
)

// Import writes a whole data set into a store without users, in one
// transaction, giving every row a change seq like any other write so that
// devices pull it like any other data.
func (s *Store) Import(ctx context.Context, d store.Dataset) error {
	err := s.writeTx(ctx, func(w *writer) error {
		var users int
		if err := w.tx.QueryRowContext(ctx, `SELECT count(*) FROM users`).Scan(&users); err != nil {
			return err
		}
		if users > 0 {
			return schema.Errorf(schema.CodeConflict, "the store already holds %d users; import needs an empty one", users)
		}
		for _, sq := range d.Squads {
			b := sq.Bounds
			if _, err := w.exec(ctx, `INSERT INTO squads (id, name, min_lat, min_lng, max_lat, max_lng, scope_version) VALUES (?, ?, ?, ?, ?, ?, 1)`,
				sq.ID, sq.Name, b[0], b[1], b[2], b[3]); err != nil {
				return fmt.Errorf("squad %d: %w", sq.ID, err)
			}
		}
		for _, u := range d.Users {
			if err := w.insertUser(ctx, u); err != nil {
				return err
			}
		}
		for i := range d.Venues {
			v := &venueRow{Venue: d.Venues[i]}
			if v.OpenState == "" {
				v.OpenState = schema.OpenStateOpen
			}
			if err := w.insertVenue(ctx, v); err != nil {
				return err
			}
			// A venue brought with its past was under watch since its own
			// time, not since the import: rollups of past days count it.
			if at := d.Venues[i].UpdatedAt; !at.IsZero() && at.Before(w.now) {
				ts := schema.FormatTime(at)
				if _, err := w.exec(ctx, `UPDATE venues SET created_at = ?, updated_at = ? WHERE id = ?`, ts, ts, v.ID); err != nil {
					return err
				}
				if _, err := w.exec(ctx, `UPDATE venue_squad_history SET from_at = ? WHERE venue_id = ?`, ts, v.ID); err != nil {
					return err
				}
			}
		}
		for i := range d.Schools {
			if err := w.insertSchool(ctx, &d.Schools[i]); err != nil {
				return err
			}
		}
		if len(d.Schools) > 0 || len(d.Venues) > 0 {
			if err := w.evaluateZones(ctx, "", d.Venues...); err != nil {
				return err
			}
		}
		checklists, err := s.checklistSet(ctx, w.tx)
		if err != nil {
			return err
		}
		if err := w.importInspections(ctx, d.Inspections, checklists); err != nil {
			return err
		}
		if err := w.importFindings(ctx, d.Findings); err != nil {
			return err
		}
		return importCases(ctx, txn{s, w}, d.Cases)
	})
	if err != nil {
		return fmt.Errorf("store: import: %w", err)
	}
	// The planner's statistics still describe the empty store.
	if err := s.db.Optimize(ctx); err != nil {
		return fmt.Errorf("store: import: %w", err)
	}
	return nil
}

// insertUser writes a user with a seq, so that the squad's devices receive
// the member row.
func (w *writer) insertUser(ctx context.Context, u store.User) error {
	u.Username = auth.CanonicalUsername(u.Username)
	if u.SquadID != nil {
		if err := w.squadExists(ctx, *u.SquadID); err != nil {
			return err
		}
	}
	seq, err := w.seq.nextSeq(ctx)
	if err != nil {
		return err
	}
	_, err = w.exec(ctx, `INSERT INTO users (id, username, display_name, badge_no, role, squad_id, password_hash, disabled, created_at, seq)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, u.ID, u.Username, u.DisplayName, u.BadgeNo, u.Role, u.SquadID, u.PasswordHash,
		boolInt(u.Disabled), w.nowText(), seq)
	if schema.IsConstraint(err) {
		return schema.Errorf(schema.CodeConflict, "username %s is taken", u.Username)
	}
	if err != nil {
		return fmt.Errorf("user %s: %w", u.Username, err)
	}
	return nil
}

// insertSchool writes a school with the bounding box of its campus (its
// ring when it has no geometry), which the pull's zone query reads.
func (w *writer) insertSchool(ctx context.Context, sc *schema.School) error {
	seq, err := w.seq.nextSeq(ctx)
	if err != nil {
		return err
	}
	poly, geom, box, err := schoolColumns(sc)
	if err != nil {
		return err
	}
	if _, err := w.exec(ctx, `INSERT INTO schools (id, name, kind, address, polygon, min_lat, min_lng, max_lat, max_lng, seq, geometry, external_id)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, sc.ID, sc.Name, sc.Kind, sc.Address, poly, box[0], box[1], box[2], box[3], seq,
		geom, nullString(sc.ExternalID)); err != nil {
		return fmt.Errorf("school %s: %w", sc.ID, err)
	}
	return nil
}

// schoolColumns are the stored forms of a school's shape: the ring, the
// campus (NULL without one) and the box of the campus.
func schoolColumns(sc *schema.School) (poly string, geom any, box [4]float64, err error) {
	b, err := json.Marshal(sc.Polygon)
	if err != nil {
		return "", nil, box, err
	}
	box = schema.PolygonBounds(sc.Polygon)
	if len(sc.Geometry) == 0 {
		return string(b), nil, box, nil
	}
	g, err := json.Marshal(sc.Geometry)
	if err != nil {
		return "", nil, box, err
	}
	return string(b), string(g), store.AreaBounds(sc.Geometry), nil
}

// footprintJSON is a venue footprint as stored: NULL without one.
func footprintJSON(f geo.Polygon) any {
	if len(f) == 0 {
		return nil
	}
	b, err := json.Marshal(f)
	if err != nil {
		return nil
	}
	return string(b)
}

// importInspections writes past inspections as received at their
// ReceivedAt (the transaction's time when zero), through the same rows and
// queues as a push, then the reviews of those that have one.
func (w *writer) importInspections(ctx context.Context, list []store.ImportedInspection, checklists schema.ChecklistLookup) error {
	q := newInspectionQueues()
	for i := range list {
		in := &list[i]
		// Imported records are trusted as they come: their claims are proven.
		r := &inspectionRow{Inspection: in.Inspection, AuthorID: in.AuthorID, Claims: map[string]string{}}
		for _, it := range in.Items {
			for _, p := range it.Photos {
				r.Claims[p.SHA256] = schema.ClaimProven
			}
		}
		for _, p := range schema.RecordSignatures(&in.Inspection) {
			r.Claims[p.SHA256] = schema.ClaimProven
		}
		seq, err := w.seq.nextSeq(ctx)
		if err != nil {
			return err
		}
		r.Seq = seq
		at := w.nowText()
		if !in.ReceivedAt.IsZero() {
			at = schema.FormatTime(in.ReceivedAt)
		}
		cl, _ := checklists(r.ChecklistVersion)
		if q.add(r, cl, at) {
			if err := q.flush(ctx, w); err != nil {
				return err
			}
		}
	}
	if err := q.flush(ctx, w); err != nil {
		return err
	}
	for i := range list {
		in := &list[i]
		if in.Review == nil {
			continue
		}
		b, err := json.Marshal(in.Review)
		if err != nil {
			return err
		}
		if _, err := w.exec(ctx, `UPDATE inspections SET review = ? WHERE id = ?`, string(b), in.ID); err != nil {
			return fmt.Errorf("review of inspection %s: %w", in.ID, err)
		}
		if _, err := w.exec(ctx, `UPDATE inspection_versions SET review = ? WHERE inspection_id = ? AND version = ?`,
			string(b), in.ID, max(in.Version, 1)); err != nil {
			return fmt.Errorf("review of inspection %s: %w", in.ID, err)
		}
	}
	// Earlier versions, as they were received.
	for i := range list {
		in := &list[i]
		for _, v := range in.Versions {
			r := &inspectionRow{Inspection: v}
			if r.ID == "" {
				r.ID = in.ID
			}
			if r.DeviceID == "" {
				r.DeviceID = in.DeviceID
			}
			at := schema.FormatTime(in.ReceivedAt)
			if _, err := w.exec(ctx, versionInsertHead+versionInsertRow, appendVersionValues(nil, r, at)...); err != nil {
				return fmt.Errorf("version %d of inspection %s: %w", v.Version, in.ID, err)
			}
		}
	}
	return nil
}

// importFindings writes ledger rows as they come, each with a seq.
func (w *writer) importFindings(ctx context.Context, list []schema.Finding) error {
	for i := range list {
		if err := w.writeFinding(ctx, &list[i]); err != nil {
			return err
		}
	}
	for year, n := range store.OrderNumbersUsed(list) {
		if _, err := w.exec(ctx, `INSERT INTO order_numbers (year, last_n) VALUES (?, ?)
			ON CONFLICT (year) DO UPDATE SET last_n = max(last_n, excluded.last_n)`, year, n); err != nil {
			return fmt.Errorf("order numbers of %d: %w", year, err)
		}
	}
	return nil
}

// squadExists answers invalid for a squad the store does not hold, so that
// a foreign-key failure is never mistaken for another constraint.
func (w *writer) squadExists(ctx context.Context, id int64) error {
	var n int
	if err := w.tx.QueryRowContext(ctx, `SELECT count(*) FROM squads WHERE id = ?`, id).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		return schema.Errorf(schema.CodeInvalid, "squad %d does not exist", id)
	}
	return nil
}
