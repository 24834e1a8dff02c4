package server_test

import (
	"bytes"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/patrolhq/patrol/server/demo"
)

var csrfInput = regexp.MustCompile(`name="csrf" value="([0-9a-f]+)"`)

// browser is a cookie-keeping client of the workbench.
type browser struct {
	t    *testing.T
	base string
	c    *http.Client
}

func (e *env) browser(username string) *browser {
	e.t.Helper()
	jar, _ := cookiejar.New(nil)
	b := &browser{t: e.t, base: e.http.URL, c: &http.Client{Jar: jar}}
	_, page := b.get("/login")
	form := url.Values{"username": {username}, "password": {demo.Password}, "csrf": {csrfOf(e.t, page)}}
	res, err := b.c.PostForm(b.base+"/login", form)
	if err != nil {
		e.t.Fatal(err)
	}
	res.Body.Close()
	return b
}

func csrfOf(t *testing.T, page string) string {
	t.Helper()
	m := csrfInput.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no csrf token on the page:\n%.2000s", page)
	}
	return m[1]
}

func (b *browser) get(path string) (int, string) {
	b.t.Helper()
	res, err := b.c.Get(b.base + path)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(body)
}

func (b *browser) upload(path string, fields map[string]string, file string) (int, string) {
	b.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	fw, _ := mw.CreateFormFile("file", "upload.geojson")
	io.WriteString(fw, file)
	mw.Close()
	res, err := b.c.Post(b.base+path, mw.FormDataContentType(), &buf)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(body)
}

func TestImport_WorkbenchUpload(t *testing.T) {
	e := newEnv(t)
	admin := e.browser("admin")
	status, page := admin.get("/admin/import")
	if status != 200 || !strings.Contains(page, "坐标系") {
		t.Fatalf("upload page: %d\n%.2000s", status, page)
	}
	token := csrfOf(t, page)
	fields := map[string]string{"csrf": token, "kind": "schools", "datum": "gcj02"}
	if status, page = admin.upload("/admin/import", fields, apiSchools); status != 200 || !strings.Contains(page, "新建 1 条") {
		t.Fatalf("upload: %d\n%.3000s", status, page)
	}
	if status, page = admin.upload("/admin/import", fields, apiSchools); status != 200 || !strings.Contains(page, "未变 1 条") {
		t.Fatalf("second upload: %d\n%.3000s", status, page)
	}
	bad := strings.Replace(apiSchools, `"name":"实验小学"`, `"name":"<script>alert(1)</script>\u0007"`, 1)
	status, page = admin.upload("/admin/import", fields, bad)
	if status != 400 || !strings.Contains(page, "EDU-9") || strings.Contains(page, "<script>alert") {
		t.Fatalf("a rejected file: %d\n%.3000s", status, page)
	}
	if status, _ = admin.upload("/admin/import", map[string]string{"kind": "schools", "datum": "wgs84"}, apiSchools); status != 403 {
		t.Fatalf("an upload without its csrf token: %d", status)
	}
	leader := e.browser("leader1")
	if status, _ = leader.get("/admin/import"); status != 403 {
		t.Fatalf("a leader opens the upload page: %d", status)
	}
	_, lpage := leader.get("/")
	if status, _ = leader.upload("/admin/import", map[string]string{"csrf": csrfOf(t, lpage), "kind": "schools"}, apiSchools); status != 403 {
		t.Fatalf("a leader uploads: %d", status)
	}
}
