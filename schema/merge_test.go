package schema_test

import (
	"reflect"
	"testing"

	"github.com/patrolhq/patrol/schema"
)

// hlcAt makes the HLC string of a wall time in ms on node.
func hlcAt(ms int64, node string) string { return schema.HLC{WallMS: ms, Node: node}.String() }

func TestMergeFields_Table(t *testing.T) {
	t1, t2, t3 := hlcAt(1_000, "server"), hlcAt(2_000, "d1"), hlcAt(3_000, "d2")
	ahead := hlcAt(9_000_000, "d1") // a stamp the server restamped to t2
	base := schema.Venue{ID: "v1", SquadID: 4, Name: "网吧 A", Phone: "1", Licensed: true,
		Clocks: map[string]string{schema.FieldName: t2, schema.FieldPhone: t2, schema.FieldLicensed: t2}}
	restamps := map[string]string{ahead: t2}
	restamped := func(b string) (string, bool) { r, ok := restamps[b]; return r, ok }
	type want struct {
		name, phone string
		licensed    bool
		clocks      map[string]string
		changed     bool
		conflicts   []schema.ConflictDecision
	}
	unchanged := want{name: "网吧 A", phone: "1", licensed: true, clocks: base.Clocks}
	cases := []struct {
		name  string
		edits map[string]schema.FieldEdit
		hlc   string
		want  want
	}{
		{"based on the current clock and newer: applies", map[string]schema.FieldEdit{schema.FieldName: {Value: "网吧 B", Base: t2}}, t3,
			want{name: "网吧 B", phone: "1", licensed: true, changed: true,
				clocks: map[string]string{schema.FieldName: t3, schema.FieldPhone: t2, schema.FieldLicensed: t2}}},
		{"based on the current clock but older: a late copy, nothing changes", map[string]schema.FieldEdit{schema.FieldName: {Value: "旧", Base: t2}}, t1,
			unchanged},
		{"the same stamp again: nothing changes", map[string]schema.FieldEdit{schema.FieldName: {Value: "网吧 B", Base: t2}}, t2,
			unchanged},
		{"concurrent and newer: the device wins, recorded", map[string]schema.FieldEdit{schema.FieldPhone: {Value: "2", Base: t1}}, t3,
			want{name: "网吧 A", phone: "2", licensed: true, changed: true,
				clocks: map[string]string{schema.FieldName: t2, schema.FieldPhone: t3, schema.FieldLicensed: t2},
				conflicts: []schema.ConflictDecision{{SquadID: 4, Kind: schema.ConflictConcurrentEdit, EntityKind: "venue", EntityID: "v1",
					Field: schema.FieldPhone, ServerValue: "1", DeviceValue: "2", Winner: schema.WinnerDevice}}}},
		{"concurrent and older: the server keeps its value, recorded", map[string]schema.FieldEdit{schema.FieldPhone: {Value: "2", Base: t1}}, t1,
			want{name: "网吧 A", phone: "1", licensed: true, clocks: base.Clocks,
				conflicts: []schema.ConflictDecision{{SquadID: 4, Kind: schema.ConflictConcurrentEdit, EntityKind: "venue", EntityID: "v1",
					Field: schema.FieldPhone, ServerValue: "1", DeviceValue: "2", Winner: schema.WinnerServer}}}},
		{"no base while the field has a clock: concurrent", map[string]schema.FieldEdit{schema.FieldName: {Value: "网吧 C"}}, t3,
			want{name: "网吧 C", phone: "1", licensed: true, changed: true,
				clocks: map[string]string{schema.FieldName: t3, schema.FieldPhone: t2, schema.FieldLicensed: t2},
				conflicts: []schema.ConflictDecision{{SquadID: 4, Kind: schema.ConflictConcurrentEdit, EntityKind: "venue", EntityID: "v1",
					Field: schema.FieldName, ServerValue: "网吧 A", DeviceValue: "网吧 C", Winner: schema.WinnerDevice}}}},
		{"a field never written before, no base: applies", map[string]schema.FieldEdit{schema.FieldAddress: {Value: "沂蒙路 1 号"}}, t3,
			want{name: "网吧 A", phone: "1", licensed: true, changed: true,
				clocks: map[string]string{schema.FieldName: t2, schema.FieldPhone: t2, schema.FieldLicensed: t2, schema.FieldAddress: t3}}},
		{"a base the server restamped is the current version", map[string]schema.FieldEdit{schema.FieldName: {Value: "网吧 D", Base: ahead}}, t3,
			want{name: "网吧 D", phone: "1", licensed: true, changed: true,
				clocks: map[string]string{schema.FieldName: t3, schema.FieldPhone: t2, schema.FieldLicensed: t2}}},
		{"wire strings of licensed", map[string]schema.FieldEdit{schema.FieldLicensed: {Value: "false", Base: t2}}, t3,
			want{name: "网吧 A", phone: "1", licensed: false, changed: true,
				clocks: map[string]string{schema.FieldName: t2, schema.FieldPhone: t2, schema.FieldLicensed: t3}}},
		{"conflicts come in field name order", map[string]schema.FieldEdit{schema.FieldPhone: {Value: "2", Base: t1}, schema.FieldName: {Value: "X", Base: t1}}, t1,
			want{name: "网吧 A", phone: "1", licensed: true, clocks: base.Clocks,
				conflicts: []schema.ConflictDecision{
					{SquadID: 4, Kind: schema.ConflictConcurrentEdit, EntityKind: "venue", EntityID: "v1", Field: schema.FieldName, ServerValue: "网吧 A", DeviceValue: "X", Winner: schema.WinnerServer},
					{SquadID: 4, Kind: schema.ConflictConcurrentEdit, EntityKind: "venue", EntityID: "v1", Field: schema.FieldPhone, ServerValue: "1", DeviceValue: "2", Winner: schema.WinnerServer}}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := base
			before.Clocks = map[string]string{}
			for k, v := range base.Clocks {
				before.Clocks[k] = v
			}
			got := schema.MergeFields(base, c.edits, c.hlc, restamped)
			v := got.Venue
			if v.Name != c.want.name || v.Phone != c.want.phone || v.Licensed != c.want.licensed {
				t.Errorf("fields: name %q phone %q licensed %v; want %q %q %v", v.Name, v.Phone, v.Licensed, c.want.name, c.want.phone, c.want.licensed)
			}
			if !reflect.DeepEqual(v.Clocks, c.want.clocks) {
				t.Errorf("clocks %v; want %v", v.Clocks, c.want.clocks)
			}
			if got.Changed != c.want.changed {
				t.Errorf("changed %v; want %v", got.Changed, c.want.changed)
			}
			if !reflect.DeepEqual(got.Conflicts, c.want.conflicts) {
				t.Errorf("conflicts\n got %+v\nwant %+v", got.Conflicts, c.want.conflicts)
			}
			if !reflect.DeepEqual(base, before) {
				t.Errorf("the venue passed in changed: %+v", base)
			}
		})
	}
}

func TestVenueFieldValue_RoundTripsEveryField(t *testing.T) {
	values := map[string]string{schema.FieldName: "n", schema.FieldAddress: "a", schema.FieldLicenceNo: "l",
		schema.FieldLicensed: "false", schema.FieldPhone: "p", schema.FieldOpenState: schema.OpenStateClosed}
	v := schema.Venue{Licensed: true}
	for _, f := range schema.VenueFields {
		v.SetFieldValue(f, values[f])
	}
	for _, f := range schema.VenueFields {
		if got := v.FieldValue(f); got != values[f] {
			t.Errorf("%s = %q; want %q", f, got, values[f])
		}
	}
	if got := v.FieldValue("lat"); got != "" {
		t.Errorf("a field that does not merge reads %q", got)
	}
}
