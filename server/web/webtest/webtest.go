// Package webtest drives the workbench in a real headless Chromium against
// the real server (servertest), so that what the tests see is what a
// leader's browser renders: the cookie flags a browser enforces, forms
// posted without JavaScript, escaping as the HTML parser reads it, and the
// layout at a tablet's width.
//
// A test calls Start for a server and a browser. Without Chromium the test
// is skipped with a message, unless PATROL_REQUIRE_BROWSER is set (CI),
// when it fails. Screenshots go to PATROL_TEST_ARTIFACTS/<test>/ when that
// is set, else to the test's temporary directory, so nothing lands in the
// repository.
package webtest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/servertest"
)

// Viewport is a tablet held upright (an iPad Air's CSS pixels): the
// narrowest screen the workbench is meant for.
const ViewportWidth, ViewportHeight = 820, 1180

// Env is a running server with a browser tab.
type Env struct {
	*servertest.Server
	// Ctx is the browser tab; Do and Run act on it.
	Ctx context.Context
	t   testing.TB

	mu      sync.Mutex
	dialogs []string // JavaScript dialogs that opened, by message
	shots   int
}

// Chromium finds the browser: PATROL_CHROMIUM, else chromium or
// google-chrome on the PATH. It returns "" when there is none.
func Chromium() string {
	if p := os.Getenv("PATROL_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// Start starts the server with opts and a browser tab on it; both end
// with the test.
func Start(t testing.TB, opts servertest.Options) *Env {
	t.Helper()
	bin := Chromium()
	if bin == "" {
		if os.Getenv("PATROL_REQUIRE_BROWSER") != "" {
			t.Fatal("webtest: PATROL_REQUIRE_BROWSER is set but no Chromium was found (install chromium, or set PATROL_CHROMIUM)")
		}
		t.Skip("webtest: no Chromium found (install chromium, or set PATROL_CHROMIUM); set PATROL_REQUIRE_BROWSER=1 to fail instead")
	}
	srv := servertest.Start(t, opts)
	alloc := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(bin),
		// Root in a container has no user namespace for the sandbox.
		chromedp.NoSandbox,
		chromedp.WindowSize(ViewportWidth, ViewportHeight),
		chromedp.Flag("lang", "zh-CN"),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-domain-reliability", true),
		chromedp.Flag("no-pings", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), alloc...)
	ctx, cancelTab := chromedp.NewContext(actx, chromedp.WithErrorf(func(f string, a ...any) { t.Logf("chromedp: "+f, a...) }))
	e := &Env{Server: srv, Ctx: ctx, t: t}
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc()
	})
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(ViewportWidth, ViewportHeight)); err != nil {
		t.Fatalf("webtest: start Chromium %s: %v", bin, err)
	}
	if err := chromedp.Listen(ctx, func(ev any) {
		if d, ok := ev.(*page.EventJavascriptDialogOpening); ok {
			e.mu.Lock()
			e.dialogs = append(e.dialogs, d.Message)
			e.mu.Unlock()
			// A dialog blocks the page; close it from another goroutine
			// (never from the listener) so that the test reports it.
			go func() {
				_, _ = chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true})
			}()
		}
	}); err != nil {
		t.Fatalf("webtest: listen: %v", err)
	}
	return e
}

// Dialogs returns the messages of the JavaScript dialogs that opened.
func (e *Env) Dialogs() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.dialogs...)
}

// Do runs browser actions and fails the test on an error.
func (e *Env) Do(steps ...chromedp.Action[chromedp.Void]) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(e.Ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		e.t.Fatalf("webtest: %v", err)
	}
}

// Text is the rendered text of the first element matching css.
func (e *Env) Text(css string) string {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(e.Ctx, 30*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(css)))
	if err != nil {
		e.t.Fatalf("webtest: text of %s: %v", css, err)
	}
	return s
}

// Eval evaluates a JavaScript expression in the page (DevTools is not
// bound by the page's Content-Security-Policy) and decodes its value.
func Eval[T any](e *Env, expr string) T {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(e.Ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		e.t.Fatalf("webtest: evaluate %q: %v", expr, err)
	}
	return v
}

// Location is the URL the tab shows.
func (e *Env) Location() string {
	e.t.Helper()
	loc, err := chromedp.Run(e.Ctx, chromedp.Location())
	if err != nil {
		e.t.Fatalf("webtest: location: %v", err)
	}
	return loc
}

// Open navigates to path of the server and waits for the page.
func (e *Env) Open(path string) {
	e.t.Helper()
	e.Do(chromedp.Navigate(e.URL+path), chromedp.WaitReady(chromedp.CSS("body")))
}

// Submit fills the fields (CSS selector → value) of the form around the
// first of them and submits it with its button, then waits for the next page.
func (e *Env) Submit(form string, fields map[string]string) {
	e.t.Helper()
	var steps []chromedp.Action[chromedp.Void]
	for sel, v := range fields {
		steps = append(steps, chromedp.SetValue(chromedp.CSS(form+" "+sel), v))
	}
	e.Do(steps...)
	e.clickAndWait(form + " button[type=submit]")
}

// Click clicks the element and waits for the page it leads to.
func (e *Env) Click(css string) {
	e.t.Helper()
	e.clickAndWait(css)
}

func (e *Env) clickAndWait(css string) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(e.Ctx, 30*time.Second)
	defer cancel()
	loaded := chromedp.Events(ctx, page.LoadEventFired)
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(css))); err != nil {
		e.t.Fatalf("webtest: click %s: %v", css, err)
	}
	for _, err := range loaded {
		if err != nil {
			e.t.Fatalf("webtest: wait for the page after %s: %v", css, err)
		}
		break
	}
	e.Do(chromedp.WaitReady(chromedp.CSS("body")))
}

// Login signs username in through the login form, with the password of
// the district the server was seeded with (small or demo).
func (e *Env) Login(username string) {
	e.t.Helper()
	// Whoever was signed in in this tab is signed out first: the login
	// form is for a visitor.
	if _, err := chromedp.Call(e.Ctx, network.ClearBrowserCookies, cdp.Empty{}); err != nil {
		e.t.Fatalf("webtest: clear cookies: %v", err)
	}
	e.Open("/login")
	e.Submit("form[action='/login']", map[string]string{"input[name=username]": username, "input[name=password]": e.Server.Password()})
}

// Overflow is how many CSS pixels the document is wider than the
// viewport (0 when the layout holds).
func (e *Env) Overflow() int {
	e.t.Helper()
	return Eval[int](e, `Math.max(0, document.documentElement.scrollWidth - window.innerWidth)`)
}

// ArtifactDir is where this test's screenshots go.
func ArtifactDir(t testing.TB) string {
	t.Helper()
	base := os.Getenv("PATROL_TEST_ARTIFACTS")
	if base == "" {
		return t.TempDir()
	}
	dir := filepath.Join(base, strings.NewReplacer("/", "_", " ", "_").Replace(t.Name()))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("webtest: artifacts: %v", err)
	}
	return dir
}

// Screenshot saves the whole page as name.png among the test's artifacts
// and returns its path.
func (e *Env) Screenshot(name string) string {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(e.Ctx, 30*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		e.t.Fatalf("webtest: screenshot: %v", err)
	}
	e.mu.Lock()
	e.shots++
	n := e.shots
	e.mu.Unlock()
	path := filepath.Join(ArtifactDir(e.t), fmt.Sprintf("%02d-%s.png", n, name))
	if err := os.WriteFile(path, png, 0o644); err != nil {
		e.t.Fatalf("webtest: screenshot: %v", err)
	}
	e.t.Logf("screenshot %s", path)
	return path
}

// Device is an enrolled device of the server, pushing through the API as
// the field app does.
type Device struct {
	ID, Token, Username string
	clock               *schema.Clock
	base                string
}

// Enroll enrols a device for username with a code from the admin.
func (e *Env) Enroll(username string) *Device {
	e.t.Helper()
	code, err := e.Admin().EnrollmentCode(username)
	if err != nil {
		e.t.Fatalf("webtest: enrollment code: %v", err)
	}
	var er schema.EnrollResponse
	if err := postJSON(e.URL+schema.PathEnroll, "", schema.EnrollRequest{Code: code, DeviceName: username + " 的平板"}, &er); err != nil {
		e.t.Fatalf("webtest: enroll: %v", err)
	}
	return &Device{ID: er.DeviceID, Token: er.Token, Username: username, clock: schema.NewClock(er.DeviceID, time.Now), base: e.URL}
}

// Push pushes mutations and returns their results.
func (d *Device) Push(t testing.TB, muts ...schema.Mutation) []schema.MutationResult {
	t.Helper()
	var pr schema.PushResponse
	if err := postJSON(d.base+schema.PathPush, d.Token, schema.PushRequest{ClientTime: time.Now(), HLC: d.clock.Tick().String(), Mutations: muts}, &pr); err != nil {
		t.Fatalf("webtest: push: %v", err)
	}
	if len(pr.Results) != len(muts) {
		t.Fatalf("webtest: push of %d answered %d", len(muts), len(pr.Results))
	}
	return pr.Results
}

// Tick is the device's next HLC, for a mutation.
func (d *Device) Tick() string { return d.clock.Tick().String() }

func postJSON(url, token string, in, out any) error {
	b, err := json.Marshal(in)
	if err != nil {
		return err
	}
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(resp.Body); err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		return fmt.Errorf("POST %s: %w", url, schema.ResponseError(resp.StatusCode, buf.Bytes()))
	}
	return json.Unmarshal(buf.Bytes(), out)
}

// UploadPhoto sends the bytes of a photo that one of the device's pushed
// inspections names, in one PATCH from offset 0, as the field app's photo
// queue does for a small photo.
func (d *Device) UploadPhoto(t testing.TB, data []byte) {
	t.Helper()
	sum := sha256.Sum256(data)
	req, err := http.NewRequest(http.MethodPatch, d.base+schema.PathUploads+"/"+hex.EncodeToString(sum[:]), bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+d.Token)
	req.Header.Set("Content-Type", schema.ContentTypeUpload)
	req.Header.Set(schema.HeaderUploadOffset, "0")
	req.Header.Set(schema.HeaderUploadLength, strconv.Itoa(len(data)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("webtest: upload photo: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		t.Fatalf("webtest: upload photo: %v", schema.ResponseError(resp.StatusCode, body))
	}
}

// JPEG is a real small JPEG photo (w×h, a gradient tinted by seed, so that
// photos of one test differ), and the PhotoRef a device would send for it.
func JPEG(t testing.TB, w, h int, seed uint8, captured time.Time, lat, lng float64) ([]byte, schema.PhotoRef) {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{R: uint8(x * 255 / w), G: uint8(y * 255 / h), B: seed, A: 255})
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 80}); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(buf.Bytes())
	return buf.Bytes(), schema.PhotoRef{SHA256: hex.EncodeToString(sum[:]), Size: int64(buf.Len()), MediaType: "image/jpeg",
		CapturedAt: captured, Lat: &lat, Lng: &lng}
}

// Status is the HTTP status of the page the tab shows.
func (e *Env) Status() int {
	e.t.Helper()
	return Eval[int](e, `performance.getEntriesByType("navigation")[0].responseStatus`)
}
