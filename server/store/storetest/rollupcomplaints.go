package storetest

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/patrolhq/patrol/server/store"
)

var rollupComplaintCases = []contractCase{
	{"OpenAndOverdueOfKnownDays", testRollupComplaints},
}

// testRollupComplaints: the complaints open and overdue at the end of a
// day are the ones the fixture was built to give, each with the limit it
// had passed, and a day before a complaint was answered still counts it.
func testRollupComplaints(t *testing.T, open Open) {
	s, f, clock := rollupStore(t, open)
	ctx := context.Background()
	ks, err := f.AddComplaints(ctx, s, func(at time.Time) { clock.t = at })
	if err != nil {
		t.Fatal(err)
	}
	clock.t = CST(3, 21, 3, 0)
	at := func(tm time.Time) *time.Time { u := tm.UTC(); return &u }
	open2 := func(key, limit string, since time.Time) store.RollupComplaint {
		c := store.RollupComplaint{ID: ks[key].ID, Number: ks[key].Number, Limit: limit}
		if limit != "" {
			c.LimitAt = at(since)
		}
		return c
	}
	for _, tc := range []struct {
		squad int64
		day   int
		want  []store.RollupComplaint
	}{
		{2, 15, []store.RollupComplaint{open2("k2", store.ComplaintLimitFinish, CST(3, 6, 10, 0)),
			open2("k1", store.ComplaintLimitAccept, CST(2, 16, 10, 0)), open2("k3", "", time.Time{}), open2("k6", "", time.Time{})}},
		{2, 4, []store.RollupComplaint{open2("k2", "", time.Time{}), open2("k1", store.ComplaintLimitAccept, CST(2, 16, 10, 0)),
			open2("k3", "", time.Time{}), open2("k4", "", time.Time{})}},
		{1, 15, []store.RollupComplaint{open2("k8", "", time.Time{})}},
		{3, 15, []store.RollupComplaint{}},
	} {
		got, err := s.RollupFacts(ctx, tc.squad, window(3, tc.day))
		if err != nil {
			t.Fatal(err)
		}
		for i := range got.Complaints {
			if lt := got.Complaints[i].LimitAt; lt != nil {
				u := lt.UTC()
				got.Complaints[i].LimitAt = &u
			}
		}
		if !reflect.DeepEqual(got.Complaints, tc.want) {
			t.Errorf("squad %d, end of %d March:\n got %+v\nwant %+v", tc.squad, tc.day, got.Complaints, tc.want)
		}
	}
}
