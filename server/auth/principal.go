package auth

import "github.com/patrolhq/patrol/schema"

// ContextKey is the echo context key under which the HTTP layer stores the
// *Principal of an authenticated request, so that route packages mounted
// beside the core (photos) read the same identity.
const ContextKey = "patrol.principal"

// Principal is who is calling: a user session or a device acting for its
// user. Every authorization decision is made on it.
type Principal struct {
	UserID      string
	Username    string
	DisplayName string
	Role        string
	SquadID     *int64 // nil for admins without a squad
	DeviceID    string // set for device tokens
	TokenHash   string
}

// IsDevice reports whether the caller authenticated with a device token.
func (p *Principal) IsDevice() bool { return p.DeviceID != "" }

// IsAdmin reports whether the caller is a bureau admin (sees all squads).
func (p *Principal) IsAdmin() bool { return p.Role == schema.RoleAdmin }

// InSquad reports whether the caller belongs to squad id.
func (p *Principal) InSquad(id int64) bool { return p.SquadID != nil && *p.SquadID == id }

// Scope is what the caller may supervise from the leader pages (the rule
// is schema.SupervisionScope): an admin every squad, a leader their own, on
// a user session only (device tokens are for sync).
func (p *Principal) Scope() schema.Scope {
	return schema.SupervisionScope(p.Role, p.SquadID, p.IsDevice())
}

// CanSupervise reports whether the caller may read and review squad id's
// work from the leader pages.
func (p *Principal) CanSupervise(id int64) bool { return p.Scope().Covers(id) }
