package e2e_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/minio/minio-go/v7"

	mobilesync "github.com/patrolhq/patrol/mobile-sync"
	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/store/postgres/pgtest"
	"github.com/patrolhq/patrol/storage/s3store"
	"github.com/patrolhq/patrol/storage/storagetest"
)

// TestCrashCampaign_PostgresReplicas runs three patrold processes on one
// PostgreSQL database and one S3 bucket; devices send each request to a
// replica at random while they record inspections with photos and sync.
// Replicas are killed with SIGKILL at random moments and started again,
// and once PostgreSQL itself crashes (immediate shutdown, recovery from
// its log) and restarts mid-run. Afterwards every inspection the devices
// recorded is on the server exactly once and recorded once as a mutation,
// nothing is lost on the devices, every photo an inspection names is in
// the bucket, and every object there hashes to its name.
func TestCrashCampaign_PostgresReplicas(t *testing.T) {
	patrold, _ := binaries(t)
	kills := crashKills(3)
	pg := pgtest.Start(t) // the test crashes it: not a server other tests use
	dsn := pg.DSN(t)
	gw := storagetest.StartVersityGW(t)
	args := []string{"--database", dsn, "--log-level", "warn", "--s3-endpoint", gw.Endpoint, "--s3-bucket", gw.Bucket,
		"--s3-access-key", gw.AccessKey, "--s3-secret-key", gw.SecretKey, "--s3-region", gw.Region}
	// The first seeds the demo district; the others start on the seeded database.
	reps := []*daemon{startDaemon(t, patrold, t.TempDir(), append(args, "--demo")...)}
	for i := 1; i < 3; i++ {
		reps = append(reps, startDaemon(t, patrold, t.TempDir(), args...))
	}
	var urls []string
	for _, r := range reps {
		urls = append(urls, r.URL())
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rnd := rand.New(rand.NewPCG(seed, 1))
	route := newSpread(seed, urls...)
	client := &http.Client{Transport: route, Timeout: 30 * time.Second}
	e := &env{t: t, URL: urls[0]}
	admin := e.login("admin")

	ctx := context.Background()
	users := []string{"inspector1", "inspector2", "inspector3"}
	devs := make([]*mobilesync.Device, len(users))
	for i, u := range users {
		devs[i] = e.newDevice(admin, u, func(o *mobilesync.Options) { o.HTTPClient = client })
		mustSync(t, devs[i])
	}
	var (
		recorded [3][]string
		photoN   atomic.Int64
		photos   atomic.Int64
		failures atomic.Int64 // syncs that found no replica or no database
		wg       sync.WaitGroup
		stop     atomic.Bool
	)
	for i, d := range devs {
		wg.Add(1)
		go func(i int, d *mobilesync.Device) {
			defer wg.Done()
			dir := t.TempDir()
			vs, _ := d.Venues(ctx)
			for n := 0; !stop.Load(); n++ {
				photo := ""
				if n%2 == 0 {
					photo = dir
					photos.Add(1)
				}
				id, err := recordOne(ctx, d, vs[n%len(vs)].ID, photo, photoN.Add(1))
				if err != nil {
					t.Errorf("device %d record: %v", i, err)
					return
				}
				recorded[i] = append(recorded[i], id)
				if _, err := d.Sync(ctx); err != nil {
					// Every replica it tried was down, or the database was:
					// the work stays queued; record the next one a little later.
					failures.Add(1)
					time.Sleep(50 * time.Millisecond)
				}
			}
		}(i, d)
	}
	dbCrash := rnd.IntN(kills) // the kill after which PostgreSQL crashes too
	for k := 0; k < kills; k++ {
		time.Sleep(time.Duration(150+rnd.IntN(500)) * time.Millisecond)
		r := reps[rnd.IntN(len(reps))]
		r.kill()
		time.Sleep(time.Duration(rnd.IntN(200)) * time.Millisecond)
		r.start()
		if k == dbCrash {
			time.Sleep(time.Duration(100+rnd.IntN(400)) * time.Millisecond)
			pg.Crash(t)
			waitReady(t, urls, http.StatusServiceUnavailable) // the replicas did lose their database
			time.Sleep(time.Duration(rnd.IntN(500)) * time.Millisecond)
			pg.Restart(t)
			waitReady(t, urls, http.StatusOK)
		}
	}
	time.Sleep(300 * time.Millisecond) // some work on the recovered database
	stop.Store(true)
	wg.Wait()
	for i, d := range devs {
		converge(t, d, fmt.Sprintf("device %d", i))
	}
	for _, r := range reps {
		r.stop()
	}
	total := len(recorded[0]) + len(recorded[1]) + len(recorded[2])
	t.Logf("replica kills survived: %d and one PostgreSQL crash; inspections recorded: %d; photos: %d; failed syncs: %d; requests per replica: %v",
		kills, total, photos.Load(), failures.Load(), route.served())
	verifyPostgresCampaign(t, dsn, gw, devs, recorded[:])
}

// waitReady waits until every replica's /readyz answers status, which it
// does once its database is gone (503) or back (200).
func waitReady(t *testing.T, urls []string, status int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for _, u := range urls {
		for {
			resp, err := http.Get(u + schema.PathReadyz)
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == status {
					break
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s/readyz did not answer %d within 30 s (last: %v)", u, status, err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// verifyPostgresCampaign checks the invariants of the campaign in the
// database and the bucket, with every replica stopped.
func verifyPostgresCampaign(t *testing.T, dsn string, gw storagetest.S3Endpoint, devs []*mobilesync.Device, perDevice [][]string) {
	t.Helper()
	ctx := context.Background()
	db, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(ctx)
	for i, d := range devs {
		idn, err := d.Identity(ctx)
		if err != nil {
			t.Fatal(err)
		}
		ids := perDevice[i]
		var rows, own, answered int
		if err := db.QueryRow(ctx, `SELECT count(*), count(DISTINCT id) FILTER (WHERE id = ANY($2)),
			(SELECT count(*) FROM applied_mutations WHERE device_id = $1)
			FROM inspections WHERE device_id = $1`, idn.DeviceID, ids).Scan(&rows, &own, &answered); err != nil {
			t.Fatal(err)
		}
		if rows != len(ids) || own != len(ids) || answered != len(ids) {
			t.Errorf("device %d recorded %d inspections; the server holds %d rows from it (%d of them its own) and answered %d mutations",
				i, len(ids), rows, own, answered)
		}
		ins, err := d.Inspections(ctx)
		if err != nil {
			t.Fatal(err)
		}
		have := map[string]bool{}
		for _, in := range ins {
			have[in.ID] = true
		}
		for _, id := range ids {
			if !have[id] {
				t.Errorf("device %d lost its inspection %s", i, id)
			}
		}
	}
	var missing, referenced int
	if err := db.QueryRow(ctx, `SELECT count(*) FILTER (WHERE p.sha256 IS NULL), count(DISTINCT ip.sha256)
		FROM inspection_photos ip LEFT JOIN photos p ON p.sha256 = ip.sha256`).Scan(&missing, &referenced); err != nil {
		t.Fatal(err)
	}
	if missing != 0 {
		t.Errorf("%d photo references name photos that never arrived", missing)
	}
	rows, err := db.Query(ctx, `SELECT sha256, size FROM photos`)
	if err != nil {
		t.Fatal(err)
	}
	sizes := map[string]int64{}
	for rows.Next() {
		var sha string
		var size int64
		if err := rows.Scan(&sha, &size); err != nil {
			t.Fatal(err)
		}
		sizes[sha] = size
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	s3, err := s3store.New(ctx, s3store.Config{Endpoint: gw.Endpoint, Bucket: gw.Bucket, AccessKey: gw.AccessKey, SecretKey: gw.SecretKey, Region: gw.Region})
	if err != nil {
		t.Fatal(err)
	}
	for sha, size := range sizes {
		if b := readBlob(t, s3, sha); sha256Hex(b) != sha || int64(len(b)) != size {
			t.Errorf("photo %s: the bucket holds %d bytes hashing to %s; recorded %d bytes", sha, len(b), sha256Hex(b), size)
		}
	}
	objects := 0
	for obj := range s3.Client().ListObjects(ctx, s3.Bucket(), minio.ListObjectsOptions{Recursive: true}) {
		if obj.Err != nil {
			t.Fatal(obj.Err)
		}
		objects++
		key := strings.TrimPrefix(obj.Key, s3.ObjectName(""))
		if b := readBlob(t, s3, key); sha256Hex(b) != key {
			t.Errorf("object %s in the bucket does not hash to its name", obj.Key)
		}
	}
	t.Logf("photos referenced: %d, recorded: %d; objects in the bucket (originals and thumbnails), each hashed: %d", referenced, len(sizes), objects)
}
