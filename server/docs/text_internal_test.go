package docs

import (
	"math/rand/v2"
	"strings"
	"testing"
	"unicode"
)

// width1 measures CJK characters as 1 and others as 0.5, as the faces
// roughly do.
func width1(r rune) float64 {
	if isCJK(r) {
		return 1
	}
	return 0.5
}

func squash(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, s)
}

func TestWrap_KeepsEveryCharacter(t *testing.T) {
	cases := []struct {
		in    string
		width float64
		want  []string
	}{
		{"现场检查笔录", 3, []string{"现场检", "查笔录"}},
		// fpdf's MultiCell would drop 查 here, at the break.
		{"现场检查", 2, []string{"现场", "检查"}},
		// A closing mark hangs rather than start a line.
		{"未成年人。禁入", 4, []string{"未成年人。", "禁入"}},
		// An opening mark does not end a line.
		{"条例《互联网》", 3, []string{"条例", "《互联", "网》"}},
		{"ab cd ef", 2.5, []string{"ab cd", "ef"}},
		{"abcdefgh", 2, []string{"abcd", "efgh"}},
		{"编号 AB12", 3, []string{"编号", "AB12"}},
		{"一\n\n二", 5, []string{"一", "", "二"}},
		{"", 5, []string{""}},
	}
	for _, c := range cases {
		got := wrap(c.in, c.width, width1)
		if strings.Join(got, "|") != strings.Join(c.want, "|") {
			t.Errorf("wrap(%q, %v) = %q; want %q", c.in, c.width, got, c.want)
		}
	}
}

func TestWrap_Property(t *testing.T) {
	alphabet := []rune("现场检查笔录，。（）《》 abcdefXYZ0123456789-—\n")
	r := rand.New(rand.NewPCG(3, 4))
	for range 2000 {
		var b strings.Builder
		for n := r.IntN(120); n > 0; n-- {
			b.WriteRune(alphabet[r.IntN(len(alphabet))])
		}
		in := b.String()
		width := 1 + r.Float64()*12
		lines := wrap(in, width, width1)
		if squash(strings.Join(lines, "")) != squash(in) {
			t.Fatalf("wrap(%q, %v) lost or moved characters: %q", in, width, lines)
		}
		for _, l := range lines {
			// Closing marks may hang past the width; what is left fits,
			// unless nothing in it may break (a mark glued to its word).
			body := []rune(strings.TrimRight(l, noLineStart))
			w, breakable := 0.0, false
			for i, c := range body {
				w += width1(c)
				breakable = breakable || i > 0 && breakBefore(body[i-1], c)
			}
			if w > width && breakable {
				t.Fatalf("wrap(%q, %v): line %q is %v wide", in, width, l, w)
			}
		}
	}
}
