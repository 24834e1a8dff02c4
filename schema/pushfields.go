package schema

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"unicode"
)

// The members PushStream knows are read from the wire types' struct tags
// when the package starts, never listed by hand: a field added to a wire
// type is known to the stream at once. The stream decodes the members a
// device sends in every push itself; any other member is handed to
// encoding/json for its value, so it decodes as DecodePushRequest decodes
// it instead of being skipped as unknown.

// wireStruct is how PushStream decodes the members of wire type T.
type wireStruct[T any] struct {
	keys   []string                      // T's JSON keys, as encoding/json names them
	decode []func(*pushDecoder, *T) bool // decode[i] reads the value of keys[i] into a T
}

// newWireStruct plans the decoding of T: own holds the decoders written for
// T's common members, by key; every other member is delegated. It panics
// when own names a key T lacks, or T uses a tag form the stream cannot
// follow, so that such a change fails every test run of the package.
func newWireStruct[T any](own map[string]func(*pushDecoder, *T) bool) *wireStruct[T] {
	t := reflect.TypeFor[T]()
	keys, index := wireKeys(t)
	if len(keys) > 64 {
		panic(fmt.Sprintf("schema: %s has %d JSON members; PushStream tracks at most 64", t, len(keys)))
	}
	w := &wireStruct[T]{keys: keys, decode: make([]func(*pushDecoder, *T) bool, len(keys))}
	for i, k := range keys {
		if dec, ok := own[k]; ok {
			w.decode[i] = dec
		} else {
			w.decode[i] = delegateField[T](index[i])
		}
	}
	for k := range own {
		if !slices.Contains(keys, k) {
			panic(fmt.Sprintf("schema: PushStream decodes %s member %q, which its struct tags no longer name", t, k))
		}
	}
	return w
}

// wireKeys names the JSON members of struct type t by encoding/json's
// rules, with the index of the field behind each.
func wireKeys(t reflect.Type) (keys []string, index []int) {
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Anonymous {
			panic(fmt.Sprintf("schema: %s embeds %s; PushStream does not promote embedded fields", t, f.Type))
		}
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if slices.Contains(strings.Split(opts, ","), "string") {
			panic(fmt.Sprintf("schema: %s.%s has the json string option, which PushStream does not follow", t, f.Name))
		}
		if !validJSONName(name) {
			name = f.Name
		}
		if slices.Contains(keys, name) {
			panic(fmt.Sprintf("schema: %s names JSON member %q twice", t, name))
		}
		keys = append(keys, name)
		index = append(index, i)
	}
	return keys, index
}

// validJSONName is encoding/json's test of a tag's name; it uses the Go
// field name instead of a name that fails it.
func validJSONName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if !strings.ContainsRune("!#$%&()*+-./:;<=>?@[]^_{|}~ ", c) && !unicode.IsLetter(c) && !unicode.IsDigit(c) {
			return false
		}
	}
	return true
}

// delegateField decodes field number index of a T with encoding/json.
func delegateField[T any](index int) func(*pushDecoder, *T) bool {
	return func(d *pushDecoder, v *T) bool {
		return d.delegate(reflect.ValueOf(v).Elem().Field(index).Addr().Interface())
	}
}

// decodeObject reads a JSON object into v. A key given twice, or one that
// encoding/json would match only case-insensitively, is refused; keys no
// member of T has are skipped, as encoding/json skips them. null leaves v
// as it is, as encoding/json does.
func decodeObject[T any](d *pushDecoder, w *wireStruct[T], v *T) bool {
	d.ws()
	if d.lit("null") {
		return true
	}
	if !d.eat('{') {
		return false
	}
	d.ws()
	if d.eat('}') {
		return true
	}
	var seen uint64
	next := 0 // encoding/json writes the members in order: try the next one first
	for {
		key, ok := d.key()
		if !ok {
			return false
		}
		i := -1
		if next < len(w.keys) && w.keys[next] == key {
			i = next
		} else {
			i = fieldIndex(w.keys, key)
		}
		if i >= 0 {
			if seen&(1<<i) != 0 || !w.decode[i](d, v) {
				return false
			}
			seen |= 1 << i
			next = i + 1
		} else if foldsToAny(w.keys, key) || !d.skip(0) {
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
}

// pushRequestKeys are PushRequest's JSON keys; NewPushStream reads the
// members at these positions and leaves any other to the full decoder.
var (
	pushRequestKeys, _ = wireKeys(reflect.TypeFor[PushRequest]())
	reqClientTime      = mustIndex(pushRequestKeys, "client_time")
	reqHLC             = mustIndex(pushRequestKeys, "hlc")
	reqMutations       = mustIndex(pushRequestKeys, "mutations")
)

func mustIndex(keys []string, key string) int {
	i := slices.Index(keys, key)
	if i < 0 {
		panic(fmt.Sprintf("schema: PushStream reads PushRequest member %q, which its struct tags no longer name", key))
	}
	return i
}

var mutationFields = newWireStruct(map[string]func(*pushDecoder, *Mutation) bool{
	"id":   func(d *pushDecoder, m *Mutation) bool { return d.strVal(&m.ID) },
	"kind": func(d *pushDecoder, m *Mutation) bool { return d.strVal(&m.Kind) },
	"hlc":  func(d *pushDecoder, m *Mutation) bool { return d.strVal(&m.HLC) },
	"inspection": func(d *pushDecoder, m *Mutation) bool {
		d.ws()
		if d.lit("null") {
			m.Inspection = nil
			return true
		}
		m.Inspection = new(Inspection)
		return decodeObject(d, inspectionFields, m.Inspection)
	},
})

var inspectionFields = newWireStruct(map[string]func(*pushDecoder, *Inspection) bool{
	"id":                func(d *pushDecoder, in *Inspection) bool { return d.strVal(&in.ID) },
	"venue_id":          func(d *pushDecoder, in *Inspection) bool { return d.strVal(&in.VenueID) },
	"squad_id":          func(d *pushDecoder, in *Inspection) bool { return d.intVal(&in.SquadID) },
	"device_id":         func(d *pushDecoder, in *Inspection) bool { return d.strVal(&in.DeviceID) },
	"status":            func(d *pushDecoder, in *Inspection) bool { return d.strVal(&in.Status) },
	"checklist_version": func(d *pushDecoder, in *Inspection) bool { return d.strVal(&in.ChecklistVersion) },
	"inspectors": func(d *pushDecoder, in *Inspection) bool {
		return decodeList(d, &in.Inspectors, 2, func(d *pushDecoder, p *Inspector) bool { return decodeObject(d, inspectorFields, p) })
	},
	"started_at":  func(d *pushDecoder, in *Inspection) bool { return d.timeVal(&in.StartedAt) },
	"finished_at": func(d *pushDecoder, in *Inspection) bool { return d.timePtr(&in.FinishedAt) },
	"items": func(d *pushDecoder, in *Inspection) bool {
		return decodeList(d, &in.Items, 16, func(d *pushDecoder, it *ItemResult) bool { return decodeObject(d, itemFields, it) })
	},
	"hlc":          func(d *pushDecoder, in *Inspection) bool { return d.strVal(&in.HLC) },
	"time_suspect": func(d *pushDecoder, in *Inspection) bool { return d.boolVal(&in.TimeSuspect) },
})

var inspectorFields = newWireStruct(map[string]func(*pushDecoder, *Inspector) bool{
	"username": func(d *pushDecoder, p *Inspector) bool { return d.strVal(&p.Username) },
	"name":     func(d *pushDecoder, p *Inspector) bool { return d.strVal(&p.Name) },
	"badge_no": func(d *pushDecoder, p *Inspector) bool { return d.strVal(&p.BadgeNo) },
})

var itemFields = newWireStruct(map[string]func(*pushDecoder, *ItemResult) bool{
	"item_id": func(d *pushDecoder, it *ItemResult) bool { return d.strVal(&it.ItemID) },
	"result":  func(d *pushDecoder, it *ItemResult) bool { return d.strVal(&it.Result) },
	"note":    func(d *pushDecoder, it *ItemResult) bool { return d.strVal(&it.Note) },
	"photos": func(d *pushDecoder, it *ItemResult) bool {
		return decodeList(d, &it.Photos, 0, func(d *pushDecoder, p *PhotoRef) bool { return decodeObject(d, photoFields, p) })
	},
})

var photoFields = newWireStruct(map[string]func(*pushDecoder, *PhotoRef) bool{
	"sha256":       func(d *pushDecoder, p *PhotoRef) bool { return d.strVal(&p.SHA256) },
	"size":         func(d *pushDecoder, p *PhotoRef) bool { return d.intVal(&p.Size) },
	"media_type":   func(d *pushDecoder, p *PhotoRef) bool { return d.strVal(&p.MediaType) },
	"captured_at":  func(d *pushDecoder, p *PhotoRef) bool { return d.timeVal(&p.CapturedAt) },
	"lat":          func(d *pushDecoder, p *PhotoRef) bool { return d.floatPtr(&p.Lat) },
	"lng":          func(d *pushDecoder, p *PhotoRef) bool { return d.floatPtr(&p.Lng) },
	"device_id":    func(d *pushDecoder, p *PhotoRef) bool { return d.strVal(&p.DeviceID) },
	"time_suspect": func(d *pushDecoder, p *PhotoRef) bool { return d.boolVal(&p.TimeSuspect) },
	"received":     func(d *pushDecoder, p *PhotoRef) bool { return d.boolVal(&p.Received) },
})
