package sqlite

import "github.com/patrolhq/patrol/server/store"

// The adapter speaks the types of package store; these aliases keep its
// code as short as when they lived here.
type (
	User             = store.User
	EnrolledDevice   = store.EnrolledDevice
	ClockSample      = store.ClockSample
	PushInput        = store.PushInput
	MutationStream   = store.MutationStream
	PullInput        = store.PullInput
	PullPage         = store.PullPage
	InspectionFilter = store.InspectionFilter
	ConflictFilter   = store.ConflictFilter
	VenueFilter      = store.VenueFilter
	Actor            = store.Actor
)

// Page sizes of a pull, as the contract fixes them.
const (
	DefaultPullLimit = store.DefaultPullLimit
	MaxPullLimit     = store.MaxPullLimit
)

var _ store.Store = (*Store)(nil)
