package servertest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"testing"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server"
)

// Client is a leader's or admin's session on the API, so that tests change
// the server's data the way people do, through the routes and their
// authorization.
//
// Do and the typed methods return errors and are safe to call from any
// goroutine (a device's transport hook, say); Call fails the test and
// belongs on the test goroutine.
type Client struct {
	// URL is the server's base address.
	URL string
	// Username is whom the session belongs to.
	Username string

	t     testing.TB
	token string
}

// Token is the session's bearer token, for requests a test builds itself.
func (c *Client) Token() string { return c.token }

// send makes one JSON request and returns the status and body; err is a
// transport or encoding failure.
func (c *Client) send(method, path string, in any) (int, []byte, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return 0, nil, err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.URL+path, body)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	return resp.StatusCode, raw, err
}

// Call sends a JSON request and decodes a 2xx JSON answer into out. It
// returns the status; it fails the test on transport errors and reports
// (without stopping) an error answer that carries no error body a person
// can read.
func (c *Client) Call(method, path string, in, out any) int {
	c.t.Helper()
	status, raw, err := c.send(method, path, in)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	if status < 300 && out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			c.t.Fatalf("%s %s: decode %q: %v", method, path, raw, err)
		}
	}
	if status >= 400 {
		var eb schema.ErrorBody
		if err := json.Unmarshal(raw, &eb); err != nil || eb.Error.Code == "" || eb.Error.Message == "" {
			c.t.Errorf("%s %s: HTTP %d without an error body a person can read: %q", method, path, status, raw)
		}
	}
	return status
}

// Do sends a JSON request and decodes a 2xx answer into out. An error
// answer comes back as the *schema.Error it carries (wrapped with the
// route), so tests compare codes with schema.ErrorCode.
func (c *Client) Do(method, path string, in, out any) error {
	status, raw, err := c.send(method, path, in)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if status >= 300 {
		return fmt.Errorf("%s %s as %s: %w", method, path, c.Username, schema.ResponseError(status, raw))
	}
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("%s %s: decode %q: %w", method, path, raw, err)
		}
	}
	return nil
}

// EnrollmentCode issues a one-time code with which a device enrols for
// username.
func (c *Client) EnrollmentCode(username string) (string, error) {
	var out schema.EnrollmentCodeResponse
	err := c.Do("POST", schema.PathEnrollCodes, schema.EnrollmentCodeRequest{Username: username}, &out)
	return out.Code, err
}

// RevokeDevice revokes a device's token; its next sync is told to enrol
// again.
func (c *Client) RevokeDevice(deviceID string) error {
	return c.Do("POST", schema.APIPrefix+"/devices/"+url.PathEscape(deviceID)+"/revoke", nil, nil)
}

// CreateVenue creates a venue as an admin, every field stamped with a
// fresh server clock.
func (c *Client) CreateVenue(v schema.Venue) (schema.Venue, error) {
	var out schema.Venue
	err := c.Do("POST", schema.PathVenues, v, &out)
	return out, err
}

// Venue reads a venue as the server holds it (clocks included).
func (c *Client) Venue(id string) (schema.Venue, error) {
	var out schema.Venue
	err := c.Do("GET", schema.PathVenues+"/"+url.PathEscape(id), nil, &out)
	return out, err
}

// EditVenue edits fields of a venue as a leader or admin would in the
// workbench: each edit is based on the server's current clock of its field
// and merged like a device's edit.
func (c *Client) EditVenue(id string, fields map[string]string) (server.VenueEditResponse, error) {
	var out server.VenueEditResponse
	err := c.Do("PATCH", schema.PathVenues+"/"+url.PathEscape(id), map[string]any{"fields": fields}, &out)
	return out, err
}

// MoveVenue reassigns a venue to another squad (admin).
func (c *Client) MoveVenue(id string, squad int64) (schema.Venue, error) {
	var out schema.Venue
	err := c.Do("POST", schema.PathVenues+"/"+url.PathEscape(id)+"/move", server.MoveRequest{SquadID: squad}, &out)
	return out, err
}

// DeleteVenue deletes a venue (admin); devices receive it as removed.
func (c *Client) DeleteVenue(id string) error {
	return c.Do("DELETE", schema.PathVenues+"/"+url.PathEscape(id), nil, nil)
}

// Inspection reads an inspection as the server holds it.
func (c *Client) Inspection(id string) (schema.Inspection, error) {
	var out schema.Inspection
	err := c.Do("GET", schema.PathInspections+"/"+url.PathEscape(id), nil, &out)
	return out, err
}

// Inspections lists the inspections the session may see, filtered by the
// route's query parameters (squad, status, device, since, limit).
func (c *Client) Inspections(query url.Values) ([]schema.Inspection, error) {
	path := schema.PathInspections
	if len(query) > 0 {
		path += "?" + query.Encode()
	}
	var out []schema.Inspection
	err := c.Do("GET", path, nil, &out)
	return out, err
}

// Review records a leader's decision (schema.ReviewApprove, or
// schema.ReviewReturn with a comment) on an inspection; later edits of an
// approved one from the field become conflicts.
func (c *Client) Review(id, action, comment string) (schema.Inspection, error) {
	var out schema.Inspection
	err := c.Do("POST", schema.PathInspections+"/"+url.PathEscape(id)+"/review", server.ReviewRequest{Action: action, Comment: comment}, &out)
	return out, err
}

// Conflicts lists the conflicts the session may see.
func (c *Client) Conflicts() ([]schema.Conflict, error) {
	var out []schema.Conflict
	err := c.Do("GET", schema.PathConflicts, nil, &out)
	return out, err
}

// Get fetches path with the session and returns the status, headers and
// body as they came, for answers that are not JSON (PDFs, exports).
func (c *Client) Get(path string) (int, http.Header, []byte) {
	c.t.Helper()
	req, err := http.NewRequest(http.MethodGet, c.URL+path, nil)
	if err != nil {
		c.t.Fatalf("servertest: GET %s: %v", path, err)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("servertest: GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatalf("servertest: GET %s: %v", path, err)
	}
	return resp.StatusCode, resp.Header, raw
}
