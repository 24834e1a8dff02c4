package web

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"testing"
	"time"
)

func TestWhen_BureauZoneInChinese(t *testing.T) {
	z, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	w := &Web{cfg: Config{Zone: z}}
	if got := w.when(time.Date(2026, 12, 2, 6, 5, 0, 0, time.UTC)); got != "2026年12月2日 14:05" {
		t.Fatalf("when = %q", got)
	}
	utc := &Web{cfg: Config{Zone: time.UTC}}
	if got := utc.when(time.Date(2026, 12, 2, 6, 5, 0, 0, time.UTC)); got != "2026年12月2日 06:05" {
		t.Fatalf("when in UTC = %q", got)
	}
	if got := w.when(time.Time{}); got != "—" {
		t.Fatalf("when of no time = %q", got)
	}
}

func TestCSRFToken_HMACOfTheSessionToken(t *testing.T) {
	m := hmac.New(sha256.New, []byte("pt_session"))
	m.Write([]byte("csrf"))
	if got, want := csrfToken("pt_session"), hex.EncodeToString(m.Sum(nil)); got != want || csrfToken("pt_other") == want {
		t.Fatalf("csrfToken = %s, want %s", got, want)
	}
}

func TestShown_KeepsEveryCharacterAndNamesDirectionControls(t *testing.T) {
	for in, want := range map[string]string{
		"plain 文字":                  "plain 文字",
		"\u202Egnp.exe":             "[U+202E]gnp.exe",
		"a\u2066b\u2069c\u200f":     "a[U+2066]b[U+2069]c[U+200F]",
		`<script>alert(1)</script>`: `<script>alert(1)</script>`, // escaping is the template's
	} {
		if got := shown(in); got != want {
			t.Errorf("shown(%q) = %q, want %q", in, got, want)
		}
	}
}
