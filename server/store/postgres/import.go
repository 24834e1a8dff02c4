package postgres

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/schema/geo"
	"github.com/patrolhq/patrol/server/store"
)

// Import writes a whole data set into a store without users, in one
// transaction, giving every row a change seq like any other write so that
// devices pull it like any other data.
func (s *Store) Import(ctx context.Context, d store.Dataset) error {
	err := s.writeTx(ctx, func(w *writer) error {
		var users int
		if err := w.tx.QueryRow(ctx, `SELECT count(*) FROM users`).Scan(&users); err != nil {
			return err
		}
		if users > 0 {
			return schema.Errorf(schema.CodeConflict, "the store already holds %d users; import needs an empty one", users)
		}
		for _, sq := range d.Squads {
			b := sq.Bounds
			if _, err := w.tx.Exec(ctx, `INSERT INTO squads (id, name, min_lat, min_lng, max_lat, max_lng, scope_version) VALUES ($1, $2, $3, $4, $5, $6, 1)`,
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
				if _, err := w.tx.Exec(ctx, `UPDATE venues SET created_at = $1, updated_at = $1 WHERE id = $2`, ts, v.ID); err != nil {
					return err
				}
				if _, err := w.tx.Exec(ctx, `UPDATE venue_squad_history SET from_at = $1 WHERE venue_id = $2`, ts, v.ID); err != nil {
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
	// Autovacuum analyzes the tables later; the first pages after a bulk
	// load would be planned for the empty store.
	if _, err := s.pool.Exec(ctx, `ANALYZE`); err != nil {
		return fmt.Errorf("store: import: analyze: %w", err)
	}
	return nil
}

// insertSchool writes a school with the bounding box of its campus (its
// ring when it has no geometry), which the pull's zone query reads.
func (w *writer) insertSchool(ctx context.Context, sc *schema.School) error {
	poly, geom, box, err := schoolColumns(sc)
	if err != nil {
		return err
	}
	if _, err := w.tx.Exec(ctx, `INSERT INTO schools (id, name, kind, address, polygon, min_lat, min_lng, max_lat, max_lng, seq, geometry, external_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`, sc.ID, sc.Name, sc.Kind, sc.Address, poly,
		box[0], box[1], box[2], box[3], w.nextSeq(), geom, nullText(sc.ExternalID)); err != nil {
		return fmt.Errorf("school %s: %w", sc.ID, err)
	}
	return nil
}

// schoolColumns are the stored forms of a school's shape: the ring, the
// campus (NULL without one) and the box of the campus.
func schoolColumns(sc *schema.School) (poly string, geom *string, box [4]float64, err error) {
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
	gs := string(g)
	return string(b), &gs, store.AreaBounds(sc.Geometry), nil
}

// footprintJSON is a venue footprint as stored: NULL without one.
func footprintJSON(f geo.Polygon) *string {
	if len(f) == 0 {
		return nil
	}
	b, err := json.Marshal(f)
	if err != nil {
		return nil
	}
	s := string(b)
	return &s
}

// nullText is an optional text column: NULL for "".
func nullText(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// decodeSchool fills a school's shape and external id from their columns.
func decodeSchool(sc *schema.School, poly string, geom, external *string) error {
	if external != nil {
		sc.ExternalID = *external
	}
	if err := json.Unmarshal([]byte(poly), &sc.Polygon); err != nil {
		return fmt.Errorf("school %s polygon: %w", sc.ID, err)
	}
	if geom != nil && *geom != "" {
		if err := json.Unmarshal([]byte(*geom), &sc.Geometry); err != nil {
			return fmt.Errorf("school %s geometry: %w", sc.ID, err)
		}
	}
	return nil
}

// importInspections writes past inspections as received at their
// ReceivedAt (the transaction's time when zero), through the same rows as
// a push, then the reviews of those that have one.
func (w *writer) importInspections(ctx context.Context, list []store.ImportedInspection, checklists schema.ChecklistLookup) error {
	var q inspectionQueues
	reviews := &pgx.Batch{}
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
		r.Seq = w.nextSeq()
		at := w.nowText()
		if !in.ReceivedAt.IsZero() {
			at = schema.FormatTime(in.ReceivedAt)
		}
		cl, _ := checklists(r.ChecklistVersion)
		q.add(r, cl, at)
		if r.Review != nil {
			body, err := json.Marshal(r.Review)
			if err != nil {
				return err
			}
			reviews.Queue(`UPDATE inspections SET review = $1 WHERE id = $2`, string(body), r.ID)
			reviews.Queue(`UPDATE inspection_versions SET review = $1 WHERE inspection_id = $2 AND version = $3`,
				string(body), r.ID, int32(max(r.Version, 1)))
		}
		// Earlier versions, as they were received.
		for _, v := range in.Versions {
			vr := &inspectionRow{Inspection: v}
			if vr.ID == "" {
				vr.ID = in.ID
			}
			if vr.DeviceID == "" {
				vr.DeviceID = in.DeviceID
			}
			reviews.Queue(versionInsert, versionValues(vr, at)...)
		}
	}
	if err := writeQueued(ctx, w.tx, q.tables()); err != nil {
		return err
	}
	return w.tx.SendBatch(ctx, reviews).Close()
}

// importFindings writes ledger rows as they come, each with a seq.
func (w *writer) importFindings(ctx context.Context, list []schema.Finding) error {
	for i := range list {
		if err := w.writeFinding(ctx, &list[i]); err != nil {
			return err
		}
	}
	for year, n := range store.OrderNumbersUsed(list) {
		if _, err := w.tx.Exec(ctx, `INSERT INTO order_numbers (year, last_n) VALUES ($1, $2)
			ON CONFLICT (year) DO UPDATE SET last_n = GREATEST(order_numbers.last_n, excluded.last_n)`, int32(year), int32(n)); err != nil {
			return fmt.Errorf("order numbers of %d: %w", year, err)
		}
	}
	return nil
}
