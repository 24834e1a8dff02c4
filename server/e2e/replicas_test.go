package e2e_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	mobilesync "github.com/patrolhq/patrol/mobile-sync"
	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server"
	"github.com/patrolhq/patrol/server/auth"
	"github.com/patrolhq/patrol/server/demo"
	"github.com/patrolhq/patrol/server/servertest"
	"github.com/patrolhq/patrol/server/store"
	"github.com/patrolhq/patrol/server/store/postgres"
	"github.com/patrolhq/patrol/server/store/postgres/pgtest"
	"github.com/patrolhq/patrol/storage"
	"github.com/patrolhq/patrol/storage/s3store"
	"github.com/patrolhq/patrol/storage/storagetest"

	"github.com/minio/minio-go/v7"
)

// spread sends each request to one of several replicas picked at random,
// as a load balancer without affinity does: the device keeps the one URL
// it enrolled with, and every retry may land elsewhere.
type spread struct {
	base  http.RoundTripper
	hosts []string // host:port of each replica

	mu   sync.Mutex
	rnd  *rand.Rand
	hits map[string]int
}

func newSpread(seed uint64, urls ...string) *spread {
	s := &spread{base: http.DefaultTransport.(*http.Transport).Clone(), rnd: rand.New(rand.NewPCG(seed, 3)), hits: map[string]int{}}
	for _, u := range urls {
		p, err := url.Parse(u)
		if err != nil {
			panic(err)
		}
		s.hosts = append(s.hosts, p.Host)
	}
	return s
}

func (s *spread) RoundTrip(req *http.Request) (*http.Response, error) {
	s.mu.Lock()
	host := s.hosts[s.rnd.IntN(len(s.hosts))]
	s.hits[host]++
	s.mu.Unlock()
	r := req.Clone(req.Context())
	r.URL.Host, r.Host = host, host
	return s.base.RoundTrip(r)
}

// served reports how many requests went to each replica.
func (s *spread) served() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.hits))
	for h, n := range s.hits {
		out[h] = n
	}
	return out
}

// replica is one in-process server on its own loopback port, on the
// PostgreSQL store of a database it shares with the others.
type replica struct {
	URL   string
	Store *postgres.Store
}

// startReplicas starts n servers on the database at dsn, each with its own
// pool, clock and data directory, all with the one photo store blobs.
func startReplicas(t *testing.T, n int, dsn string, blobs storage.Store) []*replica {
	t.Helper()
	return startReplicasStaged(t, n, dsn, blobs, nil)
}

// startReplicasStaged is startReplicas with partial uploads staged in the
// shared blob store staging (nil: each replica's data directory).
func startReplicasStaged(t *testing.T, n int, dsn string, blobs, staging storage.Store) []*replica {
	t.Helper()
	ctx := context.Background()
	var out []*replica
	for i := 0; i < n; i++ {
		st, err := postgres.Open(ctx, dsn, nil)
		if err != nil {
			t.Fatal(err)
		}
		srv, err := server.New(ctx, server.Config{Store: st, DataDir: t.TempDir(), Logger: quietLogger(), Blobs: blobs, Staging: staging})
		if err != nil {
			t.Fatal(err)
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		hs := &http.Server{Handler: srv.Handler()}
		go hs.Serve(ln)
		t.Cleanup(func() {
			hs.Close()
			srv.Close()
		})
		out = append(out, &replica{URL: "http://" + ln.Addr().String(), Store: st})
	}
	return out
}

// cheapHash keeps the demo's password checks fast under the race detector.
func cheapHash(pw string) (string, error) {
	return auth.HashPasswordParams(pw, auth.Params{MemoryKiB: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32})
}

// envInt reads a positive count from the environment, or def.
func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

// fieldEdit is one acknowledged write of a venue field and the clock it
// was stamped with; the server must end with the edit of the greatest stamp.
type fieldEdit struct {
	venue, field, value, hlc, by string
}

// replicaDevice is a device of the checker with what it wrote.
type replicaDevice struct {
	name   string
	dev    *mobilesync.Device
	id     string
	squad  int64
	venues []string // the few venues of its squad it edits and inspects
	// mu keeps a local write and the reading of its outbox row apart from
	// the device's syncs, so that the checker sees every mutation before a
	// sync can acknowledge and remove it.
	mu          sync.Mutex
	inspections []string
	mutations   []string
	edits       []fieldEdit
	syncErrs    int
}

// TestReplicas_NoChangeLost is the lost-change checker: three replicas on
// one PostgreSQL database, a dozen devices of the real device library
// recording inspections and editing their squad's venues while they pull
// continuously, every request sent to a replica at random, and an admin
// session on each replica editing the same venues and reviewing the
// devices' inspections.
// Afterwards every device holds exactly what the server holds for it (its
// squad's venues with every field and clock, its own inspections with
// their reviews), the server holds every mutation once, and each venue
// field holds the edit with the greatest clock. A pull cursor that skipped
// a change committed late leaves some device with a stale field or review
// that no later pull repairs.
//
// PATROL_REPLICA_DEVICES and PATROL_REPLICA_ROUNDS make it longer (task
// replicas).
func TestReplicas_NoChangeLost(t *testing.T) {
	ctx := context.Background()
	nDevices := envInt("PATROL_REPLICA_DEVICES", 12)
	rounds := envInt("PATROL_REPLICA_ROUNDS", 6)
	dsn := pgtest.DSN(t)
	blobs, err := storage.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	reps := startReplicas(t, 3, dsn, blobs)
	if _, err := demo.Seed(ctx, reps[0].Store, demo.Options{Venues: 36, Schools: 6, MonthsHistory: 1, HashPassword: cheapHash}); err != nil {
		t.Fatal(err)
	}
	var urls []string
	admins := make([]*servertest.Client, len(reps))
	for i, r := range reps {
		urls = append(urls, r.URL)
		admins[i] = servertest.Login(t, r.URL, "admin", demo.Password)
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	route := newSpread(seed, urls...)
	client := &http.Client{Transport: route, Timeout: 30 * time.Second}

	// Several devices per squad (the demo has two inspectors in each), so
	// that many writers race on what each device may see: 12 devices are
	// 6 in each of two squads, 48 are 8 in each of six.
	users := min(12, max(4, nDevices/4))
	devs := make([]*replicaDevice, nDevices)
	for i := range devs {
		user := fmt.Sprintf("inspector%d", i%users+1)
		rd := &replicaDevice{name: fmt.Sprintf("device %d (%s)", i, user)}
		d, err := mobilesync.Open(ctx, mobilesync.Options{Path: fmt.Sprintf("%s/device%d.db", t.TempDir(), i), Logger: quietLogger(),
			HTTPClient: client, Sleep: func(context.Context, time.Duration) error { return nil }})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { d.Close() })
		code, err := admins[i%len(admins)].EnrollmentCode(user)
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Enroll(ctx, urls[0], code, "replicas-"+strconv.Itoa(i)); err != nil {
			t.Fatalf("enrol %s: %v", rd.name, err)
		}
		mustSync(t, d)
		idn, err := d.Identity(ctx)
		if err != nil {
			t.Fatal(err)
		}
		rd.dev, rd.id, rd.squad = d, idn.DeviceID, idn.SquadID
		vs := venuesOf(t, d)
		sort.Slice(vs, func(a, b int) bool { return vs[a].ID < vs[b].ID })
		for _, v := range vs[:min(3, len(vs))] {
			rd.venues = append(rd.venues, v.ID)
		}
		devs[i] = rd
	}

	var (
		writers sync.WaitGroup
		pullers sync.WaitGroup
		done    atomic.Bool
		failed  atomic.Bool
	)
	for i, rd := range devs {
		writers.Add(1)
		go func(i int, rd *replicaDevice) {
			defer writers.Done()
			rnd := rand.New(rand.NewPCG(seed, uint64(i)))
			// A few writes, then a sync: pushes of one to three mutations,
			// each transaction taking that many seqs.
			for n := 0; n < rounds && !failed.Load(); {
				for burst := 1 + rnd.IntN(3); burst > 0 && n < rounds; burst, n = burst-1, n+1 {
					venue := rd.venues[rnd.IntN(len(rd.venues))]
					if err := rd.write(ctx, rnd, venue, n); err != nil {
						t.Errorf("%s: %v", rd.name, err)
						failed.Store(true)
						return
					}
				}
				rd.sync(ctx)
			}
		}(i, rd)
		pullers.Add(1)
		go func(rd *replicaDevice) {
			defer pullers.Done()
			for !done.Load() {
				rd.sync(ctx)
			}
		}(rd)
	}
	// One admin session per replica edits the devices' venues and reviews
	// their inspections (admin k those of every third device from k), so
	// that server-side writes race the pushes on every replica.
	var (
		adminMu    sync.Mutex
		adminEdits []fieldEdit
		reviews    = map[string]string{} // inspection id → decision (approved or returned)
		adminWG    sync.WaitGroup
		adminErrs  = make(chan error, len(admins))
	)
	for k, a := range admins {
		adminWG.Add(1)
		go func(k int, a *servertest.Client) {
			defer adminWG.Done()
			rnd := rand.New(rand.NewPCG(seed, 99+uint64(k)))
			for n := 0; !done.Load(); n++ {
				if n%2 == 0 {
					rd := devs[rnd.IntN(len(devs))]
					venue, field := rd.venues[rnd.IntN(len(rd.venues))], []string{schema.FieldPhone, schema.FieldAddress}[rnd.IntN(2)]
					value := fmt.Sprintf("admin%d-%d", k, n)
					resp, err := a.EditVenue(venue, map[string]string{field: value})
					if err != nil {
						adminErrs <- fmt.Errorf("admin edit of %s: %w", venue, err)
						return
					}
					adminMu.Lock()
					adminEdits = append(adminEdits, fieldEdit{venue: venue, field: field, value: value, hlc: resp.Venue.Clocks[field], by: "admin"})
					adminMu.Unlock()
					continue
				}
				mine := (len(devs) - k + len(admins) - 1) / len(admins) // devices k, k+3, k+6, …
				if mine <= 0 {
					continue
				}
				rd := devs[k+len(admins)*rnd.IntN(mine)]
				list, err := a.Inspections(url.Values{"status": {schema.StatusSubmitted}, "device": {rd.id}, "limit": {"20"}})
				if err != nil {
					adminErrs <- err
					return
				}
				if len(list) == 0 {
					continue
				}
				in := list[rnd.IntN(len(list))]
				decision := []string{schema.ReviewApprove, schema.ReviewReturn}[rnd.IntN(2)]
				got, err := a.Review(in.ID, decision, "checked")
				if err != nil {
					adminErrs <- fmt.Errorf("review of %s: %w", in.ID, err)
					return
				}
				adminMu.Lock()
				reviews[in.ID] = got.Review.Decision
				adminMu.Unlock()
			}
		}(k, a)
	}
	writers.Wait()
	done.Store(true)
	pullers.Wait()
	adminWG.Wait()
	close(adminErrs)
	if err := <-adminErrs; err != nil {
		t.Fatal(err)
	}
	if failed.Load() {
		t.FailNow()
	}
	// Every device delivers what it holds, then pulls once more, after the
	// last device delivered: from here on nothing changes on the server.
	for _, rd := range devs {
		converge(t, rd.dev, rd.name)
	}
	for _, rd := range devs {
		mustSync(t, rd.dev)
	}

	var mutations, inspections, syncErrs int
	var edits []fieldEdit
	for _, rd := range devs {
		mutations += len(rd.mutations)
		inspections += len(rd.inspections)
		syncErrs += rd.syncErrs
		edits = append(edits, rd.edits...)
	}
	edits = append(edits, adminEdits...)
	t.Logf("%d devices × %d rounds: %d mutations (%d inspections, %d device venue edits), %d admin venue edits, %d reviews; "+
		"syncs that failed and were retried: %d; requests per replica: %v",
		nDevices, rounds, mutations, inspections, mutations-inspections, len(adminEdits), len(reviews), syncErrs, route.served())
	for host, n := range route.served() {
		if n == 0 {
			t.Errorf("replica %s served no request", host)
		}
	}
	checkServerHoldsOnce(t, reps[0].Store, devs)
	checkLatestEditWins(t, admins[0], edits)
	for id, decision := range reviews {
		in, err := admins[0].Inspection(id)
		if err != nil {
			t.Fatal(err)
		}
		if in.Review == nil || in.Review.Decision != decision {
			t.Errorf("inspection %s: server review %+v; the admin's %s was acknowledged", id, in.Review, decision)
		}
	}
	for _, rd := range devs {
		checkDeviceMatchesServer(t, admins[0], rd)
	}
}

// write makes one local change on the device and notes its mutation: an
// inspection of venue, or an edit of venue's phone (its squad's other
// device edits the same few venues, and so does the admin).
func (rd *replicaDevice) write(ctx context.Context, rnd *rand.Rand, venue string, n int) error {
	rd.mu.Lock()
	defer rd.mu.Unlock()
	var entity string
	if rnd.IntN(2) == 0 {
		id, err := recordOne(ctx, rd.dev, venue, "", int64(n))
		if err != nil {
			return err
		}
		rd.inspections = append(rd.inspections, id)
		entity = id
	} else {
		value := fmt.Sprintf("0539-%s-%d", rd.id[len(rd.id)-6:], n)
		if err := rd.dev.EditVenue(ctx, venue, map[string]string{schema.FieldPhone: value}); err != nil {
			return err
		}
		entity = venue
	}
	// The mutation just made is the newest for its entity; no sync has
	// taken it yet (rd.mu).
	var body string
	if err := rd.dev.DB().R.QueryRowContext(ctx, `SELECT body FROM outbox WHERE entity_id = ? ORDER BY seq DESC LIMIT 1`, entity).Scan(&body); err != nil {
		return fmt.Errorf("read the outbox: %w", err)
	}
	var m schema.Mutation
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		return err
	}
	rd.mutations = append(rd.mutations, m.ID)
	if m.VenueUpdate != nil {
		for f, fe := range m.VenueUpdate.Fields {
			rd.edits = append(rd.edits, fieldEdit{venue: venue, field: f, value: fe.Value, hlc: m.HLC, by: rd.name})
		}
	}
	return nil
}

// sync runs one sync; a failed one is counted and left to the next (the
// device keeps its work queued).
func (rd *replicaDevice) sync(ctx context.Context) {
	rd.mu.Lock()
	defer rd.mu.Unlock()
	if _, err := rd.dev.Sync(ctx); err != nil {
		rd.syncErrs++
	}
}

// checkServerHoldsOnce: each device's mutations are recorded once, none
// besides them, and each of its inspections is one row.
func checkServerHoldsOnce(t *testing.T, st *postgres.Store, devs []*replicaDevice) {
	t.Helper()
	ctx := context.Background()
	for _, rd := range devs {
		var recorded, matched int
		if err := st.Pool().QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE id = ANY($2)) FROM applied_mutations WHERE device_id = $1`,
			rd.id, rd.mutations).Scan(&recorded, &matched); err != nil {
			t.Fatal(err)
		}
		if recorded != len(rd.mutations) || matched != len(rd.mutations) {
			t.Errorf("%s made %d mutations; the server recorded %d from it, %d of them its own", rd.name, len(rd.mutations), recorded, matched)
		}
		var rows, distinct int
		if err := st.Pool().QueryRow(ctx, `SELECT count(*), count(DISTINCT id) FILTER (WHERE id = ANY($2)) FROM inspections WHERE device_id = $1`,
			rd.id, rd.inspections).Scan(&rows, &distinct); err != nil {
			t.Fatal(err)
		}
		if rows != len(rd.inspections) || distinct != len(rd.inspections) {
			t.Errorf("%s recorded %d inspections; the server holds %d rows from it, %d of them its own", rd.name, len(rd.inspections), rows, distinct)
		}
	}
}

// checkLatestEditWins: every edited venue field holds the value of its
// edit with the greatest clock, whoever made it and through whichever
// replica (every edit is later than the seed's stamps).
func checkLatestEditWins(t *testing.T, admin *servertest.Client, edits []fieldEdit) {
	t.Helper()
	latest := map[[2]string]fieldEdit{}
	for _, e := range edits {
		k := [2]string{e.venue, e.field}
		if cur, ok := latest[k]; !ok || schema.CompareHLCStrings(e.hlc, cur.hlc) > 0 {
			latest[k] = e
		}
	}
	for k, want := range latest {
		v, err := admin.Venue(k[0])
		if err != nil {
			t.Fatal(err)
		}
		if got := v.FieldValue(k[1]); got != want.value || v.Clocks[k[1]] != want.hlc {
			t.Errorf("venue %s %s: server holds %q at %s; the latest acknowledged edit was %q at %s by %s",
				k[0], k[1], got, v.Clocks[k[1]], want.value, want.hlc, want.by)
		}
	}
}

// checkDeviceMatchesServer: the device holds its squad's venues exactly
// as the server does (every mergeable field and its clock) and its own
// inspections with the server's status and review; nothing more, nothing
// less, nothing pending, nothing refused.
func checkDeviceMatchesServer(t *testing.T, admin *servertest.Client, rd *replicaDevice) {
	t.Helper()
	ctx := context.Background()
	st, err := rd.dev.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.PendingMutations != 0 {
		t.Errorf("%s still has %d mutations queued", rd.name, st.PendingMutations)
	}
	answers, err := rd.dev.Answers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range answers {
		if a.Outcome == schema.OutcomeRejected {
			t.Errorf("%s: mutation %s (%s) refused: %s %s", rd.name, a.MutationID, a.Kind, a.Code, a.Reason)
		}
	}
	var server []schema.Venue
	if err := admin.Do("GET", schema.PathVenues+"?squad="+strconv.FormatInt(rd.squad, 10)+"&limit=1000", nil, &server); err != nil {
		t.Fatal(err)
	}
	local := map[string]schema.Venue{}
	for _, v := range venuesOf(t, rd.dev) {
		local[v.ID] = v
	}
	if len(local) != len(server) {
		t.Errorf("%s holds %d venues; the server has %d in squad %d", rd.name, len(local), len(server), rd.squad)
	}
	for _, sv := range server {
		lv, ok := local[sv.ID]
		if !ok {
			t.Errorf("%s lacks venue %s of its squad", rd.name, sv.ID)
			continue
		}
		for _, f := range schema.VenueFields {
			if lv.FieldValue(f) != sv.FieldValue(f) || lv.Clocks[f] != sv.Clocks[f] {
				t.Errorf("%s: venue %s %s is %q at %s; the server holds %q at %s", rd.name, sv.ID, f,
					lv.FieldValue(f), lv.Clocks[f], sv.FieldValue(f), sv.Clocks[f])
			}
		}
	}
	serverIns, err := admin.Inspections(url.Values{"device": {rd.id}, "limit": {"1000"}})
	if err != nil {
		t.Fatal(err)
	}
	localIns, err := rd.dev.Inspections(ctx)
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]schema.Inspection{}
	for _, in := range localIns {
		byID[in.ID] = in
	}
	if len(byID) != len(serverIns) || len(serverIns) != len(rd.inspections) {
		t.Errorf("%s holds %d inspections, recorded %d; the server has %d from it", rd.name, len(byID), len(rd.inspections), len(serverIns))
	}
	for _, si := range serverIns {
		li, ok := byID[si.ID]
		switch {
		case !ok:
			t.Errorf("%s lacks its inspection %s", rd.name, si.ID)
		case li.Status != si.Status || decisionOf(li) != decisionOf(si) || len(li.Items) != len(si.Items):
			t.Errorf("%s: inspection %s is %s/%q with %d answers; the server holds %s/%q with %d", rd.name, si.ID,
				li.Status, decisionOf(li), len(li.Items), si.Status, decisionOf(si), len(si.Items))
		}
	}
}

func decisionOf(in schema.Inspection) string {
	if in.Review == nil {
		return ""
	}
	return in.Review.Decision
}

// pinned sends every request to one replica, which the test switches, and
// cuts the first PATCH body after cutAt bytes, as a dropped link does.
type pinned struct {
	base  http.RoundTripper
	host  atomic.Value // host:port
	cutAt atomic.Int64 // 0: no cut
	down  atomic.Bool  // PATCHes fail at once (after the cut)
}

func (p *pinned) RoundTrip(req *http.Request) (*http.Response, error) {
	r := req.Clone(req.Context())
	host := p.host.Load().(string)
	r.URL.Host, r.Host = host, host
	if req.Method != http.MethodPatch || req.Body == nil {
		return p.base.RoundTrip(r)
	}
	if p.down.Load() {
		return nil, errors.New("link down")
	}
	if n := p.cutAt.Swap(0); n > 0 {
		p.down.Store(true) // the link stays down until the test lifts it
		r.Body = &cutBody{r: req.Body, left: n}
		r.ContentLength = req.ContentLength
	}
	return p.base.RoundTrip(r)
}

// cutBody breaks off after left bytes.
type cutBody struct {
	r    io.ReadCloser
	left int64
}

func (c *cutBody) Read(b []byte) (int, error) {
	if c.left <= 0 {
		return 0, errors.New("link cut")
	}
	b = b[:min(int64(len(b)), c.left)]
	n, err := c.r.Read(b)
	c.left -= int64(n)
	return n, err
}

func (c *cutBody) Close() error { return c.r.Close() }

// TestReplicas_UploadCutOnOneResumesOnAnother: three replicas on one
// PostgreSQL database and one S3 bucket (versitygw), partial uploads
// staged in the bucket's staging/ prefix. Half a photo goes to replica 1
// and the link is cut; the device's next sync lands on replica 2, which
// resumes from what replica 1 kept. The photo is stored intact and
// recorded once, and nothing is left staged.
func TestReplicas_UploadCutOnOneResumesOnAnother(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.DSN(t)
	gw := storagetest.StartVersityGW(t)
	cfg := s3store.Config{Endpoint: gw.Endpoint, Bucket: gw.Bucket, AccessKey: gw.AccessKey, SecretKey: gw.SecretKey, Region: gw.Region}
	blobs, err := s3store.New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Prefix = "staging/"
	staging, err := s3store.New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	reps := startReplicasStaged(t, 3, dsn, blobs, staging)
	if _, err := demo.Seed(ctx, reps[0].Store, demo.Options{Venues: 12, Schools: 2, MonthsHistory: 1, HashPassword: cheapHash}); err != nil {
		t.Fatal(err)
	}
	host := func(r *replica) string { u, _ := url.Parse(r.URL); return u.Host }
	route := &pinned{base: http.DefaultTransport.(*http.Transport).Clone()}
	route.host.Store(host(reps[0]))
	d, err := mobilesync.Open(ctx, mobilesync.Options{Path: t.TempDir() + "/device.db", Logger: quietLogger(),
		HTTPClient: &http.Client{Transport: route, Timeout: 30 * time.Second}, Sleep: func(context.Context, time.Duration) error { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	admin := servertest.Login(t, reps[0].URL, "admin", demo.Password)
	code, err := admin.EnrollmentCode("inspector1")
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Enroll(ctx, reps[0].URL, code, "replica-upload"); err != nil {
		t.Fatal(err)
	}
	mustSync(t, d)
	const size = 9 << 20 // three pieces of 4 MiB: two saved before the cut
	p, sha := writePhoto(t, t.TempDir(), size, 31)
	recordWithPhotos(t, d, nthVenue(t, d, schema.KindNetCafe, 0).ID, []string{p}, nil)

	route.cutAt.Store(size / 2)
	if _, err := d.Sync(ctx); err == nil {
		// The device may report the cut photo as pending rather than fail.
		t.Log("sync with a cut upload returned no error")
	}
	var held store.Upload
	for i := 0; i < 100; i++ {
		held, err = reps[0].Store.Upload(ctx, sha, deviceID(t, d))
		if err == nil && held.Offset > 0 && held.Pending == "" {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil || held.Offset < 4<<20 || held.Offset > size/2 {
		t.Fatalf("after the cut on replica 1 the database holds %+v, %v; want about half the photo", held, err)
	}
	if _, err := blobs.Stat(ctx, sha); err == nil {
		t.Fatal("the cut photo is stored already")
	}

	route.host.Store(host(reps[1]))
	route.down.Store(false)
	rep := mustSync(t, d)
	if rep.PhotosUploaded != 1 {
		t.Fatalf("sync on replica 2: %+v; want the photo uploaded", rep)
	}
	if rep.PhotoBytes > size-held.Offset+256<<10 {
		t.Errorf("replica 2 was sent %d bytes; the first %d were staged already", rep.PhotoBytes, held.Offset)
	}
	if b := readBlob(t, blobs, sha); len(b) != size || sha256Hex(b) != sha {
		t.Fatalf("the resumed photo is stored as %d bytes hashing to %s", len(b), sha256Hex(b))
	}
	var rows int
	if err := reps[2].Store.Pool().QueryRow(ctx, `SELECT count(*) FROM photos WHERE sha256 = $1`, sha).Scan(&rows); err != nil || rows != 1 {
		t.Fatalf("photo recorded %d times, %v", rows, err)
	}
	if _, err := reps[2].Store.Upload(ctx, sha, deviceID(t, d)); schema.ErrorCode(err) != schema.CodeNotFound {
		t.Fatalf("upload state after the commit: %v; want not_found", err)
	}
	for obj := range staging.Client().ListObjects(ctx, staging.Bucket(), minio.ListObjectsOptions{Prefix: "staging/", Recursive: true}) {
		t.Errorf("staging keeps %s (%v) after the photo was stored", obj.Key, obj.Err)
	}
}
