package auth_test

import (
	"strings"
	"testing"

	"github.com/patrolhq/patrol/server/auth"
)

func TestPassword_RoundTripAndWrongPassword(t *testing.T) {
	h, err := auth.HashPassword("patrol-demo")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("hash %q does not carry its parameters", h)
	}
	if ok, err := auth.VerifyPassword(h, "patrol-demo"); !ok || err != nil {
		t.Fatalf("right password: ok=%v err=%v", ok, err)
	}
	if ok, err := auth.VerifyPassword(h, "patrol-demO"); ok || err != nil {
		t.Fatalf("wrong password: ok=%v err=%v", ok, err)
	}
}

func TestPassword_OldParamsStillVerify(t *testing.T) {
	h, err := auth.HashPasswordParams("pw", auth.Params{MemoryKiB: 8, Time: 1, Threads: 1, SaltLen: 8, KeyLen: 16})
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := auth.VerifyPassword(h, "pw"); !ok || err != nil {
		t.Fatalf("ok=%v err=%v", ok, err)
	}
}

func TestPassword_MalformedHash(t *testing.T) {
	for _, h := range []string{"", "plain", "$argon2id$v=19$m=0,t=1,p=1$AAAA$AAAA", "$bcrypt$x$y$z$w", "$argon2id$v=19$m=8,t=1,p=1$!!$AAAA"} {
		if ok, err := auth.VerifyPassword(h, "x"); ok || err == nil {
			t.Errorf("hash %q: ok=%v err=%v; want an error", h, ok, err)
		}
	}
}

func TestToken_PrefixUniqueAndHashed(t *testing.T) {
	a, _ := auth.NewToken(auth.PrefixDevice)
	b, _ := auth.NewToken(auth.PrefixDevice)
	if a == b || !strings.HasPrefix(a, "pd_") || len(a) != 3+43 {
		t.Fatalf("tokens %q %q", a, b)
	}
	if h := auth.HashToken(a); len(h) != 64 || h == auth.HashToken(b) {
		t.Fatalf("hash %q", h)
	}
}

func TestEnrollmentCode_FormAndNormalization(t *testing.T) {
	c, err := auth.NewEnrollmentCode()
	if err != nil {
		t.Fatal(err)
	}
	if len(c) != 12 || c[4] != '-' || c[9] != '-' {
		t.Fatalf("code %q is not grouped XXXX-XXXX-XX", c)
	}
	typed := strings.ToLower(strings.ReplaceAll(c, "-", " "))
	if auth.HashEnrollmentCode(typed) != auth.HashEnrollmentCode(c) {
		t.Fatalf("typed form %q does not hash like %q", typed, c)
	}
}

func TestWorkers_SizedByCPUAndMemory(t *testing.T) {
	for _, tc := range []struct {
		procs int
		mem   int64
		want  int
	}{
		{2, 24 << 30, 2},
		{64, 1 << 30, 13}, // a quarter of 1 GiB holds 13 checks of 19 MiB
		{8, 64 << 20, 1},  // never below one
		{4, 0, 4},         // memory unknown
	} {
		if got := auth.Workers(tc.procs, tc.mem); got != tc.want {
			t.Errorf("Workers(%d, %d MiB) = %d, want %d", tc.procs, tc.mem>>20, got, tc.want)
		}
	}
}

func TestCanonicalUsername_OneFormPerAccount(t *testing.T) {
	for _, in := range []string{"admin", "Admin", " admin ", "ADMIN\t", "\n aDmIn"} {
		if got := auth.CanonicalUsername(in); got != "admin" {
			t.Errorf("CanonicalUsername(%q) = %q, want admin", in, got)
		}
	}
}

func TestWellFormedEnrollmentCode_TyposAreNotGuesses(t *testing.T) {
	c, err := auth.NewEnrollmentCode()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		code string
		want bool
	}{
		{c, true},
		{strings.ToLower(strings.ReplaceAll(c, "-", " ")), true},
		{"ACDE-FGHJ-KM", true},
		{"ACDE-FGHJ-K", false},     // too short
		{"ACDE-FGHJ-KMN", false},   // too long
		{"ACDE-FGHJ-K0", false},    // 0 is not in the alphabet
		{"ACDE-FGHJ-KB", false},    // nor B
		{"ACDE-FGHJ-K\xff", false}, // nor bytes outside ASCII
		{"", false},
	} {
		if got := auth.WellFormedEnrollmentCode(tc.code); got != tc.want {
			t.Errorf("WellFormedEnrollmentCode(%q) = %v, want %v", tc.code, got, tc.want)
		}
	}
}
