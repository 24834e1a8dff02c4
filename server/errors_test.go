package server_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// browserAccept is what a browser sends when it navigates to a page.
const browserAccept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"

// TestErrors_PageForBrowsersJSONForClients: the one error handler answers a
// browser with a small escaped HTML page in Chinese and every other client
// with the JSON error body, byte for byte as before.
func TestErrors_PageForBrowsersJSONForClients(t *testing.T) {
	e := newEnv(t)
	path := "/api/v1/%3Cscript%3Ealert(1)%3C%2Fscript%3E"
	plain := e.anon().raw("GET", path, nil, nil)
	if plain.status != 404 || !strings.HasPrefix(plain.header.Get("Content-Type"), "application/json") {
		t.Fatalf("no Accept: %d %s", plain.status, plain.header.Get("Content-Type"))
	}
	for _, tc := range []struct {
		name, method, accept string
		html                 bool
	}{
		{"browser", "GET", browserAccept, true},
		{"html only", "GET", "text/html", true},
		{"html preferred to json", "GET", "application/json;q=0.5, text/html", true},
		{"json client", "GET", "application/json", false},
		{"anything", "GET", "*/*", false},
		{"json preferred to html", "GET", "text/html;q=0.5, application/json", false},
		{"html refused", "GET", "text/html;q=0, */*", false},
		{"browser HEAD", "HEAD", browserAccept, false},
	} {
		req, err := http.NewRequest(tc.method, e.http.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Accept", tc.accept)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := io.ReadAll(res.Body)
		res.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		b, ct := string(raw), res.Header.Get("Content-Type")
		if res.StatusCode != 404 || !strings.Contains(res.Header.Get("Vary"), "Accept") {
			t.Errorf("%s: %d, Vary %q; want 404 varying by Accept", tc.name, res.StatusCode, res.Header.Get("Vary"))
		}
		switch {
		case tc.method == "HEAD":
			if b != "" {
				t.Errorf("%s: body %q", tc.name, b)
			}
		case tc.html:
			if ct != "text/html; charset=UTF-8" || !strings.Contains(b, "<h1>未找到</h1>") || !strings.Contains(b, `lang="zh-CN"`) {
				t.Errorf("%s: %s page %q; want a Chinese HTML page", tc.name, ct, b)
			}
			if strings.Contains(b, "<script>") || !strings.Contains(b, "&lt;script&gt;alert(1)&lt;/script&gt;") {
				t.Errorf("%s: the path is not escaped in %q", tc.name, b)
			}
		default:
			if !strings.HasPrefix(ct, "application/json") || b != string(plain.body) {
				t.Errorf("%s: %s %q; want the JSON body %q", tc.name, ct, b, plain.body)
			}
		}
	}
}
