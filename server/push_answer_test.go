package server

import (
	"encoding/json"
	"testing"

	"github.com/patrolhq/patrol/schema"
)

func TestMutationResults_EncodeLikeTheWireType(t *testing.T) {
	lists := [][]schema.MutationResult{
		nil,
		{},
		{
			{ID: "0190a6b2-7c1d-7abc-8def-0123456789a0", Outcome: schema.OutcomeApplied},
			{ID: "0190a6b2-7c1d-7abc-8def-0123456789a1", Outcome: schema.OutcomeDuplicate, Original: schema.OutcomeRejected, Code: schema.CodeInvalid,
				Reason: "inspection x: unknown checklist item \"NC99\" <in> & 版本 \u2028 \x01"},
			{ID: "weird \xff id\t", Outcome: schema.OutcomeConflict, Code: schema.CodeConflict, Reason: "r", ConflictID: "c1",
				ServerVenue: &schema.Venue{ID: "v", Name: "网吧 <b>", Lat: 35.1}},
			{ID: "i", Outcome: schema.OutcomeConflict, ServerInspection: &schema.Inspection{ID: "x", Items: []schema.ItemResult{{ItemID: "NC01"}}}},
		},
	}
	for _, rs := range lists {
		got, err := json.Marshal(pushAnswer{Results: rs, ServerHLC: "h"})
		if err != nil {
			t.Fatal(err)
		}
		var back, want schema.PushResponse
		if err := json.Unmarshal(got, &back); err != nil {
			t.Fatalf("%s: %v", got, err)
		}
		wantJSON, _ := json.Marshal(schema.PushResponse{Results: rs, ServerHLC: "h"})
		if err := json.Unmarshal(wantJSON, &want); err != nil {
			t.Fatal(err)
		}
		gotAgain, _ := json.Marshal(back)
		wantAgain, _ := json.Marshal(want)
		if string(gotAgain) != string(wantAgain) {
			t.Fatalf("encoded answers decode differently:\n got %s\nwant %s", got, wantJSON)
		}
	}
}
