package server_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/patrolhq/patrol/schema"
)

// bigBatch is a push of n mutations that crosses several of the server's
// chunks: a venue created early and inspected late, an inspection stored
// and then replaced by a newer version, a rejected mutation, an inspection
// of another squad's venue and a venue edit in between. The replaced
// inspection's id and final note are returned.
func bigBatch(t *testing.T, e *env, d *device, n int) (muts []schema.Mutation, replacedID, finalNote string) {
	t.Helper()
	own, other := e.venues(d.squad), e.venues(d.squad%6+1)
	black := schema.Venue{ID: newID(t), Kind: schema.KindNetCafe, Name: "阁楼网吧", Lat: 35.1, Lng: 118.3}
	var replaced *schema.Inspection
	for i := 0; i < n; i++ {
		switch {
		case i == 5:
			muts = append(muts, schema.Mutation{ID: newID(t), Kind: schema.MutVenueCreate, HLC: d.clock.Tick().String(), Venue: &black})
		case i == 10:
			replaced = d.inspection(own[0].ID)
			muts = append(muts, d.upsert(replaced))
		case i == n/3:
			muts = append(muts, d.upsert(&schema.Inspection{ID: newID(t), VenueID: own[0].ID, Status: "draft"}))
		case i == n/2:
			muts = append(muts, d.upsert(d.inspection(black.ID)))
		case i == n/2+1:
			muts = append(muts, d.upsert(d.inspection(other[0].ID)))
		case i == 2*n/3:
			newer := *replaced
			newer.Items = append([]schema.ItemResult(nil), replaced.Items...)
			newer.Items[0].Result, newer.Items[0].Note = schema.ResultFail, "第二次提交 \"更正\" <记录>"
			muts = append(muts, d.upsert(&newer))
			finalNote = newer.Items[0].Note
		case i == 2*n/3+1:
			muts = append(muts, d.edit(own[1].ID, map[string]schema.FieldEdit{schema.FieldPhone: {Value: "0539-7654321", Base: own[1].Clocks[schema.FieldPhone]}}))
		default:
			muts = append(muts, d.upsert(d.inspection(own[i%len(own)].ID)))
		}
	}
	return muts, replaced.ID, finalNote
}

// pushBody sends a push body as it is and decodes the answer.
func (d *device) pushBody(body []byte) (schema.PushResponse, response) {
	d.e.t.Helper()
	r := d.raw("POST", schema.PathPush, bytes.NewReader(body), nil)
	var pr schema.PushResponse
	if r.status == 200 {
		if err := json.Unmarshal(r.body, &pr); err != nil {
			d.e.t.Fatal(err)
		}
	}
	return pr, r
}

// outcomes summarizes answers without the ids they name.
func outcomes(rs []schema.MutationResult) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = fmt.Sprintf("%s/%s/%s", r.Outcome, r.Original, r.Code)
	}
	return out
}

func TestPush_LargeBatchAcrossChunks(t *testing.T) {
	const n = schema.MaxMutationsPerPush
	// The device's form of the body is decoded while it is applied; keys in
	// another order take the whole-body decoder. Both must answer alike.
	var answers [2][]string
	for round, trailingHLC := range []bool{false, true} {
		e := newEnv(t)
		d := e.enroll("inspector1")
		muts, replacedID, finalNote := bigBatch(t, e, d, n)
		before := e.count("inspections")
		var body []byte
		if trailingHLC {
			list, err := json.Marshal(muts)
			if err != nil {
				t.Fatal(err)
			}
			body = []byte(fmt.Sprintf(`{"mutations":%s,"client_time":"%s","hlc":"%s"}`, list, d.now().Format("2006-01-02T15:04:05Z07:00"), d.clock.Tick()))
		} else {
			body, _ = json.Marshal(schema.PushRequest{ClientTime: d.now(), HLC: d.clock.Tick().String(), Mutations: muts})
		}
		pr, r := d.pushBody(body)
		if r.status != 200 || len(pr.Results) != n {
			t.Fatalf("round %d: status %d, %d answers: %s", round, r.status, len(pr.Results), truncate(r.body))
		}
		for i, res := range pr.Results {
			if res.ID != muts[i].ID {
				t.Fatalf("round %d: answer %d is for %s; want %s", round, i, res.ID, muts[i].ID)
			}
			want := schema.OutcomeApplied
			if i == n/3 || i == n/2+1 {
				want = schema.OutcomeRejected
			}
			if res.Outcome != want {
				t.Fatalf("round %d: mutation %d answered %+v; want %s", round, i, res, want)
			}
		}
		// Every inspection but the rejected ones and the replacement is new.
		if got, want := e.count("inspections")-before, n-5; got != want {
			t.Fatalf("round %d: %d inspections stored; want %d", round, got, want)
		}
		var stored schema.Inspection
		e.login("admin").must(200, "GET", schema.PathInspections+"/"+replacedID, nil, &stored)
		if stored.Items[0].Note != finalNote || stored.Items[0].Result != schema.ResultFail {
			t.Fatalf("round %d: replaced inspection holds %+v; want the newer version", round, stored.Items[0])
		}
		answers[round] = outcomes(pr.Results)

		applied := e.count("applied_mutations")
		replay, _ := d.pushBody(body)
		for i, res := range replay.Results {
			if res.Outcome != schema.OutcomeDuplicate || res.Original != pr.Results[i].Outcome || res.Reason != pr.Results[i].Reason {
				t.Fatalf("round %d: replay of %d answered %+v; first %+v", round, i, res, pr.Results[i])
			}
		}
		if e.count("applied_mutations") != applied {
			t.Fatalf("round %d: the replay recorded answers", round)
		}
	}
	if strings.Join(answers[0], " ") != strings.Join(answers[1], " ") {
		t.Fatalf("streamed and whole-body decoding answered differently:\n%v\n%v", answers[0], answers[1])
	}
}

func TestPush_BadBodyLateInBatchAppliesNothing(t *testing.T) {
	e := newEnv(t)
	d := e.enroll("inspector1")
	muts, _, _ := bigBatch(t, e, d, 600)
	good, err := json.Marshal(schema.PushRequest{ClientTime: d.now(), HLC: d.clock.Tick().String(), Mutations: muts})
	if err != nil {
		t.Fatal(err)
	}
	lastKind := bytes.LastIndex(good, []byte(`"kind":"`))
	dup := append([]schema.Mutation(nil), muts...)
	dup[len(dup)-1].ID = dup[0].ID
	dupBody, _ := json.Marshal(schema.PushRequest{ClientTime: d.now(), Mutations: dup})
	cases := []struct {
		name   string
		body   []byte
		status int
		msg    string
	}{
		{"syntax error in the last mutation", append(append(append([]byte(nil), good[:lastKind+7]...), ' '), good[lastKind+8:]...), 400, "malformed JSON"},
		{"cut short", good[:len(good)-40], 400, "ends in the middle"},
		{"id repeated at the end", dupBody, 400, "appears twice"},
		{"data after the body", append(append([]byte(nil), good...), []byte(` {"mutations":[]}`)...), 400, "more than one JSON value"},
	}
	for _, c := range cases {
		before := [2]int{e.count("inspections"), e.count("applied_mutations")}
		_, r := d.pushBody(c.body)
		if r.status != c.status || !strings.Contains(r.err.Message, c.msg) {
			t.Errorf("%s: %d %q; want %d with %q", c.name, r.status, r.err.Message, c.status, c.msg)
		}
		if after := [2]int{e.count("inspections"), e.count("applied_mutations")}; after != before {
			t.Errorf("%s: rows changed %v → %v", c.name, before, after)
		}
	}
}
