package server

import (
	"net/http"
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
	if err != nil || h.IsZero() || h.Time().After(now.Add(store.MaxHLCLead)) {
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
	return writeJSON(c, http.StatusOK, schema.PullResponse{Reset: page.Reset, Changes: page.Changes, Cursor: page.Cursor, More: page.More,
		ServerTime: received.UTC(), ServerHLC: s.store.Clock().Tick().String()})
}

func (s *Server) push(c echo.Context) error {
	p := principal(c)
	received := s.cfg.Now()
	r, done, err := body(c, s.cfg.MaxBodyBytes)
	if err != nil {
		return err
	}
	req, err := schema.DecodePushRequest(r)
	done()
	if err != nil {
		return err
	}
	s.observeDeviceHLC(req.HLC, received)
	results, err := s.store.Push(c.Request().Context(), store.PushInput{
		DeviceID: p.DeviceID, UserID: p.UserID, SquadID: p.SquadID, Request: req, ReceivedAt: received,
		Clock: clockSample(c, p, req.ClientTime, req.HLC, received, "push"),
	})
	if err != nil {
		return err
	}
	s.clockSampleRecorded(p.DeviceID, received)
	return writeJSON(c, http.StatusOK, schema.PushResponse{Results: results, ServerTime: received.UTC(), ServerHLC: s.store.Clock().Tick().String()})
}
