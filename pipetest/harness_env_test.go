package pipetest

import (
	"os/exec"
	"slices"
	"testing"

	"github.com/matryer/is"
)

// TestChildEnvironAsExecPasses checks the environment Command gives a child
// against what exec.Cmd makes of the test's own with GORACE and ChildEnv set
// last: entries without '=' and duplicates, which exec passes on or drops by
// its own rules, must neither make Command panic nor change what the child
// sees.
func TestChildEnvironAsExecPasses(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  []string
		race string // the GORACE the child should see
	}{
		{"GORACE without =", []string{"A=1", "GORACE", "B=2"}, "atexit_sleep_ms=0"},
		{"GORACE without = and with", []string{"GORACE", "GORACE=halt_on_error=1", "GORACE"}, "halt_on_error=1 atexit_sleep_ms=0"},
		{"duplicate GORACE, last sets atexit", []string{"GORACE=halt_on_error=1", "GORACE=atexit_sleep_ms=5"}, "atexit_sleep_ms=5"},
		{"duplicate GORACE, first sets atexit", []string{"GORACE=atexit_sleep_ms=5", "GORACE=halt_on_error=1"}, "halt_on_error=1 atexit_sleep_ms=0"},
		{"empty GORACE", []string{"GORACE="}, "atexit_sleep_ms=0"},
		{"duplicate keys", []string{"A=1", "B=x", "A=2", "A=3", "B=y"}, "atexit_sleep_ms=0"},
		{"empty entries", []string{"", "A=1", "", ""}, "atexit_sleep_ms=0"},
		{"ChildEnv set, duplicated and without =", []string{ChildEnv + "=old", ChildEnv, ChildEnv + "=older"}, "atexit_sleep_ms=0"},
		{"names beginning with =", []string{`=C:=C:\dir`, "=", "=x", "==y"}, "atexit_sleep_ms=0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			is := is.New(t)
			got := exec.Command("child")
			got.Env = childEnviron(slices.Clone(tc.env), "name")
			want := exec.Command("child")
			want.Env = append(slices.Clone(tc.env), "GORACE="+tc.race, ChildEnv+"=name")
			is.Equal(sorted(got.Environ()), sorted(want.Environ())) // the child gets what exec.Cmd gives it, with GORACE and ChildEnv set
		})
	}
}

func sorted(s []string) []string {
	slices.Sort(s)
	return s
}
