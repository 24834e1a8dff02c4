package sqlite

import (
	"encoding/json"
	"unicode/utf8"

	"github.com/patrolhq/patrol/schema"
)

// The JSON columns of an inspection are written for every pushed record.
// appendItemsJSON and appendInspectorsJSON write exactly what json.Marshal
// writes for them, without reflection; items with photos, which carry
// times and floats, are left to json.Marshal. A fuzz test holds the two
// byte for byte equal.

// itemsJSON encodes items as json.Marshal does.
func itemsJSON(items []schema.ItemResult) (string, error) {
	if b, ok := appendItemsJSON(nil, items); ok {
		return string(b), nil
	}
	b, err := json.Marshal(items)
	return string(b), err
}

// inspectorsJSON encodes inspectors as json.Marshal does.
func inspectorsJSON(list []schema.Inspector) string {
	return string(appendInspectorsJSON(nil, list))
}

// appendItemsJSON appends items as json.Marshal encodes them; it declines
// (false) items with photos.
func appendItemsJSON(b []byte, items []schema.ItemResult) ([]byte, bool) {
	if items == nil {
		return append(b, "null"...), true
	}
	for i := range items {
		if len(items[i].Photos) > 0 {
			return b, false
		}
	}
	b = append(b, '[')
	for i := range items {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"item_id":`...)
		b = appendJSONString(b, items[i].ItemID)
		b = append(b, `,"result":`...)
		b = appendJSONString(b, items[i].Result)
		b = append(b, `,"note":`...)
		b = appendJSONString(b, items[i].Note)
		b = append(b, '}')
	}
	return append(b, ']'), true
}

// appendInspectorsJSON appends inspectors as json.Marshal encodes them.
func appendInspectorsJSON(b []byte, list []schema.Inspector) []byte {
	if list == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i, p := range list {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"username":`...)
		b = appendJSONString(b, p.Username)
		if p.Name != "" {
			b = append(b, `,"name":`...)
			b = appendJSONString(b, p.Name)
		}
		if p.BadgeNo != "" {
			b = append(b, `,"badge_no":`...)
			b = appendJSONString(b, p.BadgeNo)
		}
		b = append(b, '}')
	}
	return append(b, ']')
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s quoted the way encoding/json quotes strings
// (HTML characters escaped, invalid UTF-8 replaced, U+2028 and U+2029
// escaped).
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '\\', '"':
				dst = append(dst, '\\', c)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
