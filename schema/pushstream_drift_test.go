package schema_test

import (
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/patrolhq/patrol/schema"
)

// wireField is one member of a wire struct as encoding/json sees it.
type wireField struct {
	key string
	typ reflect.Type
}

var (
	timeType        = reflect.TypeFor[time.Time]()
	unmarshalerType = reflect.TypeFor[json.Unmarshaler]()
	textType        = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// wireFields lists the JSON members of struct type t by encoding/json's
// naming rules. It reads the tags on its own, apart from the decoder, so
// that a mistake there cannot hide here.
func wireFields(t *testing.T, st reflect.Type) []wireField {
	t.Helper()
	var out []wireField
	for i := range st.NumField() {
		f := st.Field(i)
		if f.Anonymous {
			t.Fatalf("%s embeds %s: teach this test encoding/json's promotion rules", st, f.Type)
		}
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if strings.Contains(","+opts+",", ",string,") {
			t.Fatalf("%s.%s has the string option: teach this test to write it", st, f.Name)
		}
		if name == "" {
			name = f.Name
		}
		out = append(out, wireField{key: name, typ: f.Type})
	}
	return out
}

// wrapper turns the JSON text of one value of a type into a whole push body.
type wrapper func(inner string) string

// wirePath is one way from PushRequest down to a struct type.
type wirePath struct {
	typ  reflect.Type
	name string // as PushRequest.mutations.inspection.items
	wrap wrapper
}

// wirePaths finds every struct type reachable from PushRequest by every
// path that does not pass through a type twice.
func wirePaths(t *testing.T) []wirePath {
	t.Helper()
	root := reflect.TypeFor[schema.PushRequest]()
	var out []wirePath
	var walk func(st reflect.Type, name string, wrap wrapper, onPath map[reflect.Type]bool)
	walk = func(st reflect.Type, name string, wrap wrapper, onPath map[reflect.Type]bool) {
		out = append(out, wirePath{typ: st, name: name, wrap: wrap})
		onPath[st] = true
		defer delete(onPath, st)
		for _, f := range wireFields(t, st) {
			ft, container := element(t, f.typ)
			if ft.Kind() != reflect.Struct || ft == timeType || onPath[ft] {
				continue
			}
			if reflect.PointerTo(ft).Implements(unmarshalerType) || reflect.PointerTo(ft).Implements(textType) {
				t.Fatalf("%s.%s: %s decodes itself; teach this test its form", st, f.key, ft)
			}
			key, parent, c := f.key, wrap, container
			child := func(inner string) string {
				member := `"` + key + `":` + c(inner)
				if st != root {
					return parent("{" + member + "}")
				}
				if key != "mutations" {
					member += `,"mutations":[]`
				}
				return "{" + member + "}"
			}
			walk(ft, name+"."+key, child, onPath)
		}
	}
	walk(root, "PushRequest", nil, map[reflect.Type]bool{})
	return out
}

// element finds the type a field of type ft holds through pointers,
// slices, arrays and maps, with how the JSON of one element sits inside
// the field's value.
func element(t *testing.T, ft reflect.Type) (reflect.Type, func(string) string) {
	t.Helper()
	switch ft.Kind() {
	case reflect.Pointer:
		return element(t, ft.Elem())
	case reflect.Slice, reflect.Array:
		e, c := element(t, ft.Elem())
		return e, func(s string) string { return "[" + c(s) + "]" }
	case reflect.Map:
		if ft.Key().Kind() != reflect.String {
			t.Fatalf("a map keyed by %s: teach this test its form", ft.Key())
		}
		e, c := element(t, ft.Elem())
		return e, func(s string) string { return `{"k":` + c(s) + "}" }
	}
	return ft, func(s string) string { return s }
}

// valueMaker makes non-zero values of wire types, each one distinct from
// the last unless same is set.
type valueMaker struct {
	t    *testing.T
	n    int
	same bool // every string and number alike: exercises the decoders' refusals
}

func (vm *valueMaker) next() int {
	if !vm.same {
		vm.n++
	}
	return vm.n
}

// make returns a non-zero value of type typ: every member of a struct set,
// two elements in a slice, one entry in a map.
func (vm *valueMaker) make(typ reflect.Type, depth int) reflect.Value {
	v := reflect.New(typ).Elem()
	if depth > 8 {
		return v
	}
	switch typ.Kind() {
	case reflect.String:
		if vm.same {
			v.SetString("x")
		} else {
			// A valid HLC (where one is required) that still needs escapes.
			v.SetString(fmt.Sprintf("001772355600000.%05d.é \"q\"\\ 😀 <&> \u2028/\t%d", vm.next()%100000, vm.n))
		}
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n := int64(vm.next())
		if vm.same {
			n = -1 << 62
		}
		v.SetInt(n * 1001)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(uint64(vm.next()) * 1001)
	case reflect.Float32, reflect.Float64:
		f := float64(vm.next()) + 0.25
		if vm.same {
			f = -1.25e-300
		}
		v.SetFloat(f)
	case reflect.Pointer:
		v.Set(vm.make(typ.Elem(), depth+1).Addr())
	case reflect.Slice:
		v.Set(reflect.MakeSlice(typ, 0, 2))
		for range 2 {
			v.Set(reflect.Append(v, vm.make(typ.Elem(), depth+1)))
		}
	case reflect.Array:
		for i := range v.Len() {
			v.Index(i).Set(vm.make(typ.Elem(), depth+1))
		}
	case reflect.Map:
		v.Set(reflect.MakeMap(typ))
		v.SetMapIndex(vm.make(typ.Key(), depth+1), vm.make(typ.Elem(), depth+1))
	case reflect.Struct:
		if typ == timeType {
			at := time.Date(2026, 3, 1, 9, 0, 0, 123456789, time.FixedZone("", 8*3600)).Add(time.Duration(vm.next()) * time.Second)
			v.Set(reflect.ValueOf(at))
			break
		}
		for i := range typ.NumField() {
			if typ.Field(i).IsExported() {
				v.Field(i).Set(vm.make(typ.Field(i).Type, depth+1))
			}
		}
	default:
		vm.t.Fatalf("no non-zero value for %s", typ)
	}
	return v
}

// pushOutcome is what a decoder made of a body: the request, or why not.
type pushOutcome struct {
	req *schema.PushRequest
	err error
}

func decodeByStream(body string) pushOutcome {
	st, err := schema.NewPushStream(body)
	if err != nil {
		return pushOutcome{err: err}
	}
	req := &schema.PushRequest{ClientTime: st.ClientTime, HLC: st.HLC, Mutations: []schema.Mutation{}}
	for {
		var m schema.Mutation
		ok, err := st.Next(&m)
		if err != nil {
			return pushOutcome{err: err}
		}
		if !ok {
			return pushOutcome{req: req}
		}
		req.Mutations = append(req.Mutations, m)
	}
}

func decodeByDecoder(body string) pushOutcome {
	req, err := schema.DecodePushRequest(strings.NewReader(body))
	if req != nil && req.Mutations == nil {
		req.Mutations = []schema.Mutation{}
	}
	return pushOutcome{req: req, err: err}
}

// TestPushStream_EveryWireFieldAsTheDecoder sets each JSON member of each
// wire type a push carries, in the forms encoding/json writes and reads,
// and requires the streaming decoder to decode it as DecodePushRequest
// does. A member the stream does not know, or decodes differently, fails
// here.
func TestPushStream_EveryWireFieldAsTheDecoder(t *testing.T) {
	paths := wirePaths(t)
	reached := map[reflect.Type]bool{}
	for _, p := range paths {
		reached[p.typ] = true
	}
	for _, want := range []any{schema.PushRequest{}, schema.Mutation{}, schema.Venue{}, schema.VenueUpdate{}, schema.FieldEdit{},
		schema.Inspection{}, schema.Inspector{}, schema.ItemResult{}, schema.PhotoRef{}, schema.Review{}} {
		if !reached[reflect.TypeOf(want)] {
			t.Fatalf("the walk from PushRequest missed %T", want)
		}
	}
	type variant struct {
		name string
		// mustStream: encoding/json writes this form, so the stream must
		// take it rather than leave it to the full decoder.
		mustStream bool
		member     func(key string, vm *valueMaker, typ reflect.Type) string
	}
	nonZero := func(key string, vm *valueMaker, typ reflect.Type) string {
		b, err := json.Marshal(vm.make(typ, 0).Interface())
		if err != nil {
			t.Fatal(err)
		}
		return `"` + key + `":` + string(b)
	}
	variants := []variant{
		{"set", true, nonZero},
		{"null", true, func(key string, _ *valueMaker, _ reflect.Type) string { return `"` + key + `":null` }},
		{"upper-case key", false, func(key string, vm *valueMaker, typ reflect.Type) string {
			return nonZero(strings.ToUpper(key), vm, typ)
		}},
		{"title-case key", false, func(key string, vm *valueMaker, typ reflect.Type) string {
			return nonZero(strings.ToUpper(key[:1])+key[1:], vm, typ)
		}},
	}
	checked := 0
	for _, p := range paths {
		for _, f := range wireFields(t, p.typ) {
			for _, v := range variants {
				for _, same := range []bool{false, true} {
					member := v.member(f.key, &valueMaker{t: t, same: same}, f.typ)
					var body string
					switch {
					case p.wrap != nil:
						body = p.wrap("{" + member + "}")
					case f.key == "mutations":
						body = "{" + member + "}"
					default:
						body = "{" + member + `,"mutations":[]}`
					}
					name := fmt.Sprintf("%s.%s %s (alike values: %v)", p.name, f.key, v.name, same)
					checkStreamAsDecoder(t, name, body, v.mustStream)
					checked++
				}
			}
		}
	}
	t.Logf("%d bodies over %d paths to %d types", checked, len(paths), len(reached))
}

// checkStreamAsDecoder decodes body both ways. Where the decoder refuses,
// the stream must leave the body to it; where the decoder accepts, the
// stream must decode the same, or (for forms encoding/json does not write)
// leave the body to the decoder.
func checkStreamAsDecoder(t *testing.T, name, body string, mustStream bool) {
	t.Helper()
	got, want := decodeByStream(body), decodeByDecoder(body)
	if got.err != nil && !errors.Is(got.err, schema.ErrPushStreamUnsupported) {
		t.Errorf("%s: the stream failed with %v, not ErrPushStreamUnsupported\n%s", name, got.err, body)
		return
	}
	switch {
	case want.err != nil:
		if got.err == nil {
			t.Errorf("%s: the stream took a body the decoder refuses (%v)\n%s", name, want.err, body)
		}
	case got.err != nil:
		if mustStream {
			t.Errorf("%s: the stream leaves a body encoding/json writes to the full decoder\n%s", name, body)
		}
	case !reflect.DeepEqual(got.req, want.req):
		gj, _ := json.Marshal(got.req)
		wj, _ := json.Marshal(want.req)
		t.Errorf("%s: the stream and the decoder differ on\n%s\nstream:  %s\ndecoder: %s", name, body, gj, wj)
	}
}

// TestPushStream_AsTheDecoderOnForms covers forms the member-by-member
// test does not build: whole records, repeated keys across case.
func TestPushStream_AsTheDecoderOnForms(t *testing.T) {
	var rich schema.PushRequest
	if err := json.Unmarshal(pushBody(t, true), &rich); err != nil {
		t.Fatal(err)
	}
	rich.Mutations[0].Inspection.Flags = []string{schema.FlagSingleInspector, schema.FlagPhotosMissing}
	rich.Mutations[0].Inspection.MissingPhotos = []string{"ab"}
	richBody, err := json.Marshal(rich)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name       string
		body       string
		mustStream bool
	}{
		{"rich push with flags", string(richBody), true},
		{"flags and Flags", `{"mutations":[{"inspection":{"flags":["a"],"Flags":["b"]}}]}`, false},
		{"flags twice", `{"mutations":[{"inspection":{"flags":["a"],"flags":["b"]}}]}`, false},
		{"flags of the wrong type", `{"mutations":[{"inspection":{"flags":"a"}}]}`, false},
		{"unknown key after the mutations", `{"mutations":[],"flags":["a"]}`, true},
		{"review by case", `{"mutations":[{"inspection":{"REVIEW":{"note":"n"}}}]}`, false},
		{"unknown key", `{"mutations":[{"inspection":{"colour":"red","id":"i"}}]}`, true},
	}
	for _, c := range cases {
		checkStreamAsDecoder(t, c.name, c.body, c.mustStream)
	}
}
