package server

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/auth"
	"github.com/patrolhq/patrol/server/store"
)

// clockSample measures a device's clock offset (client time minus server
// receipt time; positive means the device runs ahead). The body's
// client_time wins over the Patrol-Client-Time header; without either there
// is nothing to measure.
func clockSample(c echo.Context, p *auth.Principal, clientTime time.Time, hlc string, receivedAt time.Time, endpoint string) *store.ClockSample {
	if clientTime.IsZero() {
		if h := c.Request().Header.Get(schema.HeaderClientTime); h != "" {
			if t, err := time.Parse(time.RFC3339Nano, h); err == nil {
				clientTime = t
			}
		}
	}
	if clientTime.IsZero() {
		return nil
	}
	if _, err := schema.ParseHLC(hlc); err != nil {
		hlc = ""
	}
	return &store.ClockSample{DeviceID: p.DeviceID, At: receivedAt, OffsetMS: clientTime.Sub(receivedAt).Milliseconds(), Endpoint: endpoint, HLC: hlc}
}

// observeDeviceHLC merges a device's clock into the server's unless it runs
// implausibly far ahead (it would drag every later server stamp with it).
func (s *Server) observeDeviceHLC(hlc string, now time.Time) {
	h, err := schema.ParseHLC(hlc)
	if err != nil || h.IsZero() || schema.HLCRunsAhead(h, now) {
		return
	}
	s.store.Clock().Observe(h)
}

func (s *Server) pull(c echo.Context) error {
	p := principal(c)
	received := s.cfg.Now()
	var req schema.PullRequest
	if err := bindJSON(c, schema.MaxSmallBodyBytes, &req); err != nil {
		return err
	}
	ctx := c.Request().Context()
	s.observeDeviceHLC(req.HLC, received)
	page, err := s.store.Pull(ctx, store.PullInput{UserID: p.UserID, DeviceID: p.DeviceID, SquadID: p.SquadID, Cursor: req.Cursor, Limit: req.Limit})
	if err != nil {
		return err
	}
	if cs := clockSample(c, p, req.ClientTime, req.HLC, received, "pull"); cs != nil && s.clockSampleDue(p.DeviceID, received) {
		if err := s.store.RecordClockSample(ctx, *cs); err != nil {
			return err
		}
	}
	if page.Changes == nil {
		page.Changes = []schema.Change{}
	}
	for i := range page.Changes {
		s.metrics.PulledChanges.WithLabelValues(page.Changes[i].Kind).Inc()
	}
	return writeJSON(c, http.StatusOK, schema.PullResponse{Reset: page.Reset, Changes: page.Changes, Cursor: page.Cursor, More: page.More,
		ServerTime: received.UTC(), ServerHLC: s.store.Clock().Tick().String()})
}

// push applies a batch of mutations. The body is read whole, then decoded
// mutation by mutation while the store applies the first ones
// (schema.PushStream); a body in any other form, valid or not, goes
// through schema.DecodePushRequest, which accepts it or says what is wrong.
func (s *Server) push(c echo.Context) error {
	p := principal(c)
	received := s.cfg.Now()
	r, done, err := body(c, s.cfg.MaxBodyBytes)
	if err != nil {
		return err
	}
	raw, rerr := readBody(r, c.Request().ContentLength, s.cfg.MaxBodyBytes)
	done()
	if rerr != nil {
		// The decoder words read failures (too large, cut short) for people.
		_, err := schema.DecodePushRequest(io.MultiReader(strings.NewReader(raw), errReader{rerr}))
		if err == nil {
			err = schema.Errorf(schema.CodeInvalid, "cannot read the request body: %v", rerr)
		}
		return err
	}
	ctx := c.Request().Context()
	in := store.PushInput{DeviceID: p.DeviceID, UserID: p.UserID, SquadID: p.SquadID, ReceivedAt: received}
	if st, err := schema.NewPushStream(raw); err == nil {
		s.observeDeviceHLC(st.HLC, received)
		in.Stream = st
		in.Clock = clockSample(c, p, st.ClientTime, st.HLC, received, "push")
		results, err := s.store.Push(ctx, in)
		if err == nil {
			return s.pushResponse(c, in, results)
		}
		if !errors.Is(err, schema.ErrPushStreamUnsupported) {
			return err
		}
	}
	req, err := schema.DecodePushRequest(strings.NewReader(raw))
	if err != nil {
		return err
	}
	s.observeDeviceHLC(req.HLC, received)
	in.Stream, in.Request = nil, req
	in.Clock = clockSample(c, p, req.ClientTime, req.HLC, received, "push")
	results, err := s.store.Push(ctx, in)
	if err != nil {
		return err
	}
	return s.pushResponse(c, in, results)
}

// pushResponse answers a committed push; its clock sample was recorded in
// the push's transaction, so the pulls that follow need not record one.
func (s *Server) pushResponse(c echo.Context, in store.PushInput, results []schema.MutationResult) error {
	if in.Clock != nil {
		s.clockSampleRecorded(in.DeviceID, in.ReceivedAt)
	}
	for i := range results {
		s.metrics.Mutations.WithLabelValues(results[i].Outcome).Inc()
	}
	return writeJSON(c, http.StatusOK, pushAnswer{Results: results, ServerTime: in.ReceivedAt.UTC(), ServerHLC: s.store.Clock().Tick().String()})
}

// pushAnswer is schema.PushResponse with a faster encoding of its results:
// a push answers up to a thousand mutations, nearly all of them plainly.
type pushAnswer struct {
	Results    mutationResults `json:"results"`
	ServerTime time.Time       `json:"server_time"`
	ServerHLC  string          `json:"server_hlc"`
}

// mutationResults encodes like []schema.MutationResult.
type mutationResults []schema.MutationResult

// MarshalJSON writes plain answers directly and leaves those carrying the
// server's version of a record to encoding/json.
func (rs mutationResults) MarshalJSON() ([]byte, error) {
	if rs == nil {
		return []byte("null"), nil
	}
	b := make([]byte, 0, 64*len(rs)+2)
	b = append(b, '[')
	for i := range rs {
		if i > 0 {
			b = append(b, ',')
		}
		r := &rs[i]
		if r.ServerVenue != nil || r.ServerInspection != nil {
			one, err := json.Marshal(r)
			if err != nil {
				return nil, err
			}
			b = append(b, one...)
			continue
		}
		b = append(b, `{"id":`...)
		b = schema.AppendJSONString(b, r.ID)
		b = append(b, `,"outcome":`...)
		b = schema.AppendJSONString(b, r.Outcome)
		for _, f := range [...]struct{ name, value string }{{"original", r.Original}, {"code", string(r.Code)}, {"reason", r.Reason}, {"conflict_id", r.ConflictID}} {
			if f.value != "" {
				b = append(b, ',', '"')
				b = append(b, f.name...)
				b = append(b, '"', ':')
				b = schema.AppendJSONString(b, f.value)
			}
		}
		b = append(b, '}')
	}
	return append(b, ']'), nil
}

// readBody reads a whole bounded body, sized by its Content-Length when
// the client sent one. It is read into a string, which the push decoder
// slices without copying.
func readBody(r io.Reader, contentLength, limit int64) (string, error) {
	var b strings.Builder
	if contentLength > 0 && contentLength <= limit {
		b.Grow(int(contentLength))
	}
	_, err := io.Copy(&b, r)
	return b.String(), err
}

// errReader fails every read with err.
type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }
