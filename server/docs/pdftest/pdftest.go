// Package pdftest looks at rendered PDFs the way a reader does: poppler's
// pdftoppm draws the pages as PNG (saved among the test's artifacts, to be
// looked at) and pdftotext reads the text back, so that a test sees tofu
// or a lost character as a failure.
//
// Without poppler-utils or a CJK font a test is skipped with a message,
// unless PATROL_REQUIRE_BROWSER is set (CI), when it fails. Artifacts go to
// PATROL_TEST_ARTIFACTS/<test>/ when that is set, else to the test's
// temporary directory, as the workbench screenshots do (server/web/webtest).
package pdftest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"unicode"

	"github.com/patrolhq/patrol/server/docs"
)

var font struct {
	once sync.Once
	f    *docs.Font
	err  error
}

// missing skips the test, or fails it when CI requires the tools.
func missing(t testing.TB, what string) {
	t.Helper()
	if os.Getenv("PATROL_REQUIRE_BROWSER") != "" {
		t.Fatalf("pdftest: PATROL_REQUIRE_BROWSER is set but %s", what)
	}
	t.Skipf("pdftest: %s; set PATROL_REQUIRE_BROWSER=1 to fail instead", what)
}

// Font loads the CJK font (PATROL_PDF_FONT, else docs.DefaultFontPaths)
// once for all tests, or skips.
func Font(t testing.TB) *docs.Font {
	t.Helper()
	font.once.Do(func() {
		p, err := docs.FindFont(os.Getenv("PATROL_PDF_FONT"))
		if err != nil {
			font.err = err
			return
		}
		font.f, font.err = docs.LoadFont(p)
	})
	if font.err != nil {
		missing(t, "no CJK font: "+font.err.Error())
	}
	return font.f
}

// Require skips the test unless pdftoppm and pdftotext are installed
// (Debian poppler-utils).
func Require(t testing.TB) {
	t.Helper()
	for _, tool := range []string{"pdftoppm", "pdftotext"} {
		if _, err := exec.LookPath(tool); err != nil {
			missing(t, tool+" not found (install poppler-utils)")
		}
	}
}

// ArtifactDir is where this test's PDFs and page images go.
func ArtifactDir(t testing.TB) string {
	t.Helper()
	base := os.Getenv("PATROL_TEST_ARTIFACTS")
	if base == "" {
		return t.TempDir()
	}
	dir := filepath.Join(base, strings.NewReplacer("/", "_", " ", "_").Replace(t.Name()))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("pdftest: artifacts: %v", err)
	}
	return dir
}

// Page is what poppler made of a PDF: its text (pdftotext -layout) and
// one PNG per page (pdftoppm -r 80).
type Page struct {
	Text string
	PNGs []string
}

// Render saves pdf as name.pdf among the artifacts, draws its pages as
// name-N.png and reads its text back.
func Render(t testing.TB, name string, pdf []byte) Page {
	t.Helper()
	Require(t)
	dir := ArtifactDir(t)
	path := filepath.Join(dir, name+".pdf")
	if err := os.WriteFile(path, pdf, 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) []byte {
		t.Helper()
		var stderr bytes.Buffer
		cmd := exec.Command(args[0], args[1:]...)
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("pdftest: %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
		}
		if s := stderr.String(); strings.Contains(s, "Error") {
			t.Errorf("pdftest: %s complains about %s:\n%s", args[0], name, s)
		}
		return out
	}
	run("pdftoppm", "-r", "80", "-png", path, filepath.Join(dir, name))
	text := string(run("pdftotext", "-layout", "-enc", "UTF-8", path, "-"))
	pngs, _ := filepath.Glob(filepath.Join(dir, name+"-*.png"))
	sort.Strings(pngs)
	if len(pngs) == 0 {
		t.Fatalf("pdftest: pdftoppm drew no page of %s", name)
	}
	for _, p := range pngs {
		t.Logf("page image %s", p)
	}
	return Page{Text: text, PNGs: pngs}
}

// Squash removes all white space, so that text pdftotext laid out over
// several lines or with spacing between CJK characters still matches.
func Squash(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, s)
}

// Has reports whether the page's text holds want, white space aside.
func (p Page) Has(want string) bool {
	return strings.Contains(Squash(p.Text), Squash(want))
}

// MustHave fails the test for each of wants the text lacks.
func (p Page) MustHave(t testing.TB, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !p.Has(w) {
			t.Errorf("the PDF's text lacks %q", w)
		}
	}
}

// StorageOf is what a document's photo list says of the photo with hash:
// "已存储" or "未存储" from the row above the hash's line, or "" when
// the hash is not listed so.
func (p Page) StorageOf(hash string) string {
	lines := strings.Split(p.Text, "\n")
	for i, l := range lines {
		if !strings.Contains(l, hash) || !strings.Contains(l, "SHA-256") {
			continue
		}
		for j := i - 1; j >= 0; j-- {
			if strings.TrimSpace(lines[j]) == "" {
				continue
			}
			switch {
			case strings.Contains(lines[j], "已存储"):
				return "已存储"
			case strings.Contains(lines[j], "未存储"):
				return "未存储"
			}
			return ""
		}
	}
	return ""
}
