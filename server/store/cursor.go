package store

import (
	"encoding/base64"
	"encoding/json"
	"sort"

	"github.com/patrolhq/patrol/schema"
)

// Cursor is a pull cursor decoded: the user and squad whose visible set it
// walks, the squad's scope version, and the last change seq delivered.
// Every adapter encodes it the same way, so that a device's cursor stays
// valid when its deployment moves from one store to another with its seqs.
type Cursor struct {
	V  int    `json:"v"`
	U  string `json:"u"`
	S  int64  `json:"s"`
	SV int64  `json:"sv"`
	Q  int64  `json:"q"`
}

// Encode is the cursor as the device holds it.
func (c Cursor) Encode() string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

// DecodeCursor decodes a cursor a device sent; false for anything that is
// not one (a device may send any bytes).
func DecodeCursor(s string) (Cursor, bool) {
	if s == "" || len(s) > 1024 {
		return Cursor{}, false
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return Cursor{}, false
	}
	var c Cursor
	if err := json.Unmarshal(b, &c); err != nil || c.V != 1 || c.Q < 0 {
		return Cursor{}, false
	}
	return c, true
}

// ResumeCursor is where a pull of user in squad (at scope version scope)
// continues: from the device's cursor when it walks that same set, else
// from the start with reset set, so the device drops what it held.
func ResumeCursor(s, user string, squad, scope int64) (c Cursor, reset bool) {
	c, ok := DecodeCursor(s)
	if !ok || c.U != user || c.S != squad || c.SV != scope {
		return Cursor{V: 1, U: user, S: squad, SV: scope}, true
	}
	return c, false
}

// CutPage orders the changes a pull fetched (up to limit+1 of each kind
// past the cursor) by seq and cuts them to a page of at most limit, never
// inside one seq: the cursor could not say where inside it the page
// stopped. more reports that changes remain; when every change of the
// page shares one seq (whole reports false), the caller fetches that seq
// whole (page holds seq in Seq of its first change).
func CutPage(changes []schema.Change, limit int) (page []schema.Change, more, whole bool) {
	sort.SliceStable(changes, func(i, j int) bool { return changes[i].Seq < changes[j].Seq })
	if len(changes) <= limit {
		return changes, false, true
	}
	last := changes[limit-1].Seq
	if changes[limit].Seq != last {
		return changes[:limit], true, true
	}
	cut := limit - 1
	for cut >= 0 && changes[cut].Seq == last {
		cut--
	}
	if cut >= 0 {
		return changes[:cut+1], true, true
	}
	return changes[:limit], true, false
}

// InspectionCursor is the keyset position of an inspection listing: the
// started_at (as stored) and id of the last inspection delivered. Every
// adapter encodes it the same way.
type InspectionCursor struct {
	Key string `json:"k"`
	ID  string `json:"i"`
}

// InspectionCursorOf is the After that continues a listing past in.
func InspectionCursorOf(in schema.Inspection) string {
	b, _ := json.Marshal(InspectionCursor{Key: schema.FormatTime(in.StartedAt), ID: in.ID})
	return base64.RawURLEncoding.EncodeToString(b)
}

// DecodeInspectionCursor decodes the After of an inspection filter; one
// that is not a cursor (a client may send any text) is invalid.
func DecodeInspectionCursor(s string) (InspectionCursor, error) {
	var c InspectionCursor
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(s) > 512 || json.Unmarshal(b, &c) != nil || c.ID == "" {
		return c, schema.Errorf(schema.CodeInvalid, "after is not a cursor of this inspection listing; start again without it")
	}
	if _, err := schema.ParseTime(c.Key); err != nil || c.Key == "" {
		return c, schema.Errorf(schema.CodeInvalid, "after is not a cursor of this inspection listing; start again without it")
	}
	return c, nil
}
