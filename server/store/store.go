// Package store is the server's persistence as the server sees it: the
// interfaces its handlers, photo routes, demo seed and gauges depend on,
// and the plain types that cross them. It holds no SQL. Every statement
// lives in an adapter (store/sqlite, the embedded default), and every
// adapter passes the same contract suite (store/storetest), so that the
// server cannot tell which one it runs on.
//
// Rules are not decided here either: who may see what, how venue fields
// merge and which inspections are flagged are functions of package schema,
// which adapters call with the rows they hold.
package store

import (
	"context"
	"time"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/auth"
)

// Store is everything patrold persists. An implementation is safe for
// concurrent use; every method that writes commits durably before it
// returns, and every lookup of a missing (or invisible) object returns a
// *schema.Error with code not_found, never a zero value and a nil error.
type Store interface {
	Accounts
	Sync
	Supervision
	Ledger
	Squads
	Venues
	Photos
	Attempts
	Operations
	Audit
	Zones
	Imports
	Discoveries
	Rollups
	Plans
	Complaints
	Cases
	// Clock is the server's hybrid logical clock (node "server"). It lives
	// with the store because every write that merges venue fields stamps
	// with it inside the store's transaction.
	Clock() *schema.Clock
	// Close releases the store; nothing may be called after it.
	Close() error
}

// Accounts are users, their sessions, devices and enrollment codes.
type Accounts interface {
	// UserByUsername looks a user up for login and enrollment.
	UserByUsername(ctx context.Context, username string) (User, error)
	// CreateUser inserts a user; a squad member also becomes a member row
	// that the squad's devices receive.
	CreateUser(ctx context.Context, u User) (User, error)
	// CountUsers counts users (an empty store has none).
	CountUsers(ctx context.Context) (int, error)
	// CreateSession stores a user session token (hashed).
	CreateSession(ctx context.Context, userID, tokenHash string, expires time.Time) error
	// RevokeToken revokes one token.
	RevokeToken(ctx context.Context, tokenHash string) error
	// Authenticate resolves a token hash to whom it belongs; an unknown,
	// revoked or expired token is unauthorized.
	Authenticate(ctx context.Context, tokenHash string) (*auth.Principal, error)
	// CreateEnrollmentCode stores a one-time code (hashed) for an inspector.
	CreateEnrollmentCode(ctx context.Context, codeHash, userID, createdBy string, expires time.Time) error
	// EnrollDevice consumes a code and creates the device and its token
	// together, so that a code never enrols two devices.
	EnrollDevice(ctx context.Context, codeHash, deviceName, tokenHash string, tokenExpires time.Time) (EnrolledDevice, error)
	// DeviceOwner returns the user a device belongs to.
	DeviceOwner(ctx context.Context, deviceID string) (User, error)
	// RevokeDevice revokes a device and every token it holds.
	RevokeDevice(ctx context.Context, deviceID string) error
	// ListUsers lists users by squad (admins without one first), then
	// username.
	ListUsers(ctx context.Context, f UserFilter) ([]User, error)
	// UserByID looks a user up by id (the administration pages name users
	// by id, which never changes).
	UserByID(ctx context.Context, id string) (User, error)
	// SetUserDisabled disables or re-enables a user. Disabling revokes the
	// user's sessions in the same transaction (device tokens already stop
	// working with the account, and work again with it).
	SetUserDisabled(ctx context.Context, userID string, disabled bool) (User, error)
	// SetPassword stores a new password hash and revokes every session of
	// the user in the same transaction, so that a password changed because
	// it leaked locks out whoever holds a session made with it.
	SetPassword(ctx context.Context, userID, hash string) error
	// ListDevices lists enrolled devices (revoked ones included), newest
	// enrollment first, with their owner and clock.
	ListDevices(ctx context.Context, f DeviceFilter) ([]Device, error)
}

// UserFilter selects users for the administration pages.
type UserFilter struct {
	SquadID *int64 // nil: every user
	Limit   int
}

// DeviceFilter selects devices for the administration pages.
type DeviceFilter struct {
	SquadID *int64 // nil: every device; else the devices of the squad's users
	Limit   int
}

// Device is an enrolled device as the administration pages show it.
type Device struct {
	ID          string
	Name        string
	UserID      string
	Username    string
	DisplayName string
	SquadID     *int64
	CreatedAt   time.Time
	RevokedAt   *time.Time
	LastSyncAt  *time.Time // nil until its first sync
	ClockOffset *int64     // milliseconds, device minus server; nil until measured
}

// Sync is what devices do: push mutations, pull their visible set, and
// report their clocks.
type Sync interface {
	// Push applies a batch of mutations in one transaction and answers
	// each; every answer but a duplicate is recorded with its mutation id
	// in that transaction, so a replay is answered, never re-applied.
	Push(ctx context.Context, in PushInput) ([]schema.MutationResult, error)
	// Pull returns the next page of what the device's user may see.
	Pull(ctx context.Context, in PullInput) (PullPage, error)
	// RecordClockSample stores a clock measurement taken by a pull.
	RecordClockSample(ctx context.Context, cs ClockSample) error
	// DeviceClock reports a device's last offset and sync time.
	DeviceClock(ctx context.Context, deviceID string) (offsetMS int64, lastSync time.Time, err error)
}

// Supervision is what squad leaders and admins read and decide.
type Supervision interface {
	// ListInspections lists inspections newest first, each with its venue
	// as the inspection's squad saw it (schema.VenueSeenBy), photo
	// completeness and flags.
	ListInspections(ctx context.Context, f InspectionFilter) ([]schema.Inspection, error)
	// Inspection returns one inspection as ListInspections shows it.
	Inspection(ctx context.Context, id string) (schema.Inspection, error)
	// InspectionsByID reads the inspections of ids that exist, as
	// ListInspections shows them (brief: as a Brief listing does), in no
	// set order; an id that names none is left out. It lets a reader of many
	// rows that name inspections (the ledger export) load a page's
	// inspections, with their venues, in one call instead of one per row.
	// At most MaxInspectionsByID ids are read.
	InspectionsByID(ctx context.Context, ids []string, brief bool) ([]schema.Inspection, error)
	// ListConflicts lists recorded conflicts, newest first.
	ListConflicts(ctx context.Context, f ConflictFilter) ([]schema.Conflict, error)
	// Conflict returns one conflict.
	Conflict(ctx context.Context, id string) (schema.Conflict, error)
	// ResolveConflict marks a conflict the scope covers as handled.
	ResolveConflict(ctx context.Context, id, by string, scope schema.Scope) (schema.Conflict, error)
	// DecideConflict marks a conflict the scope covers as handled with the
	// value that stands: winner schema.WinnerServer or WinnerDevice. When
	// the winner differs from the one the merge kept (a venue field's
	// concurrent edit), the chosen value is applied through the venue
	// field merge (EditVenue, as actor) in the same transaction, and the
	// conflict records the new winner. The field must still hold the value
	// the merge kept (else conflict: it changed since); other kinds of
	// conflict can keep only the value that stands (else invalid). A
	// conflict resolved already is answered as it is.
	DecideConflict(ctx context.Context, id, winner string, actor Actor, by string, scope schema.Scope) (schema.Conflict, error)
}

// Squads are who may stand on a squad's records besides its own
// inspectors (schema.CheckInspectors).
type Squads interface {
	// AddCoInspector allows an active inspector of another squad (or of
	// none) on the records of squad, as the one its leader or an admin
	// named (by); the squad's devices receive the member with their next
	// pull. A scope that does not cover the squad is forbidden; allowing
	// one allowed already changes nothing.
	AddCoInspector(ctx context.Context, squadID int64, username, by string, scope schema.Scope) (schema.Member, error)
	// RemoveCoInspector withdraws the permission: later records may not
	// name the user, and the squad's devices drop the member with their
	// next pull. Records made already keep their inspectors.
	RemoveCoInspector(ctx context.Context, squadID int64, username string, scope schema.Scope) error
}

// Venues are the places under watch, edited from the server side.
type Venues interface {
	// Venue returns one venue, deleted ones included.
	Venue(ctx context.Context, id string) (schema.Venue, error)
	// ListVenues lists venues that are not deleted, by name.
	ListVenues(ctx context.Context, f VenueFilter) ([]schema.Venue, error)
	// CreateVenue creates a venue, every field stamped with a server HLC.
	CreateVenue(ctx context.Context, v schema.Venue, actor Actor) (schema.Venue, error)
	// EditVenue merges a server-side edit of a venue the scope covers
	// through the same field merge as device edits. A field edit without
	// an explicit base is based on the field's current clock.
	EditVenue(ctx context.Context, id string, fields map[string]schema.FieldEdit, explicitBase map[string]bool,
		actor Actor, scope schema.Scope) (schema.Venue, []string, error)
	// MoveVenue reassigns a venue to another squad: the old squad's devices
	// purge it, the new squad's receive it, and the old squad's inspections
	// show it as it was when it left (schema.VenueSeenBy).
	MoveVenue(ctx context.Context, id string, squadID int64) (schema.Venue, error)
	// DeleteVenue soft-deletes a venue; later offline edits become conflicts.
	DeleteVenue(ctx context.Context, id string) error
}

// Photos are the records of photo evidence; the bytes live in a
// storage.Store under their SHA-256. Every photo an inspection names is a
// claim, proven or pending (schema.ClaimPhotos): only proven claims give
// access to the bytes.
type Photos interface {
	// DeviceReferencesPhoto reports whether an inspection pushed by the
	// device, or authored by its user, names the photo with a proven claim.
	DeviceReferencesPhoto(ctx context.Context, deviceID, userID, sha string) (bool, error)
	// DevicePhotoClaim is the strongest claim to the photo of the
	// inspections pushed by the device or authored by its user:
	// schema.ClaimProven, schema.ClaimPending, or "" when none names it.
	// A device with a pending claim may send the bytes to prove it.
	DevicePhotoClaim(ctx context.Context, deviceID, userID, sha string) (string, error)
	// SquadsReferencingPhoto lists (ascending, without repeats) the squads
	// whose inspections name the photo with a proven claim; empty when none
	// does.
	SquadsReferencingPhoto(ctx context.Context, sha string) ([]int64, error)
	// Photo returns the record of a photo whose bytes were received.
	Photo(ctx context.Context, sha string) (Photo, error)
	// RecordPhoto records bytes that from delivered and that hash to
	// p.SHA256, in one transaction: the photo (recording one twice keeps
	// the first), that from's squad had them, and the proof of from's
	// pending claims to them (those of its device or of its user, declaring
	// the stored size). A zero from records the photo only.
	RecordPhoto(ctx context.Context, p Photo, from Uploader) error
	// SetThumbnail records the thumbnail made for a received photo.
	SetThumbnail(ctx context.Context, sha, key string) error
	// SetThumbnailFailed records, for good, why a received photo can have
	// no thumbnail (state and a reason a person can read); a thumbnail
	// already made wins.
	SetThumbnailFailed(ctx context.Context, sha, state, reason string) error
	Uploads
}

// Operations are what the wiring, the health checks and the demo need.
type Operations interface {
	// Ping checks that the store answers a read.
	Ping(ctx context.Context) error
	// Stats counts what the gauges of /metrics show.
	Stats(ctx context.Context) (Stats, error)
	// Import writes a whole data set in one transaction into a store that
	// has no users yet (a conflict otherwise): the demo district, and data
	// brought from elsewhere.
	Import(ctx context.Context, d Dataset) error
	Jobs
}

// User is a person who logs in: an inspector, a squad leader or an admin.
type User struct {
	ID           string
	Username     string
	DisplayName  string
	BadgeNo      string
	Role         string
	SquadID      *int64
	PasswordHash string
	Disabled     bool
}

// EnrolledDevice is what a successful enrollment created.
type EnrolledDevice struct {
	DeviceID string
	User     User
	// RecordCount is the highest count of the record numbers the store
	// holds for the user's badge (RecordCountOf).
	RecordCount int
}

// ClockSample is one measurement of a device's clock offset.
type ClockSample struct {
	DeviceID string
	At       time.Time
	OffsetMS int64
	Endpoint string
	HLC      string
}

// PushInput is one push batch from an authenticated device.
type PushInput struct {
	DeviceID string
	UserID   string
	SquadID  *int64
	// Request is the decoded batch. Stream, when set, is used instead: its
	// mutations are decoded while the first ones are already applied.
	Request    *schema.PushRequest
	Stream     MutationStream
	ReceivedAt time.Time
	// Clock, when set, is recorded in the same transaction as the batch.
	Clock *ClockSample
}

// MutationStream yields the mutations of one push in order. Next fills m
// and reports whether there was one; an error abandons the push, whose
// transaction then rolls back. *schema.PushStream is one.
type MutationStream interface {
	Next(m *schema.Mutation) (bool, error)
}

// PullInput is one pull request of an authenticated device.
type PullInput struct {
	UserID   string
	DeviceID string // the device's own inspections come back with their server state
	SquadID  *int64
	Cursor   string
	Limit    int
}

// PullPage is one page of changes with its next cursor.
type PullPage struct {
	Reset   bool
	Changes []schema.Change
	Cursor  string
	More    bool
}

// Page sizes of a pull: what a device gets when it asks for none, and the
// most it gets however many it asks for.
const (
	DefaultPullLimit = 1000
	MaxPullLimit     = 5000
)

// MaxInspectionsByID is the most ids one InspectionsByID call reads: a
// ledger page (MaxFindingLimit) names at most that many inspections.
const MaxInspectionsByID = MaxFindingLimit

// InspectionFilter selects inspections for the leader pages.
type InspectionFilter struct {
	SquadID  *int64 // nil: every squad (admins)
	Status   string
	Since    time.Time // started at or after
	DeviceID string    // only what this device sent
	VenueID  string    // only of this venue
	// After continues the listing past the inspection of the cursor
	// (InspectionCursorOf the last one of the previous page).
	After string
	// Brief reads only the answers a summary shows: Items hold the
	// answers that failed or carry a note (with their photos), while
	// MissingPhotos (in no set order), PhotosComplete and Flags still
	// count every photo.
	Brief bool
	Limit int
}

// ConflictFilter selects conflicts for the leader pages.
type ConflictFilter struct {
	SquadID  *int64
	OpenOnly bool
	Limit    int
}

// VenueFilter selects venues for the leader and admin list.
type VenueFilter struct {
	SquadID *int64
	Kind    string
	Limit   int
}

// Actor names who made a server-side change, for conflict rows.
type Actor struct {
	MutationID string // the device's mutation id, or a server-made id
	DeviceID   string // the device, or "server:<username>" for admin and leader edits
}

// Photo is the server's record of a received photo; the bytes live in the
// blob store under SHA256, the thumbnail under ThumbKey.
type Photo struct {
	SHA256     string
	Size       int64
	MediaType  string
	Width      int
	Height     int
	ThumbKey   string // "" when there is no thumbnail (yet, or HEIC/HEIF)
	ReceivedAt time.Time
	// ThumbState is "" or why the photo can never have a thumbnail
	// (corrupt, unsupported, too_large: see server/photos), with ThumbReason.
	ThumbState  string
	ThumbReason string
}

// Uploader is the device that delivered a photo's bytes, as the server
// authenticated it.
type Uploader struct {
	DeviceID string
	UserID   string
	SquadID  int64
}

// Stats are the figures the gauges of /metrics show.
type Stats struct {
	ConflictsPending int64 // recorded and not yet resolved by a leader
	PhotosAwaited    int64 // named by inspections, bytes not yet received
}

// Dataset is a whole district to import: squads, their people, venues,
// schools and past inspections. Ids are the caller's.
type Dataset struct {
	Squads      []Squad
	Users       []User
	Venues      []schema.Venue
	Schools     []schema.School
	Inspections []ImportedInspection
	// Findings are ledger rows of the imported inspections, written as
	// they are (their seqs are the store's).
	Findings []schema.Finding
	// Cases are cases of the imported findings and venues, written as they
	// are with their evidence; each year's case numbers move past theirs.
	// A finding's case id is the finding's own (Findings).
	Cases []schema.Case
}

// Squad is a team of inspectors with the area it patrols.
type Squad struct {
	ID     int64
	Name   string
	Bounds [4]float64 // min lat, min lng, max lat, max lng
}

// ImportedInspection is a past inspection with the server-side facts a
// push would have given it.
type ImportedInspection struct {
	schema.Inspection
	AuthorID   string
	ReceivedAt time.Time
	// Versions are the earlier versions of the inspection (Version of
	// each below the inspection's). Without them, or when the inspection's
	// own Version is 0, it is imported as version 1 with itself as record.
	Versions []schema.Inspection
}
