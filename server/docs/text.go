package docs

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxFieldRunes bounds what one field prints: the schema bounds record
// text far below it, so only input that escaped validation is cut, and a
// document stays a few pages whatever it is given.
const maxFieldRunes = 8000

// clean makes hostile text printable with the font: invalid UTF-8 becomes
// U+FFFD, line ends become \n, tabs spaces; control and format characters
// (bidi overrides, zero-width joiners, byte-order marks) are dropped, and a
// character the font cannot draw is printed as its code point, [U+1F600],
// so that the reader sees something was there. multiline false turns line
// breaks into spaces.
func (f *Font) clean(s string, multiline bool) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	var b strings.Builder
	n := 0
	for i, r := range s {
		if n >= maxFieldRunes {
			b.WriteString("…（以下" + fmt.Sprint(utf8.RuneCountInString(s[i:])) + "字未打印）")
			break
		}
		n++
		switch {
		case r == '\r':
			if i+1 < len(s) && s[i+1] == '\n' {
				continue
			}
			r = '\n'
		case r == '\t':
			r = ' '
		}
		switch {
		case r == '\n' || r == '\u2028' || r == '\u2029':
			if multiline {
				b.WriteByte('\n')
			} else {
				b.WriteByte(' ')
			}
		case unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || unicode.Is(unicode.Variation_Selector, r):
			// dropped: invisible, and able to reorder or hide what prints
		case unicode.IsSpace(r) && !(r == '\u3000' && f.Covers(r)): // the ideographic space indents paragraphs
			b.WriteByte(' ')
		case f.drawable(r):
			b.WriteRune(r)
		case r == '\uFFFD':
			b.WriteByte('?')
		default:
			fmt.Fprintf(&b, "[U+%04X]", r)
		}
	}
	return b.String()
}

// isCJK reports whether a line may break before and after r.
func isCJK(r rune) bool {
	return unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul) ||
		r >= 0x3000 && r <= 0x303F || r >= 0xFF00 && r <= 0xFFEF
}

// noLineStart are the closing marks a line may not start with; they hang
// into the margin instead.
const noLineStart = "，。、；：？！）》」』】〕〉”’,.;:?!)]}%"

// noLineEnd are the opening marks a line may not end with.
const noLineEnd = "（《「『【〔〈“‘([{"

// wrap breaks s into lines no wider than width (in the units of measure),
// as the Chinese layout rules have it: anywhere between CJK characters,
// at spaces between other words, inside a word only when the word alone
// is wider than the line; closing marks hang rather than start a line.
// Every character of s is kept, in order; only the spaces at breaks go.
func wrap(s string, width float64, measure func(rune) float64) []string {
	var lines []string
	for _, para := range strings.Split(s, "\n") {
		lines = append(lines, wrapLine([]rune(para), width, measure)...)
	}
	return lines
}

func wrapLine(rs []rune, width float64, measure func(rune) float64) []string {
	var lines []string
	var cur []rune
	w := 0.0
	brk := -1 // a break is allowed before cur[brk]
	flush := func(n int) {
		line := strings.TrimRight(string(cur[:n]), " ")
		lines = append(lines, line)
		rest := cur[n:]
		for len(rest) > 0 && rest[0] == ' ' {
			rest = rest[1:]
		}
		cur = append([]rune(nil), rest...)
		w = 0
		for _, r := range cur {
			w += measure(r)
		}
		brk = -1
		for i := 1; i < len(cur); i++ {
			if breakBefore(cur[i-1], cur[i]) {
				brk = i
			}
		}
	}
	for _, r := range rs {
		rw := measure(r)
		if w+rw > width && len(cur) > 0 && r != ' ' {
			switch {
			case strings.ContainsRune(noLineStart, r) && w <= width:
				// hangs into the margin rather than start the next line
			case breakBefore(cur[len(cur)-1], r):
				flush(len(cur))
			case brk > 0:
				flush(brk)
			default:
				flush(len(cur)) // a word wider than the line
			}
		}
		if len(cur) > 0 && breakBefore(cur[len(cur)-1], r) {
			brk = len(cur)
		}
		cur = append(cur, r)
		w += rw
	}
	if len(cur) > 0 || len(lines) == 0 {
		lines = append(lines, strings.TrimRight(string(cur), " "))
	}
	return lines
}

// breakBefore reports whether a line may break between a and b.
func breakBefore(a, b rune) bool {
	if strings.ContainsRune(noLineStart, b) || strings.ContainsRune(noLineEnd, a) {
		return false
	}
	return a == ' ' || isCJK(a) || isCJK(b)
}
