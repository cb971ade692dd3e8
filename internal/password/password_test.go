package password

import (
	"strings"
	"testing"
)

// Cheap parameters: the tests check the format and the logic, not the cost.
var fast = Params{Memory: 64, Time: 1, Threads: 1}

func TestHashVerify(t *testing.T) {
	h := Hash("correct horse battery staple", fast)
	if !strings.HasPrefix(h, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("hash %q is not an argon2id PHC string with its parameters", h)
	}
	if h2 := Hash("correct horse battery staple", fast); h2 == h {
		t.Error("two hashes of one password are equal: the salt is not random")
	}
	for pw, want := range map[string]bool{"correct horse battery staple": true, "correct horse battery stapl": false, "": false, "Correct horse battery staple": false} {
		ok, err := Verify(pw, h)
		if err != nil || ok != want {
			t.Errorf("Verify(%q) = %v, %v; want %v", pw, ok, err, want)
		}
	}
	// The stored parameters are the ones used: a hash made with the
	// defaults checks too.
	if ok, err := Verify("x", Hash("x", Default)); !ok || err != nil {
		t.Errorf("default parameters: %v %v", ok, err)
	}
}

func TestVerifyMalformed(t *testing.T) {
	good := Hash("pw", fast)
	parts := strings.Split(good, "$")
	bad := map[string]string{
		"empty":            "",
		"bcrypt":           "$2a$10$abcdefghijklmnopqrstuv",
		"argon2i":          strings.Replace(good, "argon2id", "argon2i", 1),
		"version":          strings.Replace(good, "v=19", "v=16", 1),
		"huge memory":      strings.Replace(good, "m=64", "m=99999999", 1),
		"zero time":        strings.Replace(good, "t=1", "t=0", 1),
		"zero threads":     strings.Replace(good, "p=1", "p=0", 1),
		"trailing garbage": strings.Replace(good, "p=1", "p=1x", 1),
		"bad salt":         strings.Join([]string{"", parts[1], parts[2], parts[3], "!!", parts[5]}, "$"),
		"short key":        strings.Join([]string{"", parts[1], parts[2], parts[3], parts[4], "AAAA"}, "$"),
		"extra part":       good + "$x",
	}
	for name, h := range bad {
		if ok, err := Verify("pw", h); ok || err != ErrMalformed {
			t.Errorf("%s: Verify = %v, %v; want false, ErrMalformed", name, ok, err)
		}
	}
}

func FuzzVerify(f *testing.F) {
	f.Add(Hash("pw", fast))
	f.Add("$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5a2V5")
	f.Fuzz(func(t *testing.T, h string) {
		p, _, _, err := parse(h)
		if err != nil {
			return
		}
		if p.Memory > maxMemory || p.Time > maxTime {
			t.Fatalf("accepted out-of-bounds parameters %+v from %q", p, h)
		}
		if p.Memory <= 4096 && p.Time <= 4 {
			_, _ = Verify("pw", h)
		}
	})
}

// The cost of one sign-in's check with the default parameters.
func BenchmarkVerifyDefault(b *testing.B) {
	h := Hash("correct horse battery staple", Default)
	for b.Loop() {
		if ok, err := Verify("correct horse battery staple", h); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}
