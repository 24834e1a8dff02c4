package e2e_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	mobilesync "github.com/patrolhq/patrol/mobile-sync"
	"github.com/patrolhq/patrol/mobile-sync/loadtest"
	"github.com/patrolhq/patrol/schema"
)

// crashKills is how many times a campaign kills a process: a few in CI,
// dozens with PATROL_CRASH_KILLS=50 (task crash).
func crashKills(def int) int {
	if n, err := strconv.Atoi(os.Getenv("PATROL_CRASH_KILLS")); err == nil && n > 0 {
		return n
	}
	return def
}

// recordOne records a complete inspection on d, with a photo on its first
// item when photoDir is set.
func recordOne(ctx context.Context, d *mobilesync.Device, venue string, photoDir string, n int64) (string, error) {
	cl, _ := schema.ChecklistByVersion(schema.DefaultChecklistVersion)
	in := mobilesync.InspectionInput{VenueID: venue}
	for k, it := range cl.Items {
		item := mobilesync.ItemInput{ItemID: it.ID, Result: schema.ResultPass}
		if k == 0 && photoDir != "" {
			p := filepath.Join(photoDir, fmt.Sprintf("p%d.jpg", n))
			if err := os.WriteFile(p, loadtest.JPEG(300_000+int(n%7)*1000, uint64(n)), 0o644); err != nil {
				return "", err
			}
			item.Photos = []string{p}
		}
		in.Items = append(in.Items, item)
	}
	return d.RecordInspection(ctx, in)
}

// TestCrashCampaign_ServerKilled runs patrold as a separate process, has
// devices record and sync inspections with photos, and kills the server
// with SIGKILL at random moments. Afterwards every inspection and photo the
// devices made is on the server exactly once, no device lost anything, the
// database passes integrity_check and no blob is half-written.
func TestCrashCampaign_ServerKilled(t *testing.T) {
	patrold, _ := binaries(t)
	kills := crashKills(4)
	data := t.TempDir()
	srv := startDaemon(t, patrold, data, "--demo")
	e := &env{t: t, URL: srv.URL()}
	admin := e.login("admin")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rnd := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	users := []string{"inspector1", "inspector2", "inspector3"}
	devs := make([]*mobilesync.Device, len(users))
	for i, u := range users {
		devs[i] = e.newDevice(admin, u)
		mustSync(t, devs[i])
	}
	var (
		recorded [3][]string
		photoN   atomic.Int64
		photos   atomic.Int64
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
				_, _ = d.Sync(ctx) // fails while the server is down; the work stays queued
			}
		}(i, d)
	}
	for k := 0; k < kills; k++ {
		time.Sleep(time.Duration(150+rnd.IntN(500)) * time.Millisecond)
		srv.kill()
		time.Sleep(time.Duration(rnd.IntN(200)) * time.Millisecond)
		srv.start()
	}
	stop.Store(true)
	wg.Wait()
	for i, d := range devs {
		converge(t, d, fmt.Sprintf("device %d", i))
	}
	srv.stop()

	t.Logf("server kills survived: %d; inspections recorded: %d; photos: %d", kills, len(recorded[0])+len(recorded[1])+len(recorded[2]), photos.Load())
	verifyServerData(t, data, devs, recorded[:])
}

// converge syncs a device until nothing is pending.
func converge(t *testing.T, d *mobilesync.Device, name string) {
	t.Helper()
	ctx := context.Background()
	for attempt := 0; attempt < 30; attempt++ {
		_, err := d.Sync(ctx)
		st, serr := d.Status(ctx)
		if err == nil && serr == nil && st.PendingMutations == 0 && st.PendingPhotos == 0 {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	st, _ := d.Status(ctx)
	t.Fatalf("%s did not converge: %+v", name, st)
}

// verifyServerData opens the stopped server's files and checks the
// invariants of the campaign.
func verifyServerData(t *testing.T, data string, devs []*mobilesync.Device, perDevice [][]string) {
	t.Helper()
	var recorded []string
	for _, ids := range perDevice {
		recorded = append(recorded, ids...)
	}
	ctx := context.Background()
	db, err := schema.Open(filepath.Join(data, "patrol.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var ok string
	if err := db.R.QueryRow(`PRAGMA integrity_check`).Scan(&ok); err != nil || ok != "ok" {
		t.Fatalf("integrity_check: %q %v", ok, err)
	}
	for _, id := range recorded {
		var n int
		if err := db.R.QueryRow(`SELECT count(*) FROM inspections WHERE id = ?`, id).Scan(&n); err != nil || n != 1 {
			t.Errorf("inspection %s on server %d times (%v)", id, n, err)
		}
	}
	var ids []any
	marks := []string{}
	for _, d := range devs {
		idn, err := d.Identity(ctx)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, idn.DeviceID)
		marks = append(marks, "?")
	}
	var n int
	if err := db.R.QueryRow(`SELECT count(*) FROM inspections WHERE device_id IN (`+strings.Join(marks, ",")+`)`, ids...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != len(recorded) {
		t.Errorf("server holds %d inspections from these devices; they recorded %d", n, len(recorded))
	}
	// Every device still holds every inspection it recorded.
	for i, d := range devs {
		ins, err := d.Inspections(ctx)
		if err != nil {
			t.Fatal(err)
		}
		have := map[string]bool{}
		for _, in := range ins {
			have[in.ID] = true
		}
		for _, id := range perDevice[i] {
			if !have[id] {
				t.Errorf("device %d lost its inspection %s", i, id)
			}
		}
	}
	// Every referenced photo arrived, and every visible blob hashes to its name.
	var missing int
	if err := db.R.QueryRow(`SELECT count(*) FROM inspection_photos ip LEFT JOIN photos p ON p.sha256 = ip.sha256 WHERE p.sha256 IS NULL`).Scan(&missing); err != nil {
		t.Fatal(err)
	}
	if missing != 0 {
		t.Errorf("%d photos referenced by inspections never arrived", missing)
	}
	checkBlobs(t, filepath.Join(data, "blobs"))
}

// checkBlobs hashes every blob the local store shows and compares it with
// its name; temporary files may remain only in the store's tmp folder.
func checkBlobs(t *testing.T, dir string) {
	t.Helper()
	count := 0
	err := filepath.WalkDir(dir, func(p string, de fs.DirEntry, err error) error {
		if err != nil || de.IsDir() {
			if de != nil && de.IsDir() && de.Name() == "tmp" {
				return filepath.SkipDir
			}
			return err
		}
		name := de.Name()
		if len(name) != 64 {
			return nil // sidecar files (content type)
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		h := sha256.New()
		if _, err := io.Copy(h, f); err != nil {
			return err
		}
		if got := hex.EncodeToString(h.Sum(nil)); got != name {
			t.Errorf("blob %s holds bytes hashing to %s", name, got)
		}
		count++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("blobs checked: %d", count)
}

// TestCrashCampaign_DeviceKilled kills the patrol command line with SIGKILL
// in the middle of its sync, again and again, then lets it finish: the
// server ends with every inspection once and the device with nothing lost.
func TestCrashCampaign_DeviceKilled(t *testing.T) {
	_, patrol := binaries(t)
	e := newEnv(t)
	admin := e.login("admin")
	dbPath := filepath.Join(t.TempDir(), "field.db")
	ctx := context.Background()
	d, err := mobilesync.Open(ctx, mobilesync.Options{Path: dbPath, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Enroll(ctx, e.URL, admin.enrollmentCode("inspector4"), "field"); err != nil {
		t.Fatal(err)
	}
	mustSync(t, d)
	vs := venuesOf(t, d)
	photos := t.TempDir()
	var recorded []string
	for n := 0; n < 40; n++ {
		dir := ""
		if n%4 == 0 {
			dir = photos
		}
		id, err := recordOne(ctx, d, vs[n%len(vs)].ID, dir, int64(n+1))
		if err != nil {
			t.Fatal(err)
		}
		recorded = append(recorded, id)
	}
	d.Close()

	kills := crashKills(6)
	rnd := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 2))
	killed := 0
	for k := 0; k < kills; k++ {
		cmd := exec.Command(patrol, "--db", dbPath, "sync")
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(20+rnd.IntN(150)) * time.Millisecond)
		if syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) == nil {
			killed++
		}
		_ = cmd.Wait()
	}
	out, err := exec.Command(patrol, "--db", dbPath, "sync", "--json").CombinedOutput()
	if err != nil {
		t.Fatalf("final sync: %v\n%s", err, out)
	}
	d, err = mobilesync.Open(ctx, mobilesync.Options{Path: dbPath, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	converge(t, d, "field device")
	var ok string
	if err := d.DB().R.QueryRow(`PRAGMA integrity_check`).Scan(&ok); err != nil || ok != "ok" {
		t.Fatalf("device integrity_check: %q %v", ok, err)
	}
	t.Logf("device kills: %d; inspections: %d", killed, len(recorded))
	ins, err := d.Inspections(ctx)
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, in := range ins {
		have[in.ID] = true
	}
	for _, id := range recorded {
		if !have[id] {
			t.Errorf("the device lost its inspection %s", id)
		}
		if n := e.countRows(`SELECT count(*) FROM inspections WHERE id = ?`, id); n != 1 {
			t.Errorf("inspection %s on server %d times", id, n)
		}
	}
	idn, err := d.Identity(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n := e.countRows(`SELECT count(*) FROM inspections WHERE device_id = ?`, idn.DeviceID); n != len(recorded) {
		t.Errorf("server holds %d inspections from the device; it recorded %d", n, len(recorded))
	}
	if n := e.countRows(`SELECT count(*) FROM inspection_photos ip LEFT JOIN photos p ON p.sha256 = ip.sha256 WHERE p.sha256 IS NULL`); n != 0 {
		t.Errorf("%d photos never arrived", n)
	}
	checkBlobs(t, filepath.Join(e.Data, "blobs"))
}
