package server_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server"
	"github.com/patrolhq/patrol/server/store"
)

const apiSchools = `{"type":"FeatureCollection","features":[
 {"type":"Feature","properties":{"id":"EDU-9","name":"实验小学","kind":"primary"},"geometry":{"type":"Polygon","coordinates":[[[117.12,36.65],[117.121,36.65],[117.121,36.651],[117.12,36.65]]]}}]}`

func TestImport_API(t *testing.T) {
	e := newEnv(t)
	admin := e.login("admin")
	path := schema.PathImport + "/schools?datum=gcj02"

	r := e.login("leader1").raw("POST", path, strings.NewReader(apiSchools), map[string]string{"Content-Type": "application/geo+json"})
	if r.status != 403 {
		t.Fatalf("a leader imports: %d %s", r.status, r.body)
	}
	for i, want := range []store.ImportReport{{Created: 1}, {Unchanged: 1}} {
		r = admin.raw("POST", path, strings.NewReader(apiSchools), nil)
		var rep store.ImportReport
		if r.status != 200 || json.Unmarshal(r.body, &rep) != nil || rep.Created != want.Created || rep.Unchanged != want.Unchanged {
			t.Fatalf("import %d: %d %s; want %+v", i, r.status, r.body, want)
		}
	}
	bad := strings.Replace(apiSchools, `"kind":"primary"`, `"kind":"<b>"`, 1)
	r = admin.raw("POST", path, strings.NewReader(bad), nil)
	var rej server.ImportRejected
	if r.status != 400 || json.Unmarshal(r.body, &rej) != nil || rej.Error.Code != schema.CodeInvalid || len(rej.Rejected) != 1 ||
		rej.Rejected[0].ID != "EDU-9" || rej.Rejected[0].Reason == "" {
		t.Fatalf("a bad file: %d %s", r.status, r.body)
	}
	for _, p := range []string{schema.PathImport + "/schools?datum=mars", schema.PathImport + "/teachers"} {
		if r = admin.raw("POST", p, strings.NewReader(apiSchools), nil); r.status < 400 || r.status >= 500 || r.err.Message == "" {
			t.Fatalf("%s: %d %s", p, r.status, r.body)
		}
	}
}
