package schema

import "time"

// Scope is the squads whose work an actor may read and decide on: one
// squad for a squad leader, every squad for an admin, none otherwise. It is
// data, so that a store applies it inside its own transaction without
// calling back into the HTTP layer.
type Scope struct {
	All   bool  // every squad (admins)
	Squad int64 // the one squad, when !All and Valid
	Valid bool  // false: no squad at all
}

// AllSquads is the scope of a bureau admin.
func AllSquads() Scope { return Scope{All: true, Valid: true} }

// SquadScope is the scope of a leader of squad id.
func SquadScope(id int64) Scope { return Scope{Squad: id, Valid: true} }

// Covers reports whether the scope includes squad id.
func (s Scope) Covers(id int64) bool {
	return s.Valid && (s.All || s.Squad == id)
}

// SupervisionScope is what a user of the given role and squad may
// supervise from the leader pages: an admin every squad, a leader their
// own, anyone else (an inspector, a device) nothing.
func SupervisionScope(role string, squad *int64, device bool) Scope {
	switch {
	case device:
		return Scope{}
	case role == RoleAdmin:
		return AllSquads()
	case role == RoleLeader && squad != nil:
		return SquadScope(*squad)
	}
	return Scope{}
}

// VenueSquad is what the server knows of the squad of a venue a pushed
// inspection names.
type VenueSquad struct {
	Known  bool      // the server has the venue
	Squad  int64     // the squad it belongs to now
	LeftAt time.Time // when it last left the pushing squad; zero if it never did
}

// TakesInspectionFrom reports whether a device of squad may deliver at now
// an inspection of the venue that started at started: the venue is the
// squad's, or the inspection is work done before the move — started no
// later than the venue left the squad, and delivered at most
// ReassignmentGrace after it left. An inspection the old squad started
// after the move is not its work: the venue was no longer its to inspect.
func (v VenueSquad) TakesInspectionFrom(squad int64, started, now time.Time) bool {
	if !v.Known {
		return false
	}
	if v.Squad == squad {
		return true
	}
	return !v.LeftAt.IsZero() && !started.After(v.LeftAt) && !v.LeftAt.Before(now.Add(-ReassignmentGrace))
}

// VenueSeenBy is the venue as squad saw it, for showing beside that
// squad's inspections: the current record while the venue is the squad's;
// once it moved away, left, the venue as it was when it last left the
// squad, so that the squad's leaders never read what the new squad has
// written since. Without such a copy (a move recorded before copies were
// kept) only what never changes is shown: id, kind and position.
func VenueSeenBy(squad int64, current Venue, left *Venue) Venue {
	if current.SquadID == squad {
		return current
	}
	if left != nil {
		v := *left
		v.ID, v.SquadID = current.ID, squad
		return v
	}
	return Venue{ID: current.ID, SquadID: squad, Kind: current.Kind, Lat: current.Lat, Lng: current.Lng, CreatedBy: current.CreatedBy}
}
