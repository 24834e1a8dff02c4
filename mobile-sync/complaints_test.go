package mobilesync_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"
	mobilesync "github.com/patrolhq/patrol/mobile-sync"
	"github.com/patrolhq/patrol/schema"
)

// venue4 is a venue of squad 2, which squad 1's devices never see.
var venue4 = district.Squads[1].Venues[0].ID

// complainant is the contact every test complaint gives: it must never
// reach a device.
const complainant = "13912345678 张先生 contact-7f3a9c"

var adminAccess = schema.ComplaintAccessOf(schema.RoleAdmin, nil, false)

// complain takes a complaint in on the server, as the bureau's intake
// staff would; a zero ReceivedAt is the server's now.
func complain(t *testing.T, e *env, in schema.ComplaintIntake) schema.Complaint {
	t.Helper()
	in.Channel = schema.Channel12345
	if in.Category == "" {
		in.Category = schema.CategoryCafe
	}
	in.Contact, in.ReplyWanted = complainant, true
	c, err := e.srv.Server().Store().CreateComplaint(context.Background(), in, "admin", schema.DefaultComplaintLimits())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (e *env) actOn(t *testing.T, id string, act schema.ComplaintAction) schema.Complaint {
	t.Helper()
	act.By = "admin"
	c, err := e.srv.Server().Store().ActOnComplaint(context.Background(), id, act, adminAccess, schema.DefaultComplaintLimits())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (e *env) serverComplaint(t *testing.T, id string) schema.Complaint {
	t.Helper()
	c, err := e.srv.Server().Store().Complaint(context.Background(), id, adminAccess)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func complaintTasks(t *testing.T, d *mobilesync.Device) []mobilesync.Task {
	t.Helper()
	var out []mobilesync.Task
	for _, x := range tasks(t, d) {
		if x.Kind == mobilesync.TaskComplaint {
			out = append(out, x)
		}
	}
	return out
}

// pullBodies records the decoded bodies of every pull the device receives.
type pullBodies struct {
	mu  sync.Mutex
	all bytes.Buffer
}

func (e *env) recordPulls(t *testing.T) *pullBodies {
	t.Helper()
	pb := &pullBodies{}
	e.hooks.set(nil, func(r *http.Request, resp *http.Response) (*http.Response, error) {
		if r.URL.Path != schema.PathPull {
			return resp, nil
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return nil, err
		}
		resp.Body = io.NopCloser(bytes.NewReader(body))
		plain := body
		if strings.EqualFold(resp.Header.Get("Content-Encoding"), "gzip") {
			zr, err := gzip.NewReader(bytes.NewReader(body))
			if err != nil {
				return nil, err
			}
			if plain, err = io.ReadAll(zr); err != nil {
				return nil, err
			}
		}
		pb.mu.Lock()
		pb.all.Write(plain)
		pb.mu.Unlock()
		return resp, nil
	})
	return pb
}

func (pb *pullBodies) contains(s string) bool {
	pb.mu.Lock()
	defer pb.mu.Unlock()
	return bytes.Contains(pb.all.Bytes(), []byte(s))
}

// deviceBytes reads every file of the device database: the main file, its
// write-ahead log and anything else SQLite keeps beside it.
func (e *env) deviceBytes(t *testing.T) []byte {
	t.Helper()
	var all []byte
	for _, suffix := range []string{"", "-wal", "-shm", "-journal"} {
		b, err := os.ReadFile(e.path + suffix)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		all = append(all, b...)
	}
	return all
}

func TestComplaint_TaskOnOwnSquadsDeviceOnlyAndNeverTheContact(t *testing.T) {
	srv, clock := startServer(t)
	e1 := newEnvOn(t, srv, clock)
	e2 := newEnvAs(t, srv, clock, "inspector3")
	pulls := e1.recordPulls(t)
	fresh := complain(t, e1, schema.ComplaintIntake{VenueID: venue1, Content: "晚上十点后仍有未成年人在此上网，前台不登记身份证"})
	late := complain(t, e1, schema.ComplaintIntake{VenueID: venue2, Category: schema.CategoryArcade,
		ReceivedAt: serverNow.AddDate(0, 0, -70), Content: "游戏厅设有赌博性质的游戏机"})
	squad1 := int64(1)
	place := complain(t, e1, schema.ComplaintIntake{Place: "通达路与沂蒙路路口东侧二楼，无招牌", SquadID: &squad1,
		Content: "疑似无证网吧，通宵营业"})
	other := complain(t, e1, schema.ComplaintIntake{VenueID: venue4, Content: "噪音扰民"})
	mustSync(t, e1.dev)
	mustSync(t, e2.dev)

	got := complaintTasks(t, e1.dev)
	if len(got) != 3 || got[0].ComplaintID != late.ID {
		t.Fatalf("squad 1's complaint tasks %+v: want three, the overdue one first", got)
	}
	if x := got[0]; !x.Overdue || x.Due == nil || !x.Due.Equal(late.Due) || x.Number != late.Number || x.VenueID != venue2 ||
		x.VenueName != "Golden Arcade" || x.Category != schema.CategoryArcade || x.Content != late.Content {
		t.Fatalf("overdue task %+v", x)
	}
	for _, x := range got[1:] {
		if x.Overdue {
			t.Errorf("task %s overdue on the day it was received", x.Number)
		}
		switch x.ComplaintID {
		case fresh.ID:
			if x.VenueName != "Star Net Café" || x.Content != fresh.Content {
				t.Errorf("task %+v", x)
			}
		case place.ID:
			if x.VenueID != "" || x.Place != place.Place {
				t.Errorf("task of a described place %+v", x)
			}
		default:
			t.Errorf("unexpected task %+v", x)
		}
	}
	if got := complaintTasks(t, e2.dev); len(got) != 1 || got[0].ComplaintID != other.ID {
		t.Fatalf("squad 2's complaint tasks %+v: want only its own", got)
	}

	// Nothing of the complainant reached the device: not in the pull, not
	// on its disk. The scan is shown to work by finding what did arrive.
	if pulls.contains(complainant) || pulls.contains("13912345678") {
		t.Fatal("a pull carried the complainant's contact")
	}
	if !pulls.contains(fresh.Number) {
		t.Fatal("the recorded pulls do not hold the complaint at all")
	}
	disk := e1.deviceBytes(t)
	if bytes.Contains(disk, []byte("13912345678")) || bytes.Contains(disk, []byte("contact-7f3a9c")) {
		t.Fatal("the device database holds the complainant's contact")
	}
	if !bytes.Contains(disk, []byte(fresh.Content)) {
		t.Fatal("the device database does not hold the complaint's content: the scan proves nothing")
	}
}

func TestComplaint_InspectionLinksOnServerAndTaskGoes(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	c := complain(t, e, schema.ComplaintIntake{VenueID: venue1, Content: "前台不登记身份证"})
	mustSync(t, e.dev)
	start := func(venue, id string) (string, error) {
		return e.dev.StartInspectionWith(ctx, venue, mobilesync.StartOptions{CoInspectors: []string{"inspector2"}, ComplaintID: id})
	}
	for _, tc := range []struct {
		name, venue, id string
		code            schema.Code
		msg             string
	}{
		{"unknown", venue1, uuid.NewString(), schema.CodeNotFound, "patrol tasks"},
		{"not an id", venue1, "投诉〔2026〕1号", schema.CodeInvalid, "complaint id"},
		{"other venue", venue2, c.ID, schema.CodeInvalid, "--venue " + venue1},
	} {
		if _, err := start(tc.venue, tc.id); schema.ErrorCode(err) != tc.code || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: %v, want %s mentioning %q", tc.name, err, tc.code, tc.msg)
		}
	}
	id, err := start(venue1, strings.ToUpper(c.ID))
	if err != nil {
		t.Fatal(err)
	}
	if ts := complaintTasks(t, e.dev); len(ts) != 1 || ts[0].DraftID != id {
		t.Fatalf("tasks with a draft %+v: want the task standing, naming the draft", ts)
	}
	cl, _ := schema.ChecklistByVersion(schema.DefaultChecklistVersion)
	for _, it := range cl.Items {
		if err := e.dev.SetItem(ctx, id, it.ID, schema.ResultPass, ""); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.dev.Submit(ctx, id); err != nil {
		t.Fatal(err)
	}
	if ts := complaintTasks(t, e.dev); len(ts) != 0 {
		t.Fatalf("tasks after submitting the investigation %+v", ts)
	}
	mustSync(t, e.dev)

	srvc := e.serverComplaint(t, c.ID)
	if srvc.Status != schema.ComplaintInvestigating || len(srvc.InspectionIDs) != 1 || srvc.InspectionIDs[0] != id {
		t.Fatalf("server's complaint %s %v: want investigating, linked to %s", srvc.Status, srvc.InspectionIDs, id)
	}
	if in, err := e.admin.Inspection(id); err != nil || in.ComplaintID != c.ID {
		t.Fatalf("server's inspection complaint_id %q, %v", in.ComplaintID, err)
	}
	// Investigating, the server still sends the task; this device has done
	// it, another of the squad sees it under investigation.
	if ts := complaintTasks(t, e.dev); len(ts) != 0 {
		t.Fatalf("tasks after the sync %+v", ts)
	}
	other := newEnvAs(t, e.srv, e.clock, "inspector2")
	mustSync(t, other.dev)
	if ts := complaintTasks(t, other.dev); len(ts) != 1 || ts[0].Status != schema.ComplaintInvestigating {
		t.Fatalf("the squad's other device %+v: want the complaint under investigation", ts)
	}
	if in, _ := e.dev.Inspection(ctx, id); in.ComplaintID != c.ID {
		t.Fatalf("device's inspection after the pull: complaint_id %q", in.ComplaintID)
	}
	// Handled, it leaves the device.
	e.actOn(t, c.ID, schema.ComplaintAction{Action: schema.ComplaintActHandle, Text: "已责令整改"})
	mustSync(t, e.dev)
	if _, err := e.dev.ComplaintTask(ctx, c.ID); schema.ErrorCode(err) != schema.CodeNotFound {
		t.Fatalf("handled complaint still on the device: %v", err)
	}
}

func TestComplaint_ReassignedMovesToTheOtherSquadsDevices(t *testing.T) {
	srv, clock := startServer(t)
	e1 := newEnvOn(t, srv, clock)
	e2 := newEnvAs(t, srv, clock, "inspector3")
	ctx := context.Background()
	c := complain(t, e1, schema.ComplaintIntake{VenueID: venue1, Content: "经营者称店在二中队辖区"})
	mustSync(t, e1.dev)
	mustSync(t, e2.dev)
	if len(complaintTasks(t, e1.dev)) != 1 || len(complaintTasks(t, e2.dev)) != 0 {
		t.Fatal("before the reassignment: want the task on squad 1's device only")
	}
	e1.actOn(t, c.ID, schema.ComplaintAction{Action: schema.ComplaintActAssign, SquadID: 2, Reason: "辖区调整"})
	mustSync(t, e1.dev)
	mustSync(t, e2.dev)
	if ts := complaintTasks(t, e1.dev); len(ts) != 0 {
		t.Fatalf("squad 1's device after the reassignment %+v", ts)
	}
	if _, err := e1.dev.ComplaintTask(ctx, c.ID); schema.ErrorCode(err) != schema.CodeNotFound {
		t.Fatalf("squad 1's device still holds the complaint: %v", err)
	}
	if ts := complaintTasks(t, e2.dev); len(ts) != 1 || ts[0].ComplaintID != c.ID || ts[0].Number != c.Number {
		t.Fatalf("squad 2's device after the reassignment %+v", ts)
	}

	// A reset drops the tasks it does not deliver again.
	task := schema.ComplaintTask{ID: uuid.NewString(), Number: "投诉〔2026〕99号", SquadID: 2, Category: schema.CategoryCafe,
		Place: "沂河路", Content: "通宵营业", Status: schema.ComplaintAccepted, Due: serverNow.AddDate(0, 0, 50)}
	e2.injectPull(t, true, schema.Change{Kind: schema.ChangeComplaint, ID: task.ID, Complaint: &task})
	mustSync(t, e2.dev)
	if ts := complaintTasks(t, e2.dev); len(ts) != 1 || ts[0].ComplaintID != task.ID {
		t.Fatalf("after a reset %+v: want only the one delivered again", ts)
	}
}

// tamperPush lets fn rewrite the next pushes before they reach the server,
// as a forged or broken device would send them.
func (e *env) tamperPush(t *testing.T, fn func(*schema.PushRequest)) {
	t.Helper()
	e.hooks.set(func(r *http.Request) {
		if r.URL.Path != schema.PathPush {
			return
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("read push: %v", err)
			return
		}
		var rd io.Reader = bytes.NewReader(body)
		if r.Header.Get("Content-Encoding") == "gzip" {
			if rd, err = gzip.NewReader(rd); err != nil {
				t.Errorf("gunzip push: %v", err)
				return
			}
		}
		req, err := schema.DecodePushRequest(rd)
		if err != nil {
			t.Errorf("decode push: %v", err)
			return
		}
		fn(req)
		out, _ := json.Marshal(req)
		r.Header.Del("Content-Encoding")
		r.Header.Set("Content-Length", strconv.Itoa(len(out)))
		r.ContentLength = int64(len(out))
		r.Body = io.NopCloser(bytes.NewReader(out))
	}, nil)
}

func TestComplaint_TamperedPushNamingAnotherSquadsComplaintRejectedRestApplied(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	theirs := complain(t, e, schema.ComplaintIntake{VenueID: venue4, Content: "二中队辖区的投诉"})
	elsewhere := complain(t, e, schema.ComplaintIntake{VenueID: venue2, Content: "本中队另一场所的投诉"})
	mustSync(t, e.dev)
	var ids []string
	for range 3 {
		id := completeInspection(t, e.dev, venue1, "inspector2")
		if err := e.dev.Submit(ctx, id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	forged := map[string]string{ids[0]: theirs.ID, ids[1]: elsewhere.ID}
	e.tamperPush(t, func(req *schema.PushRequest) {
		for i := range req.Mutations {
			if in := req.Mutations[i].Inspection; in != nil && forged[in.ID] != "" {
				in.ComplaintID = forged[in.ID]
			}
		}
	})
	mustSync(t, e.dev)
	e.hooks.set(nil, nil)

	answers, err := e.dev.Answers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	codes := map[string]string{}
	for _, a := range answers {
		codes[a.EntityID] = a.Code
	}
	if codes[ids[0]] != string(schema.CodeNotFound) || codes[ids[1]] != string(schema.CodeInvalid) || codes[ids[2]] != "" {
		t.Fatalf("answers by inspection %v: want another squad's complaint not found, one about another venue invalid, the third applied", codes)
	}
	if _, err := e.admin.Inspection(ids[2]); err != nil {
		t.Fatalf("the untouched inspection of the batch: %v", err)
	}
	for _, id := range ids[:2] {
		if _, err := e.admin.Inspection(id); err == nil {
			t.Errorf("inspection %s naming a forbidden complaint was stored", id)
		}
	}
	if c := e.serverComplaint(t, theirs.ID); c.Status != schema.ComplaintReceived || len(c.InspectionIDs) != 0 {
		t.Fatalf("the other squad's complaint %s %v: want untouched", c.Status, c.InspectionIDs)
	}
	if c := e.serverComplaint(t, elsewhere.ID); c.Status != schema.ComplaintReceived || len(c.InspectionIDs) != 0 {
		t.Fatalf("the complaint about another venue %s %v: want untouched", c.Status, c.InspectionIDs)
	}
}
