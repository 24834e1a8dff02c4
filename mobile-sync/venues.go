package mobilesync

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/patrolhq/patrol/schema"
)

// NewVenue is a venue found in the field that the server does not know
// yet — typically an unlicensed ("black") café found on patrol.
type NewVenue struct {
	Name      string
	Kind      string
	Address   string
	LicenceNo string
	Phone     string
	Licensed  bool
	Lat       float64
	Lng       float64
}

const venueColumns = `id, squad_id, kind, name, address, licence_no, licensed, phone, open_state, lat, lng, clocks, local_only, updated_at, footprint, found_in_zone`

type scanner interface{ Scan(dest ...any) error }

func scanVenue(s scanner) (schema.Venue, bool, error) {
	var v schema.Venue
	var licensed, localOnly int
	var clocks, updated, footprint, zone string
	if err := s.Scan(&v.ID, &v.SquadID, &v.Kind, &v.Name, &v.Address, &v.LicenceNo, &licensed, &v.Phone,
		&v.OpenState, &v.Lat, &v.Lng, &clocks, &localOnly, &updated, &footprint, &zone); err != nil {
		return v, false, err
	}
	v.Licensed = licensed != 0
	if footprint != "" {
		if err := json.Unmarshal([]byte(footprint), &v.Footprint); err != nil {
			return v, false, fmt.Errorf("venue %s footprint: %w", v.ID, err)
		}
	}
	if zone != "" {
		v.FoundInZone = new(schema.ZoneHit)
		if err := json.Unmarshal([]byte(zone), v.FoundInZone); err != nil {
			return v, false, fmt.Errorf("venue %s zone: %w", v.ID, err)
		}
	}
	if clocks != "" && clocks != "{}" {
		if err := json.Unmarshal([]byte(clocks), &v.Clocks); err != nil {
			return v, false, fmt.Errorf("venue %s clocks: %w", v.ID, err)
		}
	}
	v.UpdatedAt, _ = schema.ParseTime(updated)
	return v, localOnly != 0, nil
}

// Venues lists the venues this device holds (its squad's, plus those it
// recorded itself), with its own unsent edits applied, by name.
func (d *Device) Venues(ctx context.Context) ([]schema.Venue, error) {
	rows, err := d.db.R.QueryContext(ctx, `SELECT `+venueColumns+` FROM venues ORDER BY name, id`)
	if err != nil {
		return nil, fmt.Errorf("mobilesync: venues: %w", err)
	}
	defer rows.Close()
	out := []schema.Venue{}
	for rows.Next() {
		v, _, err := scanVenue(rows)
		if err != nil {
			return nil, fmt.Errorf("mobilesync: venues: %w", err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("mobilesync: venues: %w", err)
	}
	return out, nil
}

// Venue returns one venue, or a *schema.Error with CodeNotFound.
func (d *Device) Venue(ctx context.Context, id string) (schema.Venue, error) {
	v, _, err := getVenue(ctx, d.db.R, id)
	if err != nil {
		return v, fmt.Errorf("mobilesync: venue %s: %w", id, err)
	}
	return v, nil
}

func getVenue(ctx context.Context, q queryer, id string) (schema.Venue, bool, error) {
	v, local, err := scanVenue(q.QueryRowContext(ctx, `SELECT `+venueColumns+` FROM venues WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return v, false, schema.Errorf(schema.CodeNotFound, "no venue %s on this device (run `patrol venues` to list them)", id)
	}
	return v, local, err
}

// AddVenue records a venue found in the field, in one local transaction
// with its venue.create mutation. It can be inspected at once, offline.
// When the position lies inside a school zone for the venue's kind, the
// returned venue (and the mutation) carry FoundInZone.
func (d *Device) AddVenue(ctx context.Context, nv NewVenue) (schema.Venue, error) {
	v := schema.Venue{
		ID: newID(), Kind: strings.TrimSpace(nv.Kind), Name: strings.TrimSpace(nv.Name),
		Address: strings.TrimSpace(nv.Address), LicenceNo: strings.TrimSpace(nv.LicenceNo),
		Licensed: nv.Licensed, Phone: strings.TrimSpace(nv.Phone), OpenState: schema.OpenStateOpen,
		Lat: nv.Lat, Lng: nv.Lng,
	}
	if err := schema.ValidateVenue(&v); err != nil {
		return schema.Venue{}, fmt.Errorf("mobilesync: add venue: %w", err)
	}
	// Measured offline before the write: the inspector is warned at the
	// door, and the bureau sees with the record that he was.
	zone, inZone, err := d.foundInZone(ctx, v.Lat, v.Lng, v.Kind)
	if err != nil {
		return schema.Venue{}, fmt.Errorf("mobilesync: add venue: %w", err)
	}
	if inZone {
		v.FoundInZone = &zone
	}
	err = d.db.WriteTx(ctx, func(tx *sql.Tx) error {
		id, err := enrolled(ctx, tx)
		if err != nil {
			return err
		}
		h, err := d.tick(ctx, tx)
		if err != nil {
			return err
		}
		v = v.Stamped(h.String())
		v.SquadID = id.SquadID
		v.CreatedBy = id.DeviceID
		v.UpdatedAt = h.Time()
		if err := upsertVenue(ctx, tx, &v, true); err != nil {
			return err
		}
		return enqueue(ctx, tx, schema.Mutation{ID: newID(), Kind: schema.MutVenueCreate, HLC: h.String(), Venue: &v}, v.ID, d.opts.Now())
	})
	if err != nil {
		return schema.Venue{}, fmt.Errorf("mobilesync: add venue: %w", err)
	}
	return v, nil
}

// EditVenue changes some fields of a venue (keys of schema.VenueFields) in
// one local transaction: the row shows the new values at once, the edit is
// remembered so that no pull overwrites it before the server has it, and a
// venue.update carries it up with the clock each field was based on, so
// the server can tell a concurrent edit from a sequential one.
func (d *Device) EditVenue(ctx context.Context, id string, fields map[string]string) error {
	u := schema.VenueUpdate{VenueID: id, Fields: map[string]schema.FieldEdit{}}
	for f, val := range fields {
		u.Fields[f] = schema.FieldEdit{Value: strings.TrimSpace(val)}
	}
	if err := schema.ValidateVenueUpdate(&u); err != nil {
		return fmt.Errorf("mobilesync: edit venue %s: %w", id, err)
	}
	err := d.db.WriteTx(ctx, func(tx *sql.Tx) error {
		if _, err := enrolled(ctx, tx); err != nil {
			return err
		}
		v, _, err := getVenue(ctx, tx, id)
		if err != nil {
			return err
		}
		h, err := d.tick(ctx, tx)
		if err != nil {
			return err
		}
		for _, f := range sortedKeys(u.Fields) {
			fe := u.Fields[f]
			// The stored base stays the server's clock as last pulled; the
			// mutation's base is what this device saw before this edit —
			// its own unsent edit when there is one — so that two edits in
			// a row from one device are sequential, not concurrent.
			base, sent := v.Clocks[f], v.Clocks[f]
			var prevBase, prevHLC string
			err := tx.QueryRowContext(ctx, `SELECT base, hlc FROM venue_edits WHERE venue_id = ? AND field = ?`, id, f).Scan(&prevBase, &prevHLC)
			switch {
			case err == nil:
				base, sent = prevBase, prevHLC
			case !errors.Is(err, sql.ErrNoRows):
				return fmt.Errorf("read edit: %w", err)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO venue_edits (venue_id, field, value, hlc, base) VALUES (?, ?, ?, ?, ?)
				ON CONFLICT (venue_id, field) DO UPDATE SET value = excluded.value, hlc = excluded.hlc`,
				id, f, fe.Value, h.String(), base); err != nil {
				return fmt.Errorf("record edit: %w", err)
			}
			if err := setVenueField(ctx, tx, id, f, fe.Value); err != nil {
				return err
			}
			u.Fields[f] = schema.FieldEdit{Value: fe.Value, Base: sent}
		}
		return enqueue(ctx, tx, schema.Mutation{ID: newID(), Kind: schema.MutVenueUpdate, HLC: h.String(), VenueUpdate: &u}, id, d.opts.Now())
	})
	if err != nil {
		return fmt.Errorf("mobilesync: edit venue %s: %w", id, err)
	}
	return nil
}

// upsertVenueSQL writes a venue row as given (server values or a new local one).
// The zone a venue was found in is this device's record of its own
// warning: a server that does not echo it does not erase it.
const upsertVenueSQL = `INSERT INTO venues (` + venueColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
	ON CONFLICT (id) DO UPDATE SET squad_id = excluded.squad_id, kind = excluded.kind, name = excluded.name,
		address = excluded.address, licence_no = excluded.licence_no, licensed = excluded.licensed,
		phone = excluded.phone, open_state = excluded.open_state, lat = excluded.lat, lng = excluded.lng,
		clocks = excluded.clocks, local_only = excluded.local_only, updated_at = excluded.updated_at,
		footprint = excluded.footprint,
		found_in_zone = CASE WHEN excluded.found_in_zone <> '' THEN excluded.found_in_zone ELSE venues.found_in_zone END`

// venueArgs are the arguments of upsertVenueSQL for v.
func venueArgs(v *schema.Venue, localOnly bool) ([]any, error) {
	clocks := []byte("{}")
	if v.Clocks != nil {
		var err error
		if clocks, err = json.Marshal(v.Clocks); err != nil {
			return nil, err
		}
	}
	openState := v.OpenState
	if openState == "" {
		openState = schema.OpenStateUnknown
	}
	var footprint, zone string
	if len(v.Footprint) > 0 {
		b, err := json.Marshal(v.Footprint)
		if err != nil {
			return nil, err
		}
		footprint = string(b)
	}
	if v.FoundInZone != nil {
		b, err := json.Marshal(v.FoundInZone)
		if err != nil {
			return nil, err
		}
		zone = string(b)
	}
	return []any{v.ID, v.SquadID, v.Kind, v.Name, v.Address, v.LicenceNo, boolInt(v.Licensed), v.Phone, openState,
		v.Lat, v.Lng, string(clocks), boolInt(localOnly), schema.FormatTime(v.UpdatedAt), footprint, zone}, nil
}

// upsertVenue writes a venue row as given (server values or a new local one).
func upsertVenue(ctx context.Context, tx *sql.Tx, v *schema.Venue, localOnly bool) error {
	args, err := venueArgs(v, localOnly)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, upsertVenueSQL, args...); err != nil {
		return fmt.Errorf("upsert venue %s: %w", v.ID, err)
	}
	return nil
}

// setVenueField writes one mergeable field into the venue row.
func setVenueField(ctx context.Context, tx *sql.Tx, id, field, value string) error {
	var arg any = value
	switch field {
	case schema.FieldName, schema.FieldAddress, schema.FieldLicenceNo, schema.FieldPhone, schema.FieldOpenState:
	case schema.FieldLicensed:
		arg = boolInt(value == "true")
	default:
		return schema.Errorf(schema.CodeInvalid, "venue field %q cannot be edited", field)
	}
	// field is one of the constants above, never user text.
	if _, err := tx.ExecContext(ctx, `UPDATE venues SET `+field+` = ? WHERE id = ?`, arg, id); err != nil {
		return fmt.Errorf("update venue %s %s: %w", id, field, err)
	}
	return nil
}

// rebaseVenue re-applies this device's unsent edits of a venue on top of
// the row just written from the server: a pull never overwrites a field
// changed here and not yet acknowledged.
func rebaseVenue(ctx context.Context, tx *sql.Tx, id string) error {
	rows, err := tx.QueryContext(ctx, `SELECT field, value FROM venue_edits WHERE venue_id = ?`, id)
	if err != nil {
		return fmt.Errorf("read edits of %s: %w", id, err)
	}
	type edit struct{ field, value string }
	var edits []edit
	for rows.Next() {
		var e edit
		if err := rows.Scan(&e.field, &e.value); err != nil {
			rows.Close()
			return err
		}
		edits = append(edits, e)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, e := range edits {
		if err := setVenueField(ctx, tx, id, e.field, e.value); err != nil {
			return err
		}
	}
	return nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
