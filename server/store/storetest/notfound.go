package storetest

import (
	"testing"

	"github.com/google/uuid"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/store"
)

var notFoundCases = []contractCase{
	withEnv("EveryLookupOfAMissingID", testNotFound),
}

func testNotFound(t *testing.T, e *env) {
	missing := uuid.NewString()
	edit := map[string]schema.FieldEdit{schema.FieldName: {Value: "x"}}
	d := e.enroll("insp1a")
	in := d.inspection(e.venues["v1a"].ID)
	d.mustApply(d.upsert(in))
	review := store.ReviewInput{Action: schema.ReviewApprove, By: "leader1"}
	for _, c := range []struct {
		name string
		call func() error
	}{
		{"UserByUsername", func() error { _, err := e.s.UserByUsername(e.ctx, "nobody"); return err }},
		{"DeviceOwner", func() error { _, err := e.s.DeviceOwner(e.ctx, missing); return err }},
		{"RevokeDevice", func() error { return e.s.RevokeDevice(e.ctx, missing) }},
		{"DeviceClock", func() error { _, _, err := e.s.DeviceClock(e.ctx, missing); return err }},
		{"Inspection", func() error { _, err := e.s.Inspection(e.ctx, missing); return err }},
		{"ReviewInspection", func() error { _, err := e.s.ReviewInspection(e.ctx, missing, review, schema.AllSquads()); return err }},
		{"ReviewInspection out of scope", func() error { _, err := e.s.ReviewInspection(e.ctx, in.ID, review, schema.SquadScope(2)); return err }},
		{"ReviewInspection without scope", func() error { _, err := e.s.ReviewInspection(e.ctx, in.ID, review, schema.Scope{}); return err }},
		{"Conflict", func() error { _, err := e.s.Conflict(e.ctx, missing); return err }},
		{"ResolveConflict", func() error { _, err := e.s.ResolveConflict(e.ctx, missing, "admin", schema.AllSquads()); return err }},
		{"Venue", func() error { _, err := e.s.Venue(e.ctx, missing); return err }},
		{"EditVenue", func() error {
			_, _, err := e.s.EditVenue(e.ctx, missing, edit, nil, serverActor("admin"), schema.AllSquads())
			return err
		}},
		{"EditVenue out of scope", func() error {
			_, _, err := e.s.EditVenue(e.ctx, e.venues["v2a"].ID, edit, nil, serverActor("leader1"), schema.SquadScope(1))
			return err
		}},
		{"MoveVenue", func() error { _, err := e.s.MoveVenue(e.ctx, missing, 1); return err }},
		{"DeleteVenue", func() error { return e.s.DeleteVenue(e.ctx, missing) }},
		{"Photo", func() error { _, err := e.s.Photo(e.ctx, sha("never sent")); return err }},
		{"Pull of a squad that does not exist", func() error {
			_, err := e.s.Pull(e.ctx, store.PullInput{UserID: d.user.ID, DeviceID: d.id, SquadID: ptr(int64(99))})
			return err
		}},
	} {
		wantCode(t, c.name, c.call(), schema.CodeNotFound)
	}
	// Nothing of that changed the inspection looked at out of scope.
	if got := e.inspection(in.ID); got.Review != nil || got.Status != schema.StatusSubmitted {
		t.Fatalf("inspection after out-of-scope reviews: %+v", got)
	}
}
