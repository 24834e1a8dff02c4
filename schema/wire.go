package schema

import (
	"time"

	"github.com/patrolhq/patrol/schema/geo"
)

// APIPrefix is the path prefix of every versioned API route.
const APIPrefix = "/api/v1"

// Route paths of the API, shared so that the server registers and the device
// calls the same strings.
const (
	PathLogin          = APIPrefix + "/login"
	PathLogout         = APIPrefix + "/logout"
	PathEnroll         = APIPrefix + "/devices/enroll"
	PathEnrollCodes    = APIPrefix + "/enrollment-codes"
	PathPull           = APIPrefix + "/sync/pull"
	PathPush           = APIPrefix + "/sync/push"
	PathInspections    = APIPrefix + "/inspections"
	PathConflicts      = APIPrefix + "/conflicts"
	PathFindings       = APIPrefix + "/findings"    // GET list, GET /{id}, POST /{id}/order|close|escalate
	PathLedgerXLSX     = APIPrefix + "/ledger.xlsx" // GET ?month=YYYY-MM&squad=: the month's findings ledger as a workbook
	PathLedgerCSV      = APIPrefix + "/ledger.csv"  // GET ?month=YYYY-MM&squad=: the same ledger as CSV
	PathVenues         = APIPrefix + "/venues"
	PathImport         = APIPrefix + "/import"  // POST /import/{schools|venues|squads}?datum=wgs84|gcj02|bd09&dry_run=1 (admin)
	PathAudit          = APIPrefix + "/audit"   // GET: the audit log, newest first (leaders: their squad's)
	PathSquads         = APIPrefix + "/squads"  // POST /squads/{id}/co-inspectors, DELETE /squads/{id}/co-inspectors/{username}
	PathPhotos         = APIPrefix + "/photos"  // HEAD/GET /photos/{sha256}, GET /photos/{sha256}/thumb
	PathUploads        = APIPrefix + "/uploads" // HEAD/PATCH /uploads/{sha256}
	PathOpenAPI        = APIPrefix + "/openapi.json"
	PathZoneViolations = APIPrefix + "/zone-violations" // GET: school-zone violations (leaders: their squad's)
	PathZoneRules      = APIPrefix + "/zone-rules"      // GET list, PUT /{id}: publish a rule (admins)
	PathUsers          = APIPrefix + "/users"           // GET, POST; PATCH /users/{id}; POST /users/{id}/password
	PathMePassword     = APIPrefix + "/me/password"     // POST: change one's own password
	PathDevices        = APIPrefix + "/devices"         // GET; POST /devices/{id}/revoke
	PathDiscoveries    = APIPrefix + "/discoveries"     // GET: field-discovered venues (POST /venues/{id}/confirm|merge decide)
	PathPlan           = APIPrefix + "/plan"            // GET, PUT /plan?squad=&month=: the squad's patrol plan (leaders, admins)
	PathComplaints     = APIPrefix + "/complaints"      // GET ?squad=&status=&overdue=, POST; GET /{id}; POST /{id}/{action}
	PathCases          = APIPrefix + "/cases"           // GET ?squad=&status=, POST; GET /{id}; POST /{id}/{action}
	PathRollups        = APIPrefix + "/rollups"         // GET /rollups/daily?date=, /rollups/monthly?month=; POST /rollups/run (admins)
	PathHealthz        = "/healthz"
	PathReadyz         = "/readyz"
	HeaderRequestID    = "X-Request-Id"
	HeaderClientTime   = "Patrol-Client-Time" // RFC 3339 device wall time when a request was sent
)

// Headers of the resumable photo upload (a small subset of tus 1.0).
const (
	HeaderUploadOffset = "Upload-Offset" // bytes the server holds; where the next PATCH must start
	HeaderUploadLength = "Upload-Length" // total size of the photo in bytes
	ContentTypeUpload  = "application/offset+octet-stream"
	HeaderStored       = "Patrol-Stored" // "true" when the photo is stored already: send nothing
)

// Roles of users.
const (
	RoleAdmin     = "admin"
	RoleLeader    = "leader"
	RoleInspector = "inspector"
	// RoleOffice is bureau staff who take complaints in (intake) and are
	// neither leaders nor inspectors: they see no squad's inspections.
	RoleOffice = "office"
)

// Venue kinds.
const (
	KindNetCafe  = "net_cafe"
	KindArcade   = "arcade"
	KindKTV      = "ktv"
	KindBookshop = "bookshop"
)

// VenueKinds lists every accepted venue kind.
var VenueKinds = []string{KindNetCafe, KindArcade, KindKTV, KindBookshop}

// Opening states of a venue.
const (
	OpenStateOpen      = "open"
	OpenStateClosed    = "closed"
	OpenStateSuspended = "suspended"
	OpenStateUnknown   = "unknown"
)

// OpenStates lists every accepted opening state.
var OpenStates = []string{OpenStateOpen, OpenStateClosed, OpenStateSuspended, OpenStateUnknown}

// Venue fields that devices and admins may edit; each merges on its own
// clock (field-level last-writer-wins by HLC).
const (
	FieldName      = "name"
	FieldAddress   = "address"
	FieldLicenceNo = "licence_no"
	FieldLicensed  = "licensed" // value "true" or "false"
	FieldPhone     = "phone"
	FieldOpenState = "open_state"
)

// VenueFields lists the mergeable venue fields.
var VenueFields = []string{FieldName, FieldAddress, FieldLicenceNo, FieldLicensed, FieldPhone, FieldOpenState}

// Inspection statuses. A device pushes an inspection once it is submitted;
// a squad leader approves it or returns it with a comment, and the
// inspector amends a returned one and submits it again as a new version.
const (
	StatusDraft     = "draft"
	StatusSubmitted = "submitted"
	StatusApproved  = "approved"
	StatusReturned  = "returned"
	// StatusReviewed is the single state of the review model before
	// approve/return; stored rows carry it no more once migrated.
	StatusReviewed = "reviewed"
)

// Item results.
const (
	ResultPass = "pass"
	ResultFail = "fail"
	ResultNA   = "na"
)

// LoginRequest is the body of POST /api/v1/login.
type LoginRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

// LoginResponse answers a successful login with a bearer token.
type LoginResponse struct {
	Token     string    `json:"token"`
	Role      string    `json:"role"`
	SquadID   *int64    `json:"squad_id"`
	Username  string    `json:"username"`
	ExpiresAt time.Time `json:"expires_at"`
}

// EnrollmentCodeRequest asks for a one-time code that lets a device enrol
// for an inspector (POST /api/v1/enrollment-codes, leaders and admins).
type EnrollmentCodeRequest struct {
	Username string `json:"username"`
}

// EnrollmentCodeResponse carries the one-time code.
type EnrollmentCodeResponse struct {
	Code      string    `json:"code"`
	Username  string    `json:"username"`
	ExpiresAt time.Time `json:"expires_at"`
}

// CoInspectorRequest allows an inspector of another squad on a squad's
// records (POST /api/v1/squads/{id}/co-inspectors, its leader or an admin).
type CoInspectorRequest struct {
	Username string `json:"username"`
}

// EnrollRequest is the body of POST /api/v1/devices/enroll.
type EnrollRequest struct {
	Code       string `json:"code"`
	DeviceName string `json:"device_name"`
}

// EnrollResponse gives a device its identity and long-lived device token.
type EnrollResponse struct {
	// RecordCount is the highest running count of the on-site record
	// numbers the server holds for the user's badge, so that a new or
	// re-enrolled device of the inspector numbers its records past them.
	RecordCount int       `json:"record_count,omitempty"`
	DeviceID    string    `json:"device_id"`
	Token       string    `json:"token"`
	Username    string    `json:"username"`
	SquadID     int64     `json:"squad_id"`
	ExpiresAt   time.Time `json:"expires_at"`
	ServerTime  time.Time `json:"server_time"`
}

// PullRequest asks for the changes visible to the calling device after Cursor.
type PullRequest struct {
	Cursor     string    `json:"cursor"`          // opaque; "" for a first pull
	Limit      int       `json:"limit,omitempty"` // rows per page; the server caps it
	ClientTime time.Time `json:"client_time"`     // device wall clock when sent
	HLC        string    `json:"hlc,omitempty"`   // the device's latest HLC
}

// PullResponse is one page of changes. The device applies the page and
// stores Cursor in one local transaction, then pulls again while More.
type PullResponse struct {
	// Reset tells the device that its visible set was recomputed (its
	// inspector moved squad, the squad's area changed, or the cursor was
	// unusable): it must drop every server-derived row it holds that this
	// pull sequence does not deliver again. Its own unsent work is kept.
	Reset      bool      `json:"reset"`
	Changes    []Change  `json:"changes"`
	Cursor     string    `json:"cursor"`
	More       bool      `json:"more"`
	ServerTime time.Time `json:"server_time"`
	ServerHLC  string    `json:"server_hlc"`
}

// Change kinds in a pull.
const (
	ChangeVenue      = "venue"
	ChangeSchool     = "school"
	ChangeZoneRule   = "zone_rule"
	ChangeChecklist  = "checklist"
	ChangeInspection = "inspection"
	ChangeMember     = "member"
	ChangeFinding    = "finding"
	// ChangeVisit is a planned visit (PlanVisit) of one of the device
	// user's own: removed when the plan drops it.
	ChangeVisit = "visit"
	// ChangeComplaint is a complaint assigned to the device's squad that
	// waits for an investigation (ComplaintTask: never the complainant's
	// contact); removed once it is handled or leaves the squad.
	ChangeComplaint = "complaint"
)

// Change is one row in a pull page. Exactly one payload field is set unless
// Removed is true, in which case the device deletes the row with that Kind
// and ID (deleted on the server, or no longer visible to this device).
type Change struct {
	Seq        int64          `json:"seq"`
	Kind       string         `json:"kind"`
	ID         string         `json:"id"`
	Removed    bool           `json:"removed,omitempty"`
	Venue      *Venue         `json:"venue,omitempty"`
	School     *School        `json:"school,omitempty"`
	ZoneRule   *ZoneRule      `json:"zone_rule,omitempty"`
	Checklist  *Checklist     `json:"checklist,omitempty"`
	Inspection *Inspection    `json:"inspection,omitempty"`
	Member     *Member        `json:"member,omitempty"`
	Finding    *Finding       `json:"finding,omitempty"`
	Visit      *PlanVisit     `json:"visit,omitempty"`
	Complaint  *ComplaintTask `json:"complaint,omitempty"`
	// MergedInto, on a Removed venue, names the venue a leader merged it
	// into: the device re-points its own records of the removed one (its
	// inspections, findings and unsent mutations) to that venue in the
	// transaction that applies the page, instead of orphaning them.
	MergedInto string `json:"merged_into,omitempty"`
}

// Venue is a place under supervision: an internet café, arcade, KTV or
// bookshop. Clocks holds the HLC of the last write of each mergeable field.
type Venue struct {
	ID        string            `json:"id"`
	SquadID   int64             `json:"squad_id"`
	Kind      string            `json:"kind"`
	Name      string            `json:"name"`
	Address   string            `json:"address"`
	LicenceNo string            `json:"licence_no"`
	Licensed  bool              `json:"licensed"`
	Phone     string            `json:"phone"`
	OpenState string            `json:"open_state"`
	Lat       float64           `json:"lat"`
	Lng       float64           `json:"lng"`
	Deleted   bool              `json:"deleted,omitempty"`
	Clocks    map[string]string `json:"clocks,omitempty"`
	CreatedBy string            `json:"created_by,omitempty"` // device id of a field-discovered venue
	UpdatedAt time.Time         `json:"updated_at"`
	// Footprint is the premises' outline in WGS-84 when known; the zone
	// rule measures any part of the premises, so it wins over the point.
	Footprint geo.Polygon `json:"footprint,omitempty"`
	// ExternalID is the id of the bureau's licence register; imports match on it.
	ExternalID string `json:"external_id,omitempty"`
	// FoundInZone is the school zone a device found itself in when it
	// recorded the venue in the field (venue.create), as it measured it offline.
	FoundInZone *ZoneHit `json:"found_in_zone,omitempty"`
	// MergedInto is set on a deleted venue that a leader merged into
	// another (a field duplicate): that venue holds its records now.
	MergedInto string `json:"merged_into,omitempty"`
}

// School is a primary or secondary school (or kindergarten) whose campus
// boundary is a polygon; the protected zone is the straight-line buffer of
// that polygon given by the zone rule in force.
type School struct {
	ID      string       `json:"id"`
	Name    string       `json:"name"`
	Kind    string       `json:"kind"`    // primary, secondary, kindergarten
	Polygon [][2]float64 `json:"polygon"` // closed ring of [lng, lat]
	Address string       `json:"address,omitempty"`
	// Geometry is the whole campus in WGS-84 (several parts, holes); the
	// zone is measured from it. Polygon repeats its first outer ring for
	// readers that know only one ring.
	Geometry geo.MultiPolygon `json:"geometry,omitempty"`
	// ExternalID is the id the bureau's own data gives the school; imports
	// match on it, so importing a file twice changes nothing.
	ExternalID string `json:"external_id,omitempty"`
}

// ZoneRule is a distance rule around schools, kept as data with an effective
// date because provinces differ and rules change. It is defined, with the
// choice and evaluation of rules, in schema/geo, which the device uses
// offline and which depends on nothing but the standard library and an
// R-tree; the wire form is the same type.
type ZoneRule = geo.Rule

// Member is a user of the device's squad, so that a device can name a
// co-inspector while offline. CoInspector marks an inspector of another
// squad (SquadID) whom the device's squad leader allowed on its records.
type Member struct {
	Username    string `json:"username"`
	Name        string `json:"name"`
	BadgeNo     string `json:"badge_no"`
	Role        string `json:"role"`
	SquadID     int64  `json:"squad_id"`
	CoInspector bool   `json:"co_inspector,omitempty"`
}

// Inspector is one of the (at least two) officers on an inspection.
type Inspector struct {
	Username string `json:"username"`
	Name     string `json:"name,omitempty"`
	BadgeNo  string `json:"badge_no,omitempty"`
}

// PhotoRef names the bytes that prove an item. The SHA-256 fixes which
// bytes are the evidence; the rest is how, when and where they were made.
type PhotoRef struct {
	SHA256      string    `json:"sha256"`
	Size        int64     `json:"size"`
	MediaType   string    `json:"media_type"`
	CapturedAt  time.Time `json:"captured_at"`
	Lat         *float64  `json:"lat"`
	Lng         *float64  `json:"lng"`
	DeviceID    string    `json:"device_id"`
	TimeSuspect bool      `json:"time_suspect,omitempty"` // capture time implausible for the inspection
	Received    bool      `json:"received"`               // server side: the bytes have arrived
}

// ItemResult answers one checklist item.
type ItemResult struct {
	ItemID string     `json:"item_id"`
	Result string     `json:"result"` // pass, fail, na
	Note   string     `json:"note"`
	Photos []PhotoRef `json:"photos,omitempty"`
}

// Review is the squad leader's decision on one version of an inspection
// (server-side state): approved, or returned with the comment the
// inspector amends by.
type Review struct {
	ReviewedBy string    `json:"reviewed_by"`
	ReviewedAt time.Time `json:"reviewed_at"`
	Decision   string    `json:"decision"` // approved or returned
	Note       string    `json:"note"`     // the comment; required on a return
	Version    int       `json:"version,omitempty"`
}

// Inspection is one on-site check of a venue against a checklist version.
// It is authored on one device; the server adds review state.
type Inspection struct {
	ID               string       `json:"id"`
	VenueID          string       `json:"venue_id"`
	SquadID          int64        `json:"squad_id"`
	DeviceID         string       `json:"device_id"`
	Status           string       `json:"status"`
	ChecklistVersion string       `json:"checklist_version"`
	Inspectors       []Inspector  `json:"inspectors"`
	StartedAt        time.Time    `json:"started_at"`
	FinishedAt       *time.Time   `json:"finished_at"`
	Items            []ItemResult `json:"items"`
	HLC              string       `json:"hlc,omitempty"`
	TimeSuspect      bool         `json:"time_suspect,omitempty"` // times implausible against the server clock
	Review           *Review      `json:"review,omitempty"`
	// Version is the server's count of the versions it accepted (1 for the
	// first push); a resubmitted amendment is the same inspection, one
	// version later.
	Version int `json:"version,omitempty"`
	// RecheckOf names the finding this inspection was started to re-check
	// (patrol inspect start --recheck); the server links it on approval.
	RecheckOf string `json:"recheck_of,omitempty"`
	// ComplaintID names the complaint this inspection was started to
	// investigate (patrol inspect start --complaint); the server links the
	// two when it accepts the push.
	ComplaintID string `json:"complaint_id,omitempty"`
	// Record is the on-site inspection record (现场检查笔录) with the
	// party's signing; nil on inspections recorded without one.
	Record         *OnSiteRecord `json:"record,omitempty"`
	Venue          *Venue        `json:"venue,omitempty"`          // filled in API reads
	MissingPhotos  []string      `json:"missing_photos,omitempty"` // API reads: hashes not yet received
	PhotosComplete *bool         `json:"photos_complete,omitempty"`
	// Flags are what a squad leader should look at before accepting the
	// record (API reads): FlagSingleInspector, FlagTimeSuspect, FlagPhotosMissing.
	Flags []string `json:"flags,omitempty"`
}

// Flags of an inspection as the API shows it to squad leaders.
const (
	// FlagSingleInspector: the record names one inspector; the law asks for
	// at least two on an on-site check.
	FlagSingleInspector = "single_inspector"
	// FlagTimeSuspect: its times are implausible against the server clock.
	FlagTimeSuspect = "time_suspect"
	// FlagPhotosMissing: some photo it names has not arrived yet.
	FlagPhotosMissing = "photos_missing"
)

// Mutation kinds a device may push.
const (
	MutVenueCreate      = "venue.create"
	MutVenueUpdate      = "venue.update"
	MutInspectionUpsert = "inspection.upsert"
)

// Mutation is one unit of offline work. ID is a UUIDv7 the device made;
// the server records it with its result in the same transaction as its
// effects, so a replay is answered, not re-applied.
type Mutation struct {
	ID          string       `json:"id"`
	Kind        string       `json:"kind"`
	HLC         string       `json:"hlc"`
	Venue       *Venue       `json:"venue,omitempty"`        // venue.create
	VenueUpdate *VenueUpdate `json:"venue_update,omitempty"` // venue.update
	Inspection  *Inspection  `json:"inspection,omitempty"`   // inspection.upsert: the full record
}

// VenueUpdate edits some fields of a venue. Base is the field's clock as
// the device last saw it: when the server's clock differs, the edit was
// concurrent with another and the server records a conflict.
type VenueUpdate struct {
	VenueID string               `json:"venue_id"`
	Fields  map[string]FieldEdit `json:"fields"`
}

// FieldEdit is one field's new value and the clock it was based on.
type FieldEdit struct {
	Value string `json:"value"`
	Base  string `json:"base"`
}

// PushRequest carries a batch of mutations in outbox order.
type PushRequest struct {
	ClientTime time.Time  `json:"client_time"`
	HLC        string     `json:"hlc,omitempty"`
	Mutations  []Mutation `json:"mutations"`
}

// Mutation outcomes.
const (
	OutcomeApplied   = "applied"
	OutcomeDuplicate = "duplicate"
	OutcomeConflict  = "conflict"
	OutcomeRejected  = "rejected"
)

// MutationResult answers one mutation. For a duplicate, Original holds the
// outcome recorded when it was first applied, so a replay gets the same
// answer every time.
type MutationResult struct {
	ID               string      `json:"id"`
	Outcome          string      `json:"outcome"`
	Original         string      `json:"original,omitempty"`
	Code             Code        `json:"code,omitempty"`
	Reason           string      `json:"reason,omitempty"`
	ConflictID       string      `json:"conflict_id,omitempty"`
	ServerVenue      *Venue      `json:"server_venue,omitempty"`
	ServerInspection *Inspection `json:"server_inspection,omitempty"`
}

// PushResponse answers every mutation of a batch, in order.
type PushResponse struct {
	Results    []MutationResult `json:"results"`
	ServerTime time.Time        `json:"server_time"`
	ServerHLC  string           `json:"server_hlc"`
}

// Conflict kinds.
const (
	ConflictConcurrentEdit  = "concurrent_edit"   // two writers changed one field concurrently
	ConflictEditOfDeleted   = "edit_of_deleted"   // an offline edit of a venue deleted on the server
	ConflictEditAfterReview = "edit_after_review" // an offline edit of an inspection already reviewed
)

// Conflict is a recorded disagreement that a squad leader must see.
type Conflict struct {
	ID          string     `json:"id"`
	SquadID     int64      `json:"squad_id"`
	Kind        string     `json:"kind"`
	EntityKind  string     `json:"entity_kind"` // venue or inspection
	EntityID    string     `json:"entity_id"`
	Field       string     `json:"field,omitempty"`
	ServerValue string     `json:"server_value"`
	DeviceValue string     `json:"device_value"`
	Winner      string     `json:"winner"` // server or device
	MutationID  string     `json:"mutation_id"`
	DeviceID    string     `json:"device_id"`
	CreatedAt   time.Time  `json:"created_at"`
	ResolvedAt  *time.Time `json:"resolved_at,omitempty"`
}
