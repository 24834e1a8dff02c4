package sqlite

import (
	"encoding/json"

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
		b = schema.AppendJSONString(b, items[i].ItemID)
		b = append(b, `,"result":`...)
		b = schema.AppendJSONString(b, items[i].Result)
		b = append(b, `,"note":`...)
		b = schema.AppendJSONString(b, items[i].Note)
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
		b = schema.AppendJSONString(b, p.Username)
		if p.Name != "" {
			b = append(b, `,"name":`...)
			b = schema.AppendJSONString(b, p.Name)
		}
		if p.BadgeNo != "" {
			b = append(b, `,"badge_no":`...)
			b = schema.AppendJSONString(b, p.BadgeNo)
		}
		b = append(b, '}')
	}
	return append(b, ']')
}
