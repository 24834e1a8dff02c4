package schema

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// The seal of an on-site record. What the party signed is hashed in one
// canonical form that both sides compute alike: times in UTC to the
// nanosecond, photos without the server's read-side flags, the record
// without its signing and amendments. A change after signing is an
// Amendment chained to the seal by hash, so that a record whose original
// was altered no longer hashes to what the party signed.

// RecordNumber is the number a device gives a record offline:
// 现检〔YYYY〕BADGE-N号, the year of started in Asia/Shanghai, the
// recording inspector's badge and the device's running count n.
func RecordNumber(started time.Time, badge string, n int) string {
	return fmt.Sprintf("现检〔%d〕%s-%d号", started.In(bureauTime).Year(), badge, n)
}

// ParseRecordNumber splits a record number into its year, badge and
// count; ok is false for anything not of the form RecordNumber makes.
func ParseRecordNumber(s string) (year int, badge string, n int, ok bool) {
	m := recordNumberPattern.FindStringSubmatch(s)
	if m == nil {
		return 0, "", 0, false
	}
	year, _ = strconv.Atoi(m[1])
	n, _ = strconv.Atoi(m[3])
	return year, m[2], n, true
}

// recordNumberPattern matches a record number: year, badge, count.
var recordNumberPattern = regexp.MustCompile(`^现检〔(\d{4})〕([^〔〕\s]+)-([1-9]\d{0,8})号$`)

// canonPhoto is a photo reference as signed: how, when and where the bytes
// were made, never whether the server has them yet.
type canonPhoto struct {
	SHA256     string   `json:"sha256"`
	Size       int64    `json:"size"`
	MediaType  string   `json:"media_type"`
	CapturedAt string   `json:"captured_at"`
	Lat        *float64 `json:"lat"`
	Lng        *float64 `json:"lng"`
	DeviceID   string   `json:"device_id"`
}

type canonItem struct {
	ItemID string       `json:"item_id"`
	Result string       `json:"result"`
	Note   string       `json:"note"`
	Photos []canonPhoto `json:"photos"`
}

func canonTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func canonItemOf(it ItemResult) canonItem {
	c := canonItem{ItemID: it.ItemID, Result: it.Result, Note: it.Note, Photos: []canonPhoto{}}
	for _, p := range it.Photos {
		c.Photos = append(c.Photos, canonPhoto{SHA256: p.SHA256, Size: p.Size, MediaType: p.MediaType, CapturedAt: canonTime(p.CapturedAt),
			Lat: p.Lat, Lng: p.Lng, DeviceID: p.DeviceID})
	}
	return c
}

// SameAnswer reports whether two answers are the same as a record signs
// them (the server's read flags aside).
func SameAnswer(a, b ItemResult) bool { return sameAnswer(a, b) }

func sameAnswer(a, b ItemResult) bool {
	ja, _ := json.Marshal(canonItemOf(a))
	jb, _ := json.Marshal(canonItemOf(b))
	return string(ja) == string(jb)
}

func hashJSON(v any) string {
	b, _ := json.Marshal(v) // plain data: never fails
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// RecordHash is the SHA-256 (hex) of the facts of an inspection's record
// as the party signed them: the inspection, venue, checklist version,
// times, inspectors, the original answers (OriginalItems) and the record
// without its signing and amendments. It is "" for an inspection without
// a record or whose amendments do not revert (ValidateRecord says why).
func RecordHash(in Inspection) string {
	if in.Record == nil {
		return ""
	}
	items, err := OriginalItems(in)
	if err != nil {
		return ""
	}
	type canonInspector struct {
		Username string `json:"username"`
		Name     string `json:"name"`
		BadgeNo  string `json:"badge_no"`
	}
	r := *in.Record
	r.Signing, r.Amendments = nil, nil
	facts := struct {
		InspectionID     string           `json:"inspection_id"`
		VenueID          string           `json:"venue_id"`
		ChecklistVersion string           `json:"checklist_version"`
		StartedAt        string           `json:"started_at"`
		FinishedAt       string           `json:"finished_at"`
		Inspectors       []canonInspector `json:"inspectors"`
		Items            []canonItem      `json:"items"`
		Record           OnSiteRecord     `json:"record"`
	}{InspectionID: in.ID, VenueID: in.VenueID, ChecklistVersion: in.ChecklistVersion, StartedAt: canonTime(in.StartedAt),
		Inspectors: []canonInspector{}, Items: []canonItem{}, Record: r}
	if in.FinishedAt != nil {
		facts.FinishedAt = canonTime(*in.FinishedAt)
	}
	for _, p := range in.Inspectors {
		facts.Inspectors = append(facts.Inspectors, canonInspector{p.Username, p.Name, p.BadgeNo})
	}
	for _, it := range items {
		facts.Items = append(facts.Items, canonItemOf(it))
	}
	return hashJSON(facts)
}

// AmendmentHash is the SHA-256 (hex) of an amendment as signed: its
// number, time, reason, changes and the hash it is chained to.
func AmendmentHash(a Amendment) string {
	type canonChange struct {
		ItemID string    `json:"item_id"`
		Before canonItem `json:"before"`
		After  canonItem `json:"after"`
	}
	facts := struct {
		N       int           `json:"n"`
		At      string        `json:"at"`
		Reason  string        `json:"reason"`
		Changes []canonChange `json:"changes"`
		Prev    string        `json:"prev"`
	}{N: a.N, At: canonTime(a.At), Reason: a.Reason, Changes: []canonChange{}, Prev: a.Prev}
	for _, c := range a.Changes {
		facts.Changes = append(facts.Changes, canonChange{c.ItemID, canonItemOf(c.Before), canonItemOf(c.After)})
	}
	return hashJSON(facts)
}

// OriginalItems gives back the answers as the party signed them: the
// inspection's answers with its record's amendments reverted, newest
// first. Each change must find its item as the change left it (After),
// else the amendments do not describe how the answers came to be and the
// record cannot be trusted.
func OriginalItems(in Inspection) ([]ItemResult, error) {
	items := slices.Clone(in.Items)
	if in.Record == nil {
		return items, nil
	}
	ams := in.Record.Amendments
	for i := len(ams) - 1; i >= 0; i-- {
		for _, c := range ams[i].Changes {
			if c.Before.ItemID != c.ItemID || c.After.ItemID != c.ItemID {
				return nil, Errorf(CodeInvalid, "amendment %d: a change of item %s must be of that item before and after", ams[i].N, truncate(c.ItemID, 20))
			}
			j := slices.IndexFunc(items, func(it ItemResult) bool { return it.ItemID == c.ItemID })
			if j < 0 {
				return nil, Errorf(CodeInvalid, "amendment %d changes item %s, which the inspection does not answer", ams[i].N, truncate(c.ItemID, 20))
			}
			if !sameAnswer(items[j], c.After) {
				return nil, Errorf(CodeInvalid, "amendment %d says item %s became something other than what the inspection answers; amendments must lead from the signed original to the answers",
					ams[i].N, c.ItemID)
			}
			items[j] = c.Before
		}
	}
	return items, nil
}

// RecordSignatures lists the signature images of an inspection's record
// (the record's signing first, then each amendment's): evidence like
// photos, uploaded, claimed and read like them.
func RecordSignatures(in *Inspection) []PhotoRef {
	if in.Record == nil {
		return nil
	}
	var out []PhotoRef
	if s := in.Record.Signing; s != nil && s.Signature != nil {
		out = append(out, *s.Signature)
	}
	for _, a := range in.Record.Amendments {
		if a.Signing != nil && a.Signing.Signature != nil {
			out = append(out, *a.Signing.Signature)
		}
	}
	return out
}

// checkRecordText bounds one text field of a record in runes, with the
// checks of CheckText.
func checkRecordText(field, s string, max int, required bool) *Error {
	if required && strings.TrimSpace(s) == "" {
		return Errorf(CodeInvalid, "on-site record: %s is empty; fill it in", field)
	}
	if err := CheckText("on-site record "+field, s, 4*max); err != nil {
		return err.(*Error)
	}
	if n := utf8.RuneCountInString(s); n > max {
		return Errorf(CodeInvalid, "on-site record: %s has %d characters; at most %d", field, n, max)
	}
	return nil
}

// checkIDLast checks the kept tail of an ID number.
func checkIDLast(field, s string) *Error {
	if utf8.RuneCountInString(s) > IDLastDigits {
		return Errorf(CodeInvalid, "on-site record: %s keeps %d characters of the ID number; keep only the last %d", field, utf8.RuneCountInString(s), IDLastDigits)
	}
	for _, r := range s {
		if !(r >= '0' && r <= '9' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z') {
			return Errorf(CodeInvalid, "on-site record: %s %q is not the digits or letters of an ID number", field, truncate(s, 20))
		}
	}
	return nil
}

// ValidateSigning checks a party's answer to what hashes to hash: signed
// with an image, or refused with a reason and a witness.
func ValidateSigning(what string, s *Signing, hash string) *Error {
	if s == nil {
		return Errorf(CodeInvalid, "%s is not signed; the party signs it or refuses before a witness", what)
	}
	if s.At.IsZero() {
		return Errorf(CodeInvalid, "%s: the signing has no time", what)
	}
	if (s.Signature != nil) == (s.Refused != nil) {
		return Errorf(CodeInvalid, "%s: the signing carries a signature or a refusal, exactly one", what)
	}
	if s.Signature != nil {
		if err := ValidatePhotoRef(s.Signature); err != nil {
			return Errorf(CodeInvalid, "%s signature: %v", what, err)
		}
	} else {
		r := s.Refused
		if err := checkRecordText("refusal reason", r.Reason, MaxRecordText, true); err != nil {
			return err
		}
		if err := checkRecordText("witness name", r.Witness.Name, MaxRecordText, true); err != nil {
			return err
		}
		if err := checkRecordText("witness relation", r.Witness.Relation, MaxRecordText, false); err != nil {
			return err
		}
		if err := checkIDLast("witness id_last", r.Witness.IDLast); err != nil {
			return err
		}
	}
	if s.Hash != hash {
		return Errorf(CodeInvalid, "%s: the signing seals hash %s, but it hashes to %s; what was signed was changed", what, truncate(s.Hash, 16), truncate(hash, 16))
	}
	return nil
}

// ValidateRecord checks an inspection's on-site record as a device pushes
// it (nil when the inspection has none): what the law asks a record to
// carry, signed or refused, sealed by RecordHash, and every amendment
// chained to the one before, hashed and signed on its own.
func ValidateRecord(in *Inspection) *Error {
	r := in.Record
	if r == nil {
		return nil
	}
	if len(in.Inspectors) < 2 {
		return Errorf(CodeInvalid, "on-site record of inspection %s names %d inspector(s); the law asks for at least two", in.ID, len(in.Inspectors))
	}
	badges := map[string]bool{}
	for _, p := range in.Inspectors {
		if strings.TrimSpace(p.BadgeNo) == "" {
			return Errorf(CodeInvalid, "on-site record of inspection %s: inspector %s has no badge number", in.ID, truncate(p.Username, 40))
		}
		badges[p.BadgeNo] = true
	}
	if !r.IDsShown {
		return Errorf(CodeInvalid, "on-site record of inspection %s: the inspectors must show their law-enforcement IDs (ids_shown)", in.ID)
	}
	m := recordNumberPattern.FindStringSubmatch(r.Number)
	if m == nil {
		return Errorf(CodeInvalid, "on-site record number %q is not of the form 现检〔YYYY〕BADGE-N号", truncate(r.Number, 60))
	}
	if y, _ := strconv.Atoi(m[1]); y != in.StartedAt.In(bureauTime).Year() {
		return Errorf(CodeInvalid, "on-site record number %s names year %s; the inspection started in %d", r.Number, m[1], in.StartedAt.In(bureauTime).Year())
	}
	if !badges[m[2]] {
		return Errorf(CodeInvalid, "on-site record number %s names badge %s, which no inspector of the record carries", r.Number, truncate(m[2], 40))
	}
	if err := CheckRecordFields(r); err != nil {
		return err
	}
	if _, err := OriginalItems(*in); err != nil {
		return err.(*Error)
	}
	seal := RecordHash(*in)
	if err := ValidateSigning("on-site record "+r.Number, r.Signing, seal); err != nil {
		return err
	}
	prev := seal
	for i, a := range r.Amendments {
		what := fmt.Sprintf("amendment %d of on-site record %s", i+1, r.Number)
		if a.N != i+1 {
			return Errorf(CodeInvalid, "%s is numbered %d; amendments are numbered 1, 2, … in order", what, a.N)
		}
		if a.At.IsZero() {
			return Errorf(CodeInvalid, "%s has no time", what)
		}
		if err := checkRecordText("amendment reason", a.Reason, MaxRecordText, true); err != nil {
			return err
		}
		if len(a.Changes) == 0 {
			return Errorf(CodeInvalid, "%s changes nothing", what)
		}
		for k, c := range a.Changes {
			if c.Before.ItemID != c.ItemID || c.After.ItemID != c.ItemID {
				return Errorf(CodeInvalid, "%s: a change of item %s must be of that item before and after", what, truncate(c.ItemID, 20))
			}
			if slices.ContainsFunc(a.Changes[:k], func(p ItemChange) bool { return p.ItemID == c.ItemID }) {
				return Errorf(CodeInvalid, "%s changes item %s twice", what, c.ItemID)
			}
		}
		if a.Prev != prev {
			return Errorf(CodeInvalid, "%s is chained to %s, not to %s before it; amendments follow each other", what, truncate(a.Prev, 16), truncate(prev, 16))
		}
		if h := AmendmentHash(a); a.Hash != h {
			return Errorf(CodeInvalid, "%s names hash %s but hashes to %s", what, truncate(a.Hash, 16), truncate(h, 16))
		}
		if err := ValidateSigning(what, a.Signing, a.Hash); err != nil {
			return err
		}
		prev = a.Hash
	}
	return nil
}

// CheckRecordFields checks what the inspectors type into a record: the
// venue as found, the party (name, role, ID type, the last IDLastDigits
// characters of the ID number) and the remarks, bounded and free of
// control characters. A device checks them when they are typed, the
// server with the rest of the record (ValidateRecord).
func CheckRecordFields(r *OnSiteRecord) *Error {
	for _, f := range []struct {
		name, value string
		required    bool
	}{{"venue name", r.VenueName, true}, {"address", r.Address, true}, {"licence number", r.LicenceNo, false},
		{"party name", r.Party.Name, true}, {"party role", r.Party.Role, true}} {
		if err := checkRecordText(f.name, f.value, MaxRecordText, f.required); err != nil {
			return err
		}
	}
	if !slices.Contains(IDTypes, r.Party.IDType) {
		return Errorf(CodeInvalid, "on-site record: party id_type %q is not one of %s", truncate(r.Party.IDType, 20), strings.Join(IDTypes, ", "))
	}
	if err := checkIDLast("party id_last", r.Party.IDLast); err != nil {
		return err
	}
	if err := checkRecordText("remarks", r.Remarks, MaxRecordRemark, false); err != nil {
		return err
	}
	return nil
}

// CheckRecordChange refuses a next version of an inspection that changes
// its sealed record: once the server holds a signed record (stored), every
// later version carries the same seal over the same original, and the
// stored amendments unchanged before any new ones. Anything else is
// CodeSealed: a change of a signed record must be an amendment.
func CheckRecordChange(stored, next *Inspection) *Error {
	if stored == nil || stored.Record == nil || stored.Record.Signing == nil {
		return nil
	}
	sr := stored.Record
	sealed := func(what string) *Error {
		return Errorf(CodeSealed, "the on-site record %s of inspection %s is signed; a change must be an amendment (%s)", sr.Number, stored.ID, what)
	}
	nr := next.Record
	if nr == nil {
		return sealed("this version drops the record")
	}
	if nr.Signing == nil || nr.Signing.Hash != sr.Signing.Hash || RecordHash(*next) != sr.Signing.Hash {
		return sealed("this version changes what the party signed")
	}
	if sj, nj := mustJSON(sr.Signing), mustJSON(nr.Signing); sj != nj {
		return sealed("this version changes the signing")
	}
	if len(nr.Amendments) < len(sr.Amendments) {
		return sealed(fmt.Sprintf("this version drops amendments: %d held, %d sent", len(sr.Amendments), len(nr.Amendments)))
	}
	for i := range sr.Amendments {
		if mustJSON(sr.Amendments[i]) != mustJSON(nr.Amendments[i]) {
			return sealed(fmt.Sprintf("this version changes amendment %d", i+1))
		}
	}
	return nil
}

// mustJSON is the JSON of plain data, with times in one zone.
func mustJSON(v any) string {
	switch x := v.(type) {
	case *Signing:
		if x == nil {
			return "null"
		}
		c := *x
		c.At = c.At.UTC()
		if c.Signature != nil {
			p := *c.Signature
			p.CapturedAt, p.Received = p.CapturedAt.UTC(), false
			c.Signature = &p
		}
		v = c
	case Amendment:
		return AmendmentHash(x) + " " + x.Hash + " " + mustJSON(x.Signing)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// SealRecord signs the record of in with s (a signature or a refusal,
// and its time): the signing seals RecordHash of the record as it stands.
func SealRecord(in *Inspection, s Signing) {
	s.Hash = RecordHash(*in)
	in.Record.Signing = &s
}

// OpenAmendment starts the next amendment of the sealed record of in,
// chained to the seal or to the amendment before it, and returns it (the
// last of the record's amendments). Its reason and changes are filled in
// before SealAmendment signs it.
func OpenAmendment(in *Inspection, at time.Time) *Amendment {
	r := in.Record
	prev := ""
	if r.Signing != nil {
		prev = r.Signing.Hash
	}
	if n := len(r.Amendments); n > 0 {
		prev = r.Amendments[n-1].Hash
	}
	r.Amendments = append(r.Amendments, Amendment{N: len(r.Amendments) + 1, At: at, Prev: prev, Changes: []ItemChange{}})
	return &r.Amendments[len(r.Amendments)-1]
}

// ChangeItem records in an open amendment that an answer went from
// before to after: a second change of the same item keeps the first
// before, and a change back to it is no change at all.
func (a *Amendment) ChangeItem(before, after ItemResult) {
	i := slices.IndexFunc(a.Changes, func(c ItemChange) bool { return c.ItemID == before.ItemID })
	if i >= 0 {
		before = a.Changes[i].Before
		a.Changes = slices.Delete(a.Changes, i, i+1)
	}
	if sameAnswer(before, after) {
		return
	}
	a.Changes = append(a.Changes, ItemChange{ItemID: before.ItemID, Before: before, After: after})
}

// SealAmendment signs amendment a with s: its Hash is fixed and signed.
func SealAmendment(a *Amendment, s Signing) {
	a.Hash = AmendmentHash(*a)
	s.Hash = a.Hash
	a.Signing = &s
}

// Audit actions of the on-site record (entity AuditInspection).
const (
	AuditRecordSigned  = "record_signed"  // the party signed the record
	AuditRecordRefused = "record_refused" // the party refused before a witness
	AuditRecordAmended = "record_amended" // one amendment, signed or refused
)

// RecordEvent is one audit entry a new version of an inspection owes its
// on-site record.
type RecordEvent struct {
	Action string
	Reason string
}

// RecordEvents are the audit entries that writing next over stored (nil
// for a new inspection) implies: the signing of a record the server did
// not hold signed, and one entry for each amendment it did not hold.
func RecordEvents(stored, next *Inspection) []RecordEvent {
	r := next.Record
	if r == nil || r.Signing == nil {
		return nil
	}
	var out []RecordEvent
	var held *OnSiteRecord
	if stored != nil {
		held = stored.Record
	}
	if held == nil || held.Signing == nil {
		out = append(out, signingEvent(AuditRecordSigned, AuditRecordRefused, "record "+r.Number, r.Signing))
	}
	from := 0
	if held != nil {
		from = len(held.Amendments)
	}
	for i := from; i < len(r.Amendments); i++ {
		a := r.Amendments[i]
		e := signingEvent(AuditRecordAmended, AuditRecordAmended, fmt.Sprintf("amendment %d of record %s", a.N, r.Number), a.Signing)
		e.Reason += fmt.Sprintf("; %d item(s): %s", len(a.Changes), a.Reason)
		out = append(out, e)
	}
	return out
}

func signingEvent(signed, refused, what string, s *Signing) RecordEvent {
	if s == nil {
		return RecordEvent{Action: signed, Reason: what + " unsigned"}
	}
	if s.Refused != nil {
		return RecordEvent{Action: refused, Reason: fmt.Sprintf("%s sealed %s; the party refused (%s), witness %s", what, truncate(s.Hash, 16),
			s.Refused.Reason, s.Refused.Witness.Name)}
	}
	return RecordEvent{Action: signed, Reason: fmt.Sprintf("%s sealed %s; signed by the party", what, truncate(s.Hash, 16))}
}
