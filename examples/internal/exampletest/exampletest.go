// Package exampletest builds the example commands and runs them, bounded in
// time, for the examples' tests.
package exampletest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"
)

// Timeout bounds every command that Command makes.
const Timeout = 60 * time.Second

// BinEnv names a directory of prebuilt example commands to use instead of
// building them: under Wine there is no Go toolchain, so scripts/test-windows
// builds them on the host.
const BinEnv = "ANONPIPE_EXAMPLES_BIN"

// Main builds the main packages pkgs, named as for go build, into a temporary
// directory, runs the tests, removes the directory and returns the exit
// status. If the environment names a directory in BinEnv, the commands are
// taken from there instead. Call it from TestMain as
// os.Exit(exampletest.Main(m, pkgs...)).
func Main(m *testing.M, pkgs ...string) int {
	if os.Getenv(BinEnv) != "" {
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "anonpipe-examples-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	if err := build(dir, pkgs); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	// Bin finds the commands through the environment, which the children
	// inherit harmlessly, rather than through a package variable.
	if err := os.Setenv(BinEnv, dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

// build builds pkgs into dir once for the whole test run, with the race
// detector if this test binary has it, so the children are checked too.
func build(dir string, pkgs []string) error {
	args := []string{"build", "-o", dir + string(filepath.Separator)}
	if raceEnabled() {
		args = append(args, "-race")
	}
	out, err := exec.Command(goTool(), append(args, pkgs...)...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("go build %v: %v\n%s", pkgs, err, out)
	}
	return nil
}

// goTool is the go command of the toolchain running the tests.
func goTool() string {
	exe := ""
	if runtime.GOOS == "windows" {
		exe = ".exe"
	}
	path := filepath.Join(runtime.GOROOT(), "bin", "go"+exe)
	if _, err := os.Stat(path); err == nil {
		return path
	}
	return "go"
}

func raceEnabled() bool {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range info.Settings {
		if s.Key == "-race" {
			return s.Value == "true"
		}
	}
	return false
}

// Bin returns the path of the built command name, such as "pipeclient".
func Bin(name string) string {
	if runtime.GOOS == "windows" {
		name += ".exe"
	}
	return filepath.Join(os.Getenv(BinEnv), name)
}

// Command returns a command that fails t and is killed if it runs longer
// than Timeout, and whose Wait waits only a little for descendants that keep
// its output open after it exits.
func Command(t testing.TB, name string, args ...string) *exec.Cmd {
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	t.Cleanup(cancel)
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Cancel = func() error {
		t.Errorf("%v: still running after %v: killing it", cmd.Args, Timeout)
		return cmd.Process.Kill()
	}
	cmd.Env = raceEnviron(os.Environ())
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// raceEnviron returns env with atexit_sleep_ms=0 added to GORACE, so that a
// race-built command exits at once, keeping the options GORACE has, and an
// atexit_sleep_ms it sets.
func raceEnviron(env []string) []string {
	race := ""
	out := make([]string, 0, len(env)+1)
	for _, kv := range env {
		if k, v, _ := strings.Cut(kv, "="); k == "GORACE" || (runtime.GOOS == "windows" && strings.EqualFold(k, "GORACE")) {
			race = v
			continue
		}
		out = append(out, kv)
	}
	if !slices.ContainsFunc(strings.Fields(race), func(f string) bool {
		return strings.HasPrefix(f, "atexit_sleep_ms=")
	}) {
		race = strings.TrimSpace(race + " atexit_sleep_ms=0")
	}
	return append(out, "GORACE="+race)
}

// Result is what a command printed and how it ended.
type Result struct {
	Stdout, Stderr string
	State          *os.ProcessState
}

// Run runs cmd, made by Command, and fails t if it cannot be run. An
// unsuccessful exit is not a failure: check Result.State.
func Run(t testing.TB, cmd *exec.Cmd) Result {
	t.Helper()
	is := is.New(t)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	t.Logf("%v\nstdout:\n%s\nstderr:\n%s", cmd.Args, stdout.Bytes(), stderr.Bytes())
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		is.NoErr(err) // running the command
	}
	return Result{Stdout: stdout.String(), Stderr: stderr.String(), State: cmd.ProcessState}
}
