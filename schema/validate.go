package schema

import (
	"encoding/json"
	"errors"
	"fmt"
	"github.com/patrolhq/patrol/schema/geo"
	"io"
	"math"
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"
)

// Limits of what a device may send. They bound memory on the server and are
// checked on the device too, so that bad data is refused where it is typed.
const (
	MaxMutationsPerPush = 1000
	MaxPushBytes        = 16 << 20 // one push request body, uncompressed
	MaxSmallBodyBytes   = 64 << 10 // login, enroll, pull and other small requests
	MaxTextLen          = 200      // names, addresses, licence numbers, phones
	MaxNoteLen          = 32 << 10 // an item note: 10,000 characters of Chinese fit
	MaxPhotosPerItem    = 20
	MaxInspectors       = 10
	DefaultMaxPhotoSize = 25 << 20
)

// PhotoMediaTypes are the image types accepted as evidence.
var PhotoMediaTypes = []string{"image/jpeg", "image/png", "image/heic", "image/heif", "image/webp"}

// DecodeJSON reads one JSON value from r into v and turns decoder failures
// into *Error values a person can act on. It rejects trailing data.
func DecodeJSON(r io.Reader, v any) error {
	dec := json.NewDecoder(r)
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if dec.More() {
		return Errorf(CodeInvalid, "request body holds more than one JSON value")
	}
	var extra json.RawMessage
	if err := dec.Decode(&extra); err != io.EOF {
		return Errorf(CodeInvalid, "request body has data after the JSON value")
	}
	return nil
}

func jsonError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var maxErr *http.MaxBytesError
	switch {
	case errors.Is(err, io.EOF):
		return Errorf(CodeInvalid, "request body is empty; expected a JSON object")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return Errorf(CodeInvalid, "request body ends in the middle of the JSON value")
	case errors.As(err, &syn):
		return Errorf(CodeInvalid, "malformed JSON at byte %d: %s", syn.Offset, syn.Error())
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "(top level)"
		}
		return Errorf(CodeInvalid, "field %s: expected %s, got JSON %s", field, typ.Type, typ.Value)
	case errors.As(err, &maxErr):
		return Errorf(CodeTooLarge, "request body is larger than the %d bytes this endpoint accepts", maxErr.Limit)
	}
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return Errorf(CodeInvalid, "cannot decode JSON: %v", err)
}

// DecodePushRequest decodes and checks the shape of a push body. It does not
// validate the mutations one by one: a bad mutation is answered on its own
// (rejected) so that it never blocks the ones behind it.
func DecodePushRequest(r io.Reader) (*PushRequest, error) {
	var req PushRequest
	if err := DecodeJSON(r, &req); err != nil {
		return nil, err
	}
	if len(req.Mutations) > MaxMutationsPerPush {
		return nil, Errorf(CodeTooLarge, "push holds %d mutations; send at most %d per request", len(req.Mutations), MaxMutationsPerPush)
	}
	if req.HLC != "" {
		if _, err := ParseHLC(req.HLC); err != nil {
			return nil, err
		}
	}
	seen := make(map[string]struct{}, len(req.Mutations))
	for i := range req.Mutations {
		id := req.Mutations[i].ID
		if _, dup := seen[id]; dup && id != "" {
			return nil, Errorf(CodeInvalid, "mutation id %s appears twice in one push", truncate(id, 40))
		}
		seen[id] = struct{}{}
	}
	return &req, nil
}

// ChecklistLookup finds a checklist version known to the validator.
type ChecklistLookup func(version string) (*Checklist, bool)

// EmbeddedChecklists is a ChecklistLookup over the embedded versions.
func EmbeddedChecklists(version string) (*Checklist, bool) {
	c, err := ChecklistByVersion(version)
	if err != nil {
		return nil, false
	}
	return &c, true
}

// ValidateMutation checks one mutation in isolation (ids, kinds, lengths,
// checklist items, photo references). Authorization and state checks are
// the server's; what this rejects can never become valid by retrying.
func ValidateMutation(m *Mutation, checklists ChecklistLookup) error {
	if err := ValidUUID7(m.ID); err != nil {
		return Errorf(CodeInvalid, "mutation id: %v", err)
	}
	if m.HLC == "" {
		return Errorf(CodeInvalid, "mutation %s has no hlc", m.ID)
	}
	if _, err := ParseHLC(m.HLC); err != nil {
		return err
	}
	set := 0
	for _, p := range []bool{m.Venue != nil, m.VenueUpdate != nil, m.Inspection != nil} {
		if p {
			set++
		}
	}
	if set != 1 {
		return Errorf(CodeInvalid, "mutation %s must carry exactly one of venue, venue_update, inspection", m.ID)
	}
	switch m.Kind {
	case MutVenueCreate:
		if m.Venue == nil {
			return Errorf(CodeInvalid, "venue.create needs a venue")
		}
		return ValidateVenue(m.Venue)
	case MutVenueUpdate:
		if m.VenueUpdate == nil {
			return Errorf(CodeInvalid, "venue.update needs venue_update")
		}
		return ValidateVenueUpdate(m.VenueUpdate)
	case MutInspectionUpsert:
		if m.Inspection == nil {
			return Errorf(CodeInvalid, "inspection.upsert needs an inspection")
		}
		return ValidateInspection(m.Inspection, checklists)
	default:
		return Errorf(CodeInvalid, "unknown mutation kind %q (want %s, %s or %s)", truncate(m.Kind, 40), MutVenueCreate, MutVenueUpdate, MutInspectionUpsert)
	}
}

// ValidateVenue checks a venue a device created in the field.
func ValidateVenue(v *Venue) error {
	if err := ValidUUID(v.ID); err != nil {
		return Errorf(CodeInvalid, "venue id: %v", err)
	}
	if !contains(VenueKinds, v.Kind) {
		return Errorf(CodeInvalid, "venue kind %q is not one of %s", truncate(v.Kind, 40), strings.Join(VenueKinds, ", "))
	}
	if strings.TrimSpace(v.Name) == "" {
		return Errorf(CodeInvalid, "venue name is empty")
	}
	for field, s := range map[string]string{FieldName: v.Name, FieldAddress: v.Address, FieldLicenceNo: v.LicenceNo, FieldPhone: v.Phone} {
		if err := CheckText(field, s, MaxTextLen); err != nil {
			return err
		}
	}
	if v.OpenState != "" && !contains(OpenStates, v.OpenState) {
		return Errorf(CodeInvalid, "open_state %q is not one of %s", truncate(v.OpenState, 40), strings.Join(OpenStates, ", "))
	}
	if err := CheckText("external_id", v.ExternalID, MaxTextLen); err != nil {
		return err
	}
	if len(v.Footprint) > 0 {
		if err := geo.Validate(v.Footprint); err != nil {
			return Errorf(CodeInvalid, "venue footprint: %v", err)
		}
	}
	if z := v.FoundInZone; z != nil {
		for field, s := range map[string]string{"found_in_zone.school_id": z.SchoolID, "found_in_zone.school_name": z.SchoolName,
			"found_in_zone.rule_id": z.RuleID} {
			if err := CheckText(field, s, MaxTextLen); err != nil {
				return err
			}
		}
		if math.IsNaN(z.DistanceM) || z.DistanceM < 0 || z.DistanceM > 100_000 {
			return Errorf(CodeInvalid, "found_in_zone.distance_m %v is not a distance in metres (0 to 100 km)", z.DistanceM)
		}
	}
	return ValidPosition(v.Lat, v.Lng)
}

// ValidPosition checks a WGS-84 position; (0,0) is refused as "not set".
func ValidPosition(lat, lng float64) error {
	if math.IsNaN(lat) || math.IsNaN(lng) || lat < -90 || lat > 90 || lng < -180 || lng > 180 {
		return Errorf(CodeInvalid, "position %v,%v is outside -90..90, -180..180", lat, lng)
	}
	if lat == 0 && lng == 0 {
		return Errorf(CodeInvalid, "position 0,0 means no position was given; pass --lat and --lng")
	}
	return nil
}

// ValidateVenueUpdate checks field names and values of a venue edit.
func ValidateVenueUpdate(u *VenueUpdate) error {
	if err := ValidUUID(u.VenueID); err != nil {
		return Errorf(CodeInvalid, "venue_update.venue_id: %v", err)
	}
	if len(u.Fields) == 0 {
		return Errorf(CodeInvalid, "venue_update changes no field")
	}
	for f, e := range u.Fields {
		if !contains(VenueFields, f) {
			return Errorf(CodeInvalid, "venue field %q cannot be edited (editable: %s)", truncate(f, 40), strings.Join(VenueFields, ", "))
		}
		if e.Base != "" {
			if _, err := ParseHLC(e.Base); err != nil {
				return err
			}
		}
		if err := CheckText(f, e.Value, MaxTextLen); err != nil {
			return err
		}
		switch f {
		case FieldName:
			if strings.TrimSpace(e.Value) == "" {
				return Errorf(CodeInvalid, "venue name cannot be emptied")
			}
		case FieldLicensed:
			if e.Value != "true" && e.Value != "false" {
				return Errorf(CodeInvalid, "licensed must be \"true\" or \"false\", not %q", truncate(e.Value, 20))
			}
		case FieldOpenState:
			if !contains(OpenStates, e.Value) {
				return Errorf(CodeInvalid, "open_state %q is not one of %s", truncate(e.Value, 40), strings.Join(OpenStates, ", "))
			}
		}
	}
	return nil
}

// ValidateInspection checks a record a device pushes: a submitted
// inspection that answers every item of a known checklist version once.
func ValidateInspection(in *Inspection, checklists ChecklistLookup) error {
	if err := ValidUUID(in.ID); err != nil {
		return Errorf(CodeInvalid, "inspection id: %v", err)
	}
	if err := ValidUUID(in.VenueID); err != nil {
		return Errorf(CodeInvalid, "inspection %s venue_id: %v", in.ID, err)
	}
	if in.Status != StatusSubmitted {
		return Errorf(CodeInvalid, "inspection %s has status %q; devices push only submitted inspections", in.ID, truncate(in.Status, 20))
	}
	if in.RecheckOf != "" {
		if err := ValidUUID(in.RecheckOf); err != nil {
			return Errorf(CodeInvalid, "inspection %s recheck_of: %v", in.ID, err)
		}
	}
	cl, ok := checklists(in.ChecklistVersion)
	if !ok {
		return Errorf(CodeInvalid, "inspection %s uses unknown checklist version %q", in.ID, truncate(in.ChecklistVersion, 40))
	}
	if in.StartedAt.IsZero() {
		return Errorf(CodeInvalid, "inspection %s has no started_at", in.ID)
	}
	if in.FinishedAt == nil || in.FinishedAt.Before(in.StartedAt) {
		return Errorf(CodeInvalid, "inspection %s needs finished_at at or after started_at", in.ID)
	}
	if len(in.Inspectors) == 0 || len(in.Inspectors) > MaxInspectors {
		return Errorf(CodeInvalid, "inspection %s names %d inspectors; 1 to %d allowed", in.ID, len(in.Inspectors), MaxInspectors)
	}
	for i, p := range in.Inspectors {
		if p.Username == "" || slices.ContainsFunc(in.Inspectors[:i], func(q Inspector) bool { return q.Username == p.Username }) {
			return Errorf(CodeInvalid, "inspection %s: inspector usernames must be set and distinct", in.ID)
		}
		if err := CheckText("inspector", p.Username+p.Name+p.BadgeNo, 3*MaxTextLen); err != nil {
			return err
		}
	}
	// seen marks answered items by the position of their id in the
	// checklist (without a map: this runs for every pushed inspection).
	var small [64]bool
	var seen []bool
	if len(cl.Items) <= len(small) {
		seen = small[:len(cl.Items)]
	} else {
		seen = make([]bool, len(cl.Items))
	}
	answered := 0
	for _, it := range in.Items {
		j := slices.IndexFunc(cl.Items, func(ci ChecklistItem) bool { return ci.ID == it.ItemID })
		if j < 0 {
			return Errorf(CodeInvalid, "inspection %s: unknown checklist item %q in version %s", in.ID, truncate(it.ItemID, 20), cl.Version)
		}
		if seen[j] {
			return Errorf(CodeInvalid, "inspection %s: item %s answered twice", in.ID, it.ItemID)
		}
		seen[j] = true
		answered++
		if it.Result != ResultPass && it.Result != ResultFail && it.Result != ResultNA {
			return Errorf(CodeInvalid, "inspection %s item %s: result %q is not pass, fail or na", in.ID, it.ItemID, truncate(it.Result, 20))
		}
		if err := CheckText("note", it.Note, MaxNoteLen); err != nil {
			return err
		}
		if len(it.Photos) > MaxPhotosPerItem {
			return Errorf(CodeInvalid, "inspection %s item %s has %d photos; at most %d", in.ID, it.ItemID, len(it.Photos), MaxPhotosPerItem)
		}
		for k := range it.Photos {
			if err := ValidatePhotoRef(&it.Photos[k]); err != nil {
				return Errorf(CodeInvalid, "inspection %s item %s: %v", in.ID, it.ItemID, err)
			}
		}
	}
	if answered != len(cl.Items) {
		return Errorf(CodeInvalid, "inspection %s answers %d of %d items of %s; answer all before submitting", in.ID, answered, len(cl.Items), cl.Version)
	}
	if err := ValidateRecord(in); err != nil {
		return err
	}
	return nil
}

// ValidatePhotoRef checks a photo reference inside an inspection.
func ValidatePhotoRef(p *PhotoRef) error {
	if !ValidSHA256(p.SHA256) {
		return Errorf(CodeInvalid, "photo hash %q is not 64 lowercase hex digits", truncate(p.SHA256, 70))
	}
	if p.Size <= 0 {
		return Errorf(CodeInvalid, "photo %s has size %d", p.SHA256[:12], p.Size)
	}
	if !contains(PhotoMediaTypes, p.MediaType) {
		return Errorf(CodeInvalid, "photo %s has media type %q; accepted: %s", p.SHA256[:12], truncate(p.MediaType, 40), strings.Join(PhotoMediaTypes, ", "))
	}
	if p.Lat != nil || p.Lng != nil {
		if p.Lat == nil || p.Lng == nil {
			return Errorf(CodeInvalid, "photo %s has only one of lat and lng", p.SHA256[:12])
		}
		if err := ValidPosition(*p.Lat, *p.Lng); err != nil {
			return err
		}
	}
	return nil
}

// ValidSHA256 reports whether s is a lowercase hex SHA-256 digest.
func ValidSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// ValidUUID checks the canonical UUID form: 36 characters, 8-4-4-4-12
// lower-case hex. Every id that enters the server (mutations, venue,
// inspection and member ids, route parameters) is checked here, and ids
// compare byte for byte: upper case is refused rather than folded, since
// two spellings of one UUID would otherwise name two objects.
func ValidUUID(s string) error {
	if len(s) != 36 {
		return fmt.Errorf("%q is not a UUID (36 characters, 8-4-4-4-12 hex)", truncate(s, 40))
	}
	upper := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return fmt.Errorf("%q is not a UUID (8-4-4-4-12 hex)", s)
			}
		default:
			switch {
			case c >= '0' && c <= '9' || c >= 'a' && c <= 'f':
			case c >= 'A' && c <= 'F':
				upper = true
			default:
				return fmt.Errorf("%q is not a UUID (non-hex character)", s)
			}
		}
	}
	if upper {
		return fmt.Errorf("%q has upper-case letters; ids are lower-case UUIDs (%s)", s, strings.ToLower(s))
	}
	return nil
}

// ValidUUID7 checks a UUID of version 7 (time-ordered), the form of every
// client-made mutation id.
func ValidUUID7(s string) error {
	if err := ValidUUID(s); err != nil {
		return err
	}
	if s[14] != '7' {
		return fmt.Errorf("%s is a version %c UUID; mutation ids are UUIDv7", s, s[14])
	}
	return nil
}

// CheckText is the one check of free text a person typed (names,
// addresses, notes, device names): at most max bytes of valid UTF-8
// without control characters other than tab and newline. NUL, escape
// sequences, carriage returns and C1 controls would otherwise reach
// leaders' screens, logs and exports as they were sent.
func CheckText(field, s string, max int) error {
	if len(s) > max {
		return Errorf(CodeInvalid, "%s is %d bytes; at most %d", field, len(s), max)
	}
	if !utf8.ValidString(s) {
		return Errorf(CodeInvalid, "%s is not valid UTF-8", field)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		r := rune(-1)
		switch {
		case c < 0x20 && c != '\t' && c != '\n', c == 0x7f:
			r = rune(c)
		case c == 0xc2 && i+1 < len(s) && s[i+1] >= 0x80 && s[i+1] <= 0x9f: // U+0080–U+009F
			r = rune(s[i+1])
		}
		if r >= 0 {
			return Errorf(CodeInvalid, "%s contains the control character U+%04X at byte %d; only tab and newline are allowed in text", field, r, i)
		}
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
