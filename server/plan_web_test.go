package server_test

import (
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

var planVenueInput = regexp.MustCompile(`name="venue" value="([^"]+)"`)

func (b *browser) post(path string, form url.Values) (int, string) {
	b.t.Helper()
	res, err := b.c.PostForm(b.base+path, form)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(body)
}

// TestPlan_WorkbenchChecksThenSaves: the leader sees the squad's cafés
// with the at-risk ones warned about, checks a plan without saving it,
// saves it, and sees it chosen; a form without its CSRF token and another
// squad's page are refused.
func TestPlan_WorkbenchChecksThenSaves(t *testing.T) {
	e := newEnv(t)
	b := e.browser("leader1")
	st, page := b.get("/plan?month=2026-03")
	if st != http.StatusOK || !strings.Contains(page, "巡查计划") || !strings.Contains(page, "月底前无检查安排") {
		t.Fatalf("GET /plan: %d\n%.3000s", st, page)
	}
	m := planVenueInput.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no candidate café on the plan page:\n%.3000s", page)
	}
	venue := m[1]
	warnings := strings.Count(page, `<li class="fail">`)
	form := url.Values{"csrf": {csrfOf(t, page)}, "venue": {venue}, "day_" + venue: {"2026-03-05"},
		"pair_" + venue: {"inspector1|inspector2"}, "op": {"check"}}
	st, checked := b.post("/plan?squad=1&month=2026-03", form)
	if st != http.StatusOK || !strings.Contains(checked, "尚未保存") || strings.Count(checked, `<li class="fail">`) != warnings-1 {
		t.Fatalf("check: %d, %d warnings (had %d)\n%.3000s", st, strings.Count(checked, `<li class="fail">`), warnings, checked)
	}
	form.Set("op", "save")
	st, saved := b.post("/plan?squad=1&month=2026-03", form)
	if st != http.StatusOK || !strings.Contains(saved, "计划已保存") || !strings.Contains(saved, `value="2026-03-05" selected`) ||
		!strings.Contains(saved, `value="inspector1|inspector2" selected`) {
		t.Fatalf("save: %d\n%.3000s", st, saved)
	}
	form.Del("csrf")
	if st, _ := b.post("/plan?squad=1&month=2026-03", form); st != http.StatusForbidden {
		t.Fatalf("a form without its csrf token: %d; want 403", st)
	}
	if st, _ := b.get("/plan?squad=2"); st != http.StatusForbidden {
		t.Fatalf("leader1 on squad 2's plan: %d; want 403", st)
	}
}
