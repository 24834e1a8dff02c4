package main

import (
	"encoding/json"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/patrolhq/patrol/schema"
)

// TestCLI_RecordRefusedThenAmended: the on-site record from the command
// line: filled in, refused before a witness, submitted and synced; a later
// change is an amendment that the party signs.
func TestCLI_RecordRefusedThenAmended(t *testing.T) {
	srv, code := newServer(t)
	db := filepath.Join(t.TempDir(), "device.db")
	mustPatrol(t, db, "enroll", "--server", srv.URL, "--code", code)
	mustPatrol(t, db, "sync")
	id := lastLine(mustPatrol(t, db, "inspect", "start", "--venue", venue1, "--co-inspector", "inspector2"))
	for i := 1; i <= 16; i++ {
		mustPatrol(t, db, "inspect", "item", id, "NC"+pad(i), "pass")
	}
	if out := mustPatrol(t, db, "record", "show", id); !strings.Contains(out, "no on-site record") {
		t.Fatalf("show before: %s", out)
	}
	mustPatrol(t, db, "record", "set", id, "--party-name", "王五", "--party-role", "店长", "--id-last", "123X", "--ids-shown")
	if _, errs, code := patrol(t, db, "inspect", "submit", id); code != 1 || !strings.Contains(errs, "patrol record sign") {
		t.Fatalf("submit unsigned: exit %d, %s", code, errs)
	}
	mustPatrol(t, db, "record", "refuse", id, "--reason", "拒绝签字", "--witness", "李娜", "--witness-relation", "社区网格员")
	mustPatrol(t, db, "inspect", "submit", id)
	mustPatrol(t, db, "sync")

	// After signing: a change is an amendment, signed on its own.
	mustPatrol(t, db, "inspect", "item", id, "NC03", "fail", "--note", "补记")
	pic := filepath.Join(t.TempDir(), "sig.png")
	f, err := os.Create(pic)
	if err != nil {
		t.Fatal(err)
	}
	png.Encode(f, image.NewGray(image.Rect(0, 0, 6, 2)))
	f.Close()
	if _, errs, code := patrol(t, db, "record", "sign", id, "--signature", pic); code != 1 || !strings.Contains(errs, "reason") {
		t.Fatalf("amendment signed without reason: exit %d, %s", code, errs)
	}
	mustPatrol(t, db, "record", "amend", id, "--reason", "漏记一项")
	mustPatrol(t, db, "record", "sign", id, "--signature", pic)
	mustPatrol(t, db, "sync")

	var shown struct {
		Record *schema.OnSiteRecord `json:"record"`
		Sealed bool                 `json:"sealed"`
		Hash   string               `json:"hash"`
	}
	if err := json.Unmarshal([]byte(mustPatrol(t, db, "record", "show", id, "--json")), &shown); err != nil {
		t.Fatal(err)
	}
	if !shown.Sealed || shown.Record.Signing.Refused == nil || shown.Record.Signing.Refused.Witness.Name != "李娜" || shown.Hash != shown.Record.Signing.Hash ||
		len(shown.Record.Amendments) != 1 || shown.Record.Amendments[0].Signing.Signature == nil {
		t.Fatalf("record show --json: %+v", shown)
	}
	if out := mustPatrol(t, db, "record", "show", id); !strings.Contains(out, "the party refused: 拒绝签字") || !strings.Contains(out, "amendment 1") {
		t.Fatalf("record show:\n%s", out)
	}
	got, err := srv.Admin().Inspection(id)
	if err != nil || got.Record == nil || len(got.Record.Amendments) != 1 || got.Record.Signing.Refused.Reason != "拒绝签字" {
		t.Fatalf("server record %+v, %v", got.Record, err)
	}
}
