package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/store"
	"github.com/patrolhq/patrol/server/store/postgres"
	"github.com/patrolhq/patrol/server/store/postgres/pgtest"
)

// TestReplicas_SkewedClocksKeepEditOrder: two replicas on one database
// whose hosts' clocks disagree by a minute. An edit through the replica
// whose clock is behind, made after an edit through the one ahead, is
// still the later write: each replica's clock observes the field's stored
// stamp before it stamps, so the second edit wins without a conflict, and
// a pull through either replica shows it.
func TestReplicas_SkewedClocksKeepEditOrder(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.DSN(t)
	base := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	ahead, err := postgres.Open(ctx, dsn, func() time.Time { return base.Add(time.Minute) })
	if err != nil {
		t.Fatal(err)
	}
	defer ahead.Close()
	behind, err := postgres.Open(ctx, dsn, func() time.Time { return base })
	if err != nil {
		t.Fatal(err)
	}
	defer behind.Close()
	squad := int64(1)
	u := store.User{ID: uuid.NewString(), Username: "insp", DisplayName: "I", Role: schema.RoleInspector, SquadID: &squad, PasswordHash: "x"}
	v := schema.Venue{ID: uuid.NewString(), SquadID: squad, Kind: schema.KindNetCafe, Name: "Venue", Phone: "0539-1", Licensed: true,
		OpenState: schema.OpenStateOpen, Lat: 35.1, Lng: 118.1}
	if err := behind.Import(ctx, store.Dataset{Squads: []store.Squad{{ID: squad, Name: "S", Bounds: [4]float64{35, 118, 35.2, 118.2}}},
		Users: []store.User{u}, Venues: []schema.Venue{v}}); err != nil {
		t.Fatal(err)
	}
	edit := func(s *postgres.Store, phone string) (schema.Venue, []string) {
		t.Helper()
		got, conflicts, err := s.EditVenue(ctx, v.ID, map[string]schema.FieldEdit{schema.FieldPhone: {Value: phone}}, nil,
			store.Actor{MutationID: uuid.NewString(), DeviceID: "server:admin"}, schema.AllSquads())
		if err != nil {
			t.Fatal(err)
		}
		return got, conflicts
	}
	first, _ := edit(ahead, "0539-2")
	second, conflicts := edit(behind, "0539-3")
	if second.Phone != "0539-3" || len(conflicts) != 0 {
		t.Fatalf("the later edit through the replica behind: phone %q, conflicts %v; want it applied without conflict", second.Phone, conflicts)
	}
	if schema.CompareHLCStrings(second.Clocks[schema.FieldPhone], first.Clocks[schema.FieldPhone]) <= 0 {
		t.Fatalf("stamp %s of the later edit is not after %s", second.Clocks[schema.FieldPhone], first.Clocks[schema.FieldPhone])
	}
	for name, s := range map[string]*postgres.Store{"ahead": ahead, "behind": behind} {
		p, err := s.Pull(ctx, store.PullInput{UserID: u.ID, DeviceID: "dev", SquadID: &squad})
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, c := range p.Changes {
			if c.Kind == schema.ChangeVenue && c.ID == v.ID {
				found = c.Venue.Phone == "0539-3"
			}
		}
		if !found {
			t.Errorf("a pull through the replica %s does not show the later phone", name)
		}
	}
}
