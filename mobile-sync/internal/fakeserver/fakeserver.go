// Package fakeserver is an in-memory stand-in for the Patrol sync server,
// faithful to the wire types of package schema, so that the device library
// and its command line can be tested alone: enrolment, paginated gzip pull
// with visibility changes and resets, idempotent push with field-level HLC
// merge, conflicts and rejections, and scripted HTTP failures.
package fakeserver

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/patrolhq/patrol/schema"
)

// Fault is one scripted failure: the next request to Path is answered with
// Status (and Retry-After when set) instead of being served.
type Fault struct {
	Path       string
	Status     int
	RetryAfter string
}

type device struct {
	id, username string
	squad        int64
}

type venueRow struct {
	v   schema.Venue
	seq int64
}

type inspRow struct {
	in  schema.Inspection
	seq int64
}

type bodyRow struct {
	kind  string
	id    string
	body  any
	squad int64 // 0: visible to all
	seq   int64
}

// Server is the fake. Its exported fields are read by tests under Lock.
type Server struct {
	URL string

	mu          sync.Mutex
	now         time.Time
	clock       *schema.Clock
	seq         int64
	users       map[string]int64 // username → squad
	codes       map[string]string
	devices     map[string]device // token → device
	venues      map[string]*venueRow
	inspections map[string]*inspRow
	others      map[string]*bodyRow
	applied     map[string]schema.MutationResult
	faults      []Fault
	resetNext   map[string]bool // device id → next pull resets

	// PushLog holds the mutation ids of every push request served, in order.
	PushLog [][]string
	// GzipPushes counts push bodies that arrived gzip-compressed.
	GzipPushes int
	// Conflicts counts recorded conflicts.
	Conflicts int
	// Applies counts mutations applied (not duplicates).
	Applies int
	// PushOverride, when set, answers push requests instead of the merge.
	PushOverride func(dev string, req *schema.PushRequest) *schema.PushResponse
}

// New starts a fake server on loopback whose clock reads now.
func New(t testing.TB, now time.Time) *Server {
	t.Helper()
	s := &Server{
		now: now, clock: schema.NewClock("server", func() time.Time { return now }),
		users: map[string]int64{}, codes: map[string]string{}, devices: map[string]device{},
		venues: map[string]*venueRow{}, inspections: map[string]*inspRow{}, others: map[string]*bodyRow{},
		applied: map[string]schema.MutationResult{}, resetNext: map[string]bool{},
	}
	hs := httptest.NewServer(s)
	t.Cleanup(hs.Close)
	s.URL = hs.URL
	return s
}

// Lock guards the exported counters while a test reads them.
func (s *Server) Lock() { s.mu.Lock() }

// Unlock releases Lock.
func (s *Server) Unlock() { s.mu.Unlock() }

func (s *Server) nextSeq() int64 { s.seq++; return s.seq }

// AddUser creates an inspector of a squad, also visible as a member.
func (s *Server) AddUser(username string, squad int64, name, badge string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[username] = squad
	s.others["member/"+username] = &bodyRow{kind: schema.ChangeMember, id: username, squad: squad, seq: s.nextSeq(),
		body: schema.Member{Username: username, Name: name, BadgeNo: badge, Role: schema.RoleInspector, SquadID: squad}}
}

// AddCode makes a one-time enrolment code for username.
func (s *Server) AddCode(code, username string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.codes[code] = username
}

// RevokeAll forgets every device token.
func (s *Server) RevokeAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.devices = map[string]device{}
}

// AddSchool adds a school visible to every device.
func (s *Server) AddSchool(sc schema.School) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.others["school/"+sc.ID] = &bodyRow{kind: schema.ChangeSchool, id: sc.ID, body: sc, seq: s.nextSeq()}
}

// PutVenue creates or replaces a venue as an admin would, with fresh clocks.
func (s *Server) PutVenue(v schema.Venue) {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := s.clock.Tick().String()
	v.Clocks = map[string]string{}
	for _, f := range schema.VenueFields {
		v.Clocks[f] = h
	}
	if v.OpenState == "" {
		v.OpenState = schema.OpenStateOpen
	}
	v.UpdatedAt = s.now
	s.venues[v.ID] = &venueRow{v: v, seq: s.nextSeq()}
}

// EditVenue changes one field as an admin, stamped with a new server HLC.
func (s *Server) EditVenue(id, field, value string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.venues[id]
	setField(&r.v, field, value)
	r.v.Clocks[field] = s.clock.Tick().String()
	r.seq = s.nextSeq()
}

// MoveVenue reassigns a venue to another squad.
func (s *Server) MoveVenue(id string, squad int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.venues[id]
	r.v.SquadID = squad
	r.seq = s.nextSeq()
}

// DeleteVenue marks a venue deleted.
func (s *Server) DeleteVenue(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.venues[id]
	r.v.Deleted = true
	r.seq = s.nextSeq()
}

// Venue returns the server's venue.
func (s *Server) Venue(id string) (schema.Venue, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.venues[id]
	if !ok {
		return schema.Venue{}, false
	}
	v := r.v
	v.Clocks = maps(r.v.Clocks)
	return v, true
}

// Inspection returns the server's inspection.
func (s *Server) Inspection(id string) (schema.Inspection, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.inspections[id]
	if !ok {
		return schema.Inspection{}, false
	}
	return r.in, true
}

// InspectionCount is how many inspections the server holds.
func (s *Server) InspectionCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.inspections)
}

// Review marks an inspection reviewed by a squad leader.
func (s *Server) Review(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.inspections[id]
	r.in.Status = schema.StatusReviewed
	r.in.Review = &schema.Review{ReviewedBy: "leader1", ReviewedAt: s.now, Decision: "accepted"}
	r.seq = s.nextSeq()
}

// ResetAll makes every device's next pull a reset.
func (s *Server) ResetAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, d := range s.devices {
		s.resetNext[d.id] = true
	}
}

// AddFaults scripts failures for the next requests.
func (s *Server) AddFaults(f ...Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, f...)
}

// ServeHTTP routes the three endpoints the device uses.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.faults {
		if f.Path == r.URL.Path {
			s.faults = slices.Delete(s.faults, i, i+1)
			if f.RetryAfter != "" {
				w.Header().Set("Retry-After", f.RetryAfter)
			}
			writeError(w, schema.Errorf(schema.CodeForStatus(f.Status), "scripted failure %d", f.Status), f.Status)
			return
		}
	}
	if r.Method != http.MethodPost {
		writeError(w, schema.Errorf(schema.CodeNotFound, "no route"), 0)
		return
	}
	body, err := readBody(r)
	if err != nil {
		writeError(w, schema.Errorf(schema.CodeInvalid, "%v", err), 0)
		return
	}
	switch r.URL.Path {
	case schema.PathEnroll:
		s.enroll(w, body)
		return
	case schema.PathPull, schema.PathPush:
	default:
		writeError(w, schema.Errorf(schema.CodeNotFound, "no route %s", r.URL.Path), 0)
		return
	}
	dev, ok := s.devices[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]
	if !ok {
		writeError(w, schema.Errorf(schema.CodeUnauthorized, "unknown or revoked token"), 0)
		return
	}
	if r.URL.Path == schema.PathPull {
		var req schema.PullRequest
		if err := schema.DecodeJSON(bytes.NewReader(body), &req); err != nil {
			writeError(w, err.(*schema.Error), 0)
			return
		}
		writeJSON(w, r, s.pull(dev, &req))
		return
	}
	if r.Header.Get("Content-Encoding") == "gzip" {
		s.GzipPushes++
	}
	req, err := schema.DecodePushRequest(bytes.NewReader(body))
	if err != nil {
		writeError(w, err.(*schema.Error), 0)
		return
	}
	ids := make([]string, len(req.Mutations))
	for i, m := range req.Mutations {
		ids[i] = m.ID
	}
	s.PushLog = append(s.PushLog, ids)
	if s.PushOverride != nil {
		writeJSON(w, r, s.PushOverride(dev.id, req))
		return
	}
	if h, err := schema.ParseHLC(req.HLC); err == nil {
		s.clock.Observe(h)
	}
	resp := &schema.PushResponse{ServerTime: s.now}
	for i := range req.Mutations {
		resp.Results = append(resp.Results, s.apply(dev, &req.Mutations[i]))
	}
	resp.ServerHLC = s.clock.Tick().String()
	writeJSON(w, r, resp)
}

func (s *Server) enroll(w http.ResponseWriter, body []byte) {
	var req schema.EnrollRequest
	if err := schema.DecodeJSON(bytes.NewReader(body), &req); err != nil {
		writeError(w, err.(*schema.Error), 0)
		return
	}
	user, ok := s.codes[req.Code]
	if !ok {
		writeError(w, schema.Errorf(schema.CodeUnauthorized, "enrolment code unknown or used"), 0)
		return
	}
	delete(s.codes, req.Code)
	n := len(s.devices) + 1
	d := device{id: "00000000-0000-4000-8000-" + strconv.FormatInt(int64(100000000000+n), 10), username: user, squad: s.users[user]}
	tok := "token-" + d.id
	s.devices[tok] = d
	writeJSON(w, nil, schema.EnrollResponse{DeviceID: d.id, Token: tok, Username: user, SquadID: d.squad, ServerTime: s.now})
}

func (s *Server) pull(dev device, req *schema.PullRequest) *schema.PullResponse {
	after, _ := strconv.ParseInt(req.Cursor, 10, 64)
	reset := s.resetNext[dev.id]
	if reset {
		after = 0
		delete(s.resetNext, dev.id)
	}
	var changes []schema.Change
	for _, r := range s.venues {
		if r.seq <= after {
			continue
		}
		if r.v.SquadID == dev.squad && !r.v.Deleted {
			v := r.v
			v.Clocks = maps(r.v.Clocks)
			changes = append(changes, schema.Change{Seq: r.seq, Kind: schema.ChangeVenue, ID: v.ID, Venue: &v})
		} else if !reset {
			changes = append(changes, schema.Change{Seq: r.seq, Kind: schema.ChangeVenue, ID: r.v.ID, Removed: true})
		}
	}
	for _, r := range s.inspections {
		if r.seq <= after || r.in.SquadID != dev.squad || !names(r.in.Inspectors, dev.username) {
			continue
		}
		in := r.in
		changes = append(changes, schema.Change{Seq: r.seq, Kind: schema.ChangeInspection, ID: in.ID, Inspection: &in})
	}
	for _, r := range s.others {
		if r.seq <= after || (r.squad != 0 && r.squad != dev.squad) {
			continue
		}
		ch := schema.Change{Seq: r.seq, Kind: r.kind, ID: r.id}
		switch b := r.body.(type) {
		case schema.Member:
			ch.Member = &b
		case schema.School:
			ch.School = &b
		}
		changes = append(changes, ch)
	}
	sort.Slice(changes, func(i, j int) bool { return changes[i].Seq < changes[j].Seq })
	limit := req.Limit
	if limit <= 0 || limit > 100 {
		limit = 100
	}
	resp := &schema.PullResponse{Reset: reset, ServerTime: s.now, Cursor: strconv.FormatInt(max(after, s.seq), 10)}
	if len(changes) > limit {
		changes = changes[:limit]
		resp.More = true
		resp.Cursor = strconv.FormatInt(changes[limit-1].Seq, 10)
	}
	resp.Changes = changes
	if resp.Changes == nil {
		resp.Changes = []schema.Change{}
	}
	resp.ServerHLC = s.clock.Tick().String()
	return resp
}

func (s *Server) apply(dev device, m *schema.Mutation) schema.MutationResult {
	if prev, ok := s.applied[m.ID]; ok {
		prev.Original = prev.Outcome
		prev.Outcome = schema.OutcomeDuplicate
		return prev
	}
	res := s.merge(dev, m)
	res.ID = m.ID
	s.applied[m.ID] = res
	if res.Outcome == schema.OutcomeApplied {
		s.Applies++
	}
	if res.Outcome == schema.OutcomeConflict {
		s.Conflicts++
	}
	return res
}

func (s *Server) merge(dev device, m *schema.Mutation) schema.MutationResult {
	if err := schema.ValidateMutation(m, schema.EmbeddedChecklists); err != nil {
		e := err.(*schema.Error)
		return schema.MutationResult{Outcome: schema.OutcomeRejected, Code: e.Code, Reason: e.Message}
	}
	if h, err := schema.ParseHLC(m.HLC); err == nil {
		s.clock.Observe(h)
	}
	switch m.Kind {
	case schema.MutVenueCreate:
		v := *m.Venue
		if v.SquadID != dev.squad {
			return schema.MutationResult{Outcome: schema.OutcomeRejected, Code: schema.CodeForbidden, Reason: "venue not in your squad"}
		}
		if r, ok := s.venues[v.ID]; ok {
			cur := r.v
			return schema.MutationResult{Outcome: schema.OutcomeConflict, Reason: "venue exists", ServerVenue: &cur}
		}
		v.CreatedBy = dev.id
		v.Clocks = maps(v.Clocks)
		s.venues[v.ID] = &venueRow{v: v, seq: s.nextSeq()}
		return schema.MutationResult{Outcome: schema.OutcomeApplied}
	case schema.MutVenueUpdate:
		u := m.VenueUpdate
		r, ok := s.venues[u.VenueID]
		if !ok || r.v.Deleted {
			return schema.MutationResult{Outcome: schema.OutcomeConflict, Reason: "venue was deleted on the server",
				ServerVenue: &schema.Venue{ID: u.VenueID, Deleted: true}}
		}
		if r.v.SquadID != dev.squad {
			return schema.MutationResult{Outcome: schema.OutcomeRejected, Code: schema.CodeForbidden, Reason: "venue not in your squad"}
		}
		conflict := false
		for f, e := range u.Fields {
			cur := r.v.Clocks[f]
			if e.Base != cur {
				conflict = true
			}
			if m.HLC > cur {
				setField(&r.v, f, e.Value)
				r.v.Clocks[f] = m.HLC
			}
		}
		r.seq = s.nextSeq()
		if conflict {
			cur := r.v
			cur.Clocks = maps(r.v.Clocks)
			return schema.MutationResult{Outcome: schema.OutcomeConflict, Reason: "concurrent edit", ConflictID: "c-" + m.ID, ServerVenue: &cur}
		}
		return schema.MutationResult{Outcome: schema.OutcomeApplied}
	case schema.MutInspectionUpsert:
		in := *m.Inspection
		if r, ok := s.inspections[in.ID]; ok {
			if r.in.Status == schema.StatusReviewed {
				cur := r.in
				return schema.MutationResult{Outcome: schema.OutcomeConflict, Reason: "inspection already reviewed", ServerInspection: &cur}
			}
			if r.in.HLC >= m.HLC {
				return schema.MutationResult{Outcome: schema.OutcomeApplied}
			}
		}
		in.DeviceID = dev.id
		s.inspections[in.ID] = &inspRow{in: in, seq: s.nextSeq()}
		return schema.MutationResult{Outcome: schema.OutcomeApplied}
	}
	return schema.MutationResult{Outcome: schema.OutcomeRejected, Code: schema.CodeInvalid, Reason: "unknown kind"}
}

func names(ins []schema.Inspector, u string) bool {
	for _, p := range ins {
		if p.Username == u {
			return true
		}
	}
	return false
}

func setField(v *schema.Venue, f, value string) {
	switch f {
	case schema.FieldName:
		v.Name = value
	case schema.FieldAddress:
		v.Address = value
	case schema.FieldLicenceNo:
		v.LicenceNo = value
	case schema.FieldLicensed:
		v.Licensed = value == "true"
	case schema.FieldPhone:
		v.Phone = value
	case schema.FieldOpenState:
		v.OpenState = value
	}
}

func maps(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func readBody(r *http.Request) ([]byte, error) {
	var rd io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			return nil, err
		}
		rd = zr
	}
	return io.ReadAll(io.LimitReader(rd, schema.MaxPushBytes))
}

func writeJSON(w http.ResponseWriter, r *http.Request, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	if r != nil && strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
		w.Header().Set("Content-Encoding", "gzip")
		zw := gzip.NewWriter(w)
		zw.Write(b)
		zw.Close()
		return
	}
	w.Write(b)
}

func writeError(w http.ResponseWriter, e *schema.Error, status int) {
	if status == 0 {
		status = schema.HTTPStatus(e.Code)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(schema.ErrorBody{Error: *e})
}
