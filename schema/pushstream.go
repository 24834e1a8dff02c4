package schema

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// ErrPushStreamUnsupported reports that a push body is not in the form
// PushStream decodes. It says nothing about whether the body is valid:
// decode it with DecodePushRequest, which either accepts it or says in
// words what is wrong.
var ErrPushStreamUnsupported = errors.New("schema: push body needs the full decoder")

// maxSkipDepth bounds the nesting PushStream follows inside values it
// skips; deeper bodies go to the full decoder.
const maxSkipDepth = 256

// PushStream decodes a push request body one mutation at a time, so that a
// server can apply the first mutations of a batch while it still decodes
// the rest. It reads the form encoding/json writes (client_time and hlc
// before mutations, every key spelled exactly) and returns
// ErrPushStreamUnsupported for anything else, including every invalid
// body. It knows every member the wire types' struct tags name (see
// pushfields.go) and hands those it does not decode itself to
// encoding/json, so whatever it does decode equals what DecodePushRequest
// decodes from the same body; the member-by-member and fuzz tests of this
// package check that.
type PushStream struct {
	// ClientTime and HLC are the request's fields; both are set once
	// NewPushStream returns.
	ClientTime time.Time
	HLC        string

	d       pushDecoder
	n       int // mutations decoded so far
	done    bool
	seenIDs map[string]struct{}
}

// NewPushStream reads a push body up to its first mutation. The decoded
// strings share the body's memory.
func NewPushStream(body string) (*PushStream, error) {
	s := &PushStream{d: pushDecoder{s: body}, seenIDs: make(map[string]struct{}, 64)}
	d := &s.d
	d.ws()
	if !d.eat('{') {
		return nil, ErrPushStreamUnsupported
	}
	var seen uint64
	for first := true; ; first = false {
		d.ws()
		if !first && !d.eat(',') {
			// A body without mutations, or not an object: rare forms.
			return nil, ErrPushStreamUnsupported
		}
		key, ok := d.key()
		if !ok {
			return nil, ErrPushStreamUnsupported
		}
		i := fieldIndex(pushRequestKeys, key)
		if i < 0 {
			if foldsToAny(pushRequestKeys, key) || !d.skip(0) {
				return nil, ErrPushStreamUnsupported
			}
			continue
		}
		if seen&(1<<i) != 0 {
			return nil, ErrPushStreamUnsupported
		}
		seen |= 1 << i
		switch i {
		case reqClientTime:
			ok = d.timeVal(&s.ClientTime)
		case reqHLC:
			ok = d.strVal(&s.HLC)
		case reqMutations:
			if s.HLC != "" {
				if _, err := ParseHLC(s.HLC); err != nil {
					return nil, ErrPushStreamUnsupported
				}
			}
			d.ws()
			if d.lit("null") { // encoding/json's form of no mutations
				if err := s.finish(); err != nil {
					return nil, err
				}
				return s, nil
			}
			if d.eat('[') {
				return s, nil
			}
			ok = false
		default:
			// A member PushStream has no place for: the full decoder
			// decodes the request with it.
			ok = false
		}
		if !ok {
			return nil, ErrPushStreamUnsupported
		}
	}
}

// Next decodes the next mutation into m. It returns false once the batch
// is exhausted and the rest of the body checked.
func (s *PushStream) Next(m *Mutation) (bool, error) {
	if s.done {
		return false, nil
	}
	d := &s.d
	d.ws()
	if s.n == 0 {
		if d.eat(']') {
			return false, s.finish()
		}
	} else if d.eat(']') {
		return false, s.finish()
	} else if !d.eat(',') {
		return false, ErrPushStreamUnsupported
	}
	s.n++
	if s.n > MaxMutationsPerPush {
		return false, ErrPushStreamUnsupported
	}
	*m = Mutation{}
	d.ws()
	if !decodeObject(d, mutationFields, m) {
		return false, ErrPushStreamUnsupported
	}
	if m.ID != "" {
		if _, dup := s.seenIDs[m.ID]; dup {
			return false, ErrPushStreamUnsupported
		}
		s.seenIDs[m.ID] = struct{}{}
	}
	return true, nil
}

// finish checks what follows the mutations: keys that would change the
// request's fields after mutations were handed out go to the full decoder.
func (s *PushStream) finish() error {
	d := &s.d
	for {
		d.ws()
		if d.eat('}') {
			break
		}
		if !d.eat(',') {
			return ErrPushStreamUnsupported
		}
		key, ok := d.key()
		if !ok || foldsToAny(pushRequestKeys, key) || !d.skip(0) {
			return ErrPushStreamUnsupported
		}
	}
	d.ws()
	if d.pos != len(d.s) {
		return ErrPushStreamUnsupported
	}
	s.done = true
	return nil
}

// pushDecoder is a strict JSON reader over one body. Every method returns
// false on anything it does not take; the caller then gives up.
type pushDecoder struct {
	s   string // the body; strings without escapes are slices of it
	pos int
	buf []byte
}

func (d *pushDecoder) ws() {
	for d.pos < len(d.s) {
		switch d.s[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}

func (d *pushDecoder) eat(c byte) bool {
	if d.pos < len(d.s) && d.s[d.pos] == c {
		d.pos++
		return true
	}
	return false
}

func (d *pushDecoder) peek() byte {
	if d.pos < len(d.s) {
		return d.s[d.pos]
	}
	return 0
}

// lit consumes the literal word if it is next.
func (d *pushDecoder) lit(word string) bool {
	if len(d.s)-d.pos >= len(word) && d.s[d.pos:d.pos+len(word)] == word {
		d.pos += len(word)
		return true
	}
	return false
}

// key reads an object key and the colon after it.
func (d *pushDecoder) key() (string, bool) {
	d.ws()
	k, ok := d.string()
	if !ok {
		return "", false
	}
	d.ws()
	if !d.eat(':') {
		return "", false
	}
	d.ws()
	return k, true
}

// string reads a JSON string, unescaped. Invalid UTF-8, which
// encoding/json would replace, is refused.
func (d *pushDecoder) string() (string, bool) {
	if !d.eat('"') {
		return "", false
	}
	start := d.pos
	ascii := true
	for i := start; i < len(d.s); i++ {
		c := d.s[i]
		switch {
		case c == '"':
			d.pos = i + 1
			if !ascii && !utf8.ValidString(d.s[start:i]) {
				return "", false
			}
			return d.s[start:i], true
		case c == '\\':
			return d.escaped(start)
		case c < 0x20:
			return "", false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	return "", false
}

// escaped decodes a string with escapes the way encoding/json does.
func (d *pushDecoder) escaped(start int) (string, bool) {
	b := d.buf[:0]
	i := start
	for i < len(d.s) {
		c := d.s[i]
		switch {
		case c == '"':
			d.pos = i + 1
			d.buf = b
			return string(b), true
		case c < 0x20:
			return "", false
		case c == '\\':
			if i+1 >= len(d.s) {
				return "", false
			}
			switch e := d.s[i+1]; e {
			case '"', '\\', '/':
				b = append(b, e)
			case 'b':
				b = append(b, '\b')
			case 'f':
				b = append(b, '\f')
			case 'n':
				b = append(b, '\n')
			case 'r':
				b = append(b, '\r')
			case 't':
				b = append(b, '\t')
			case 'u':
				r := hex4(d.s[i+2:])
				if r < 0 {
					return "", false
				}
				i += 6
				if utf16.IsSurrogate(r) {
					r2 := rune(-1)
					if i+1 < len(d.s) && d.s[i] == '\\' && d.s[i+1] == 'u' {
						r2 = hex4(d.s[i+2:])
					}
					if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
						i += 6
						r = dec
					} else {
						r = utf8.RuneError
					}
				}
				b = utf8.AppendRune(b, r)
				continue
			default:
				return "", false
			}
			i += 2
		case c < utf8.RuneSelf:
			b = append(b, c)
			i++
		default:
			r, n := utf8.DecodeRuneInString(d.s[i:])
			if r == utf8.RuneError && n == 1 {
				return "", false
			}
			b = append(b, d.s[i:i+n]...)
			i += n
		}
	}
	return "", false
}

func hex4(s string) rune {
	if len(s) < 4 {
		return -1
	}
	var r rune
	for _, c := range []byte(s[:4]) {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1
		}
		r = r*16 + rune(c)
	}
	return r
}

// number reads a JSON number token.
func (d *pushDecoder) number() (string, bool) {
	start := d.pos
	d.eat('-')
	switch c := d.peek(); {
	case c == '0':
		d.pos++
	case '1' <= c && c <= '9':
		d.digits()
	default:
		return "", false
	}
	if d.eat('.') {
		if !d.digits() {
			return "", false
		}
	}
	if c := d.peek(); c == 'e' || c == 'E' {
		d.pos++
		if c := d.peek(); c == '+' || c == '-' {
			d.pos++
		}
		if !d.digits() {
			return "", false
		}
	}
	return d.s[start:d.pos], true
}

func (d *pushDecoder) digits() bool {
	start := d.pos
	for d.pos < len(d.s) && '0' <= d.s[d.pos] && d.s[d.pos] <= '9' {
		d.pos++
	}
	return d.pos > start
}

// skip reads and discards any valid JSON value.
func (d *pushDecoder) skip(depth int) bool {
	if depth > maxSkipDepth {
		return false
	}
	d.ws()
	switch d.peek() {
	case '{':
		d.pos++
		d.ws()
		if d.eat('}') {
			return true
		}
		for {
			if _, ok := d.key(); !ok || !d.skip(depth+1) {
				return false
			}
			d.ws()
			if d.eat('}') {
				return true
			}
			if !d.eat(',') {
				return false
			}
		}
	case '[':
		d.pos++
		d.ws()
		if d.eat(']') {
			return true
		}
		for {
			if !d.skip(depth + 1) {
				return false
			}
			d.ws()
			if d.eat(']') {
				return true
			}
			if !d.eat(',') {
				return false
			}
		}
	case '"':
		_, ok := d.string()
		return ok
	case 't':
		return d.lit("true")
	case 'f':
		return d.lit("false")
	case 'n':
		return d.lit("null")
	default:
		_, ok := d.number()
		return ok
	}
}

// array reads an array, calling elem for each element. It reports whether
// the value was an array (not null): encoding/json makes an empty,
// non-nil slice of [].
func (d *pushDecoder) array(elem func() bool) (isArray, ok bool) {
	d.ws()
	if d.lit("null") {
		return false, true
	}
	if !d.eat('[') {
		return false, false
	}
	d.ws()
	if d.eat(']') {
		return true, true
	}
	for {
		if !elem() {
			return true, false
		}
		d.ws()
		if d.eat(']') {
			return true, true
		}
		if !d.eat(',') {
			return true, false
		}
	}
}

func fieldIndex(keys []string, key string) int {
	for i, k := range keys {
		if k == key {
			return i
		}
	}
	return -1
}

// foldsToAny reports whether encoding/json would match key to one of keys
// by its case-insensitive rule.
func foldsToAny(keys []string, key string) bool {
	for _, k := range keys {
		if strings.EqualFold(k, key) {
			return true
		}
	}
	return false
}

// decodeList decodes a JSON array into *dst the way encoding/json does:
// null leaves nil, [] an empty slice.
func decodeList[T any](d *pushDecoder, dst *[]T, capHint int, elem func(*pushDecoder, *T) bool) bool {
	list := make([]T, 0, capHint)
	isArray, ok := d.array(func() bool {
		var zero T
		list = append(list, zero)
		return elem(d, &list[len(list)-1])
	})
	if isArray {
		*dst = list
	} else {
		*dst = nil
	}
	return ok
}

func (d *pushDecoder) strVal(dst *string) bool {
	d.ws()
	if d.lit("null") {
		return true
	}
	s, ok := d.string()
	if ok {
		*dst = s
	}
	return ok
}

func (d *pushDecoder) boolVal(dst *bool) bool {
	d.ws()
	switch {
	case d.lit("true"):
		*dst = true
	case d.lit("false"):
		*dst = false
	case d.lit("null"):
	default:
		return false
	}
	return true
}

func (d *pushDecoder) intVal(dst *int64) bool {
	d.ws()
	if d.lit("null") {
		return true
	}
	tok, ok := d.number()
	if !ok {
		return false
	}
	n, err := strconv.ParseInt(tok, 10, 64)
	if err != nil {
		return false
	}
	*dst = n
	return true
}

func (d *pushDecoder) floatPtr(dst **float64) bool {
	d.ws()
	if d.lit("null") {
		*dst = nil
		return true
	}
	tok, ok := d.number()
	if !ok {
		return false
	}
	f, err := strconv.ParseFloat(tok, 64)
	if err != nil {
		return false
	}
	*dst = &f
	return true
}

// timeVal hands the raw string token to time.Time's UnmarshalJSON, as
// encoding/json does.
func (d *pushDecoder) timeVal(dst *time.Time) bool {
	d.ws()
	if d.lit("null") {
		return true
	}
	start := d.pos
	if _, ok := d.string(); !ok {
		return false
	}
	return dst.UnmarshalJSON([]byte(d.s[start:d.pos])) == nil
}

func (d *pushDecoder) timePtr(dst **time.Time) bool {
	d.ws()
	if d.lit("null") {
		*dst = nil
		return true
	}
	t := new(time.Time)
	if !d.timeVal(t) {
		return false
	}
	*dst = t
	return true
}

// delegate decodes a rarely sent value with encoding/json itself.
func (d *pushDecoder) delegate(dst any) bool {
	d.ws()
	start := d.pos
	if !d.skip(0) {
		return false
	}
	return json.Unmarshal([]byte(d.s[start:d.pos]), dst) == nil
}
