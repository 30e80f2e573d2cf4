// Package exampletest builds the example commands and runs them, through
// pipetest's harness, for the examples' tests.
package exampletest

import (
	"bytes"
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

	"github.com/anonpipe/anonpipe/pipetest"
	"github.com/matryer/is"
)

// BinEnv names a directory of prebuilt example commands to use instead of
// building them: under Wine there is no Go toolchain, so scripts/test-windows
// builds them on the host.
const BinEnv = "ANONPIPE_EXAMPLES_BIN"

// Main builds the main packages pkgs, named as for go build, into a temporary
// directory, runs the tests, removes the directory and returns the exit
// status. If the environment names a directory in BinEnv, the commands are
// taken from there instead. Call it from TestMain as
// os.Exit(exampletest.Main(m, children, pkgs...)).
//
// In a test binary started as a child, with pipetest.ChildEnv set, Main
// builds nothing: it calls pipetest.Main with children, which runs the
// child and exits.
func Main(m *testing.M, children map[string]func(args []string) int, pkgs ...string) int {
	if os.Getenv(pipetest.ChildEnv) != "" {
		pipetest.Main(m, children)
	}
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
	//lint:ignore SA1019 the root the test binary was built with is the toolchain wanted here
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

// Command returns the command name, a path such as Bin returns, with args,
// made as pipetest.Command makes a child, with the program changed: it
// fails t and is killed a while before t's deadline, fails t if started and
// not waited for, waits only a little for descendants that keep its output
// open after it exits, and has GORACE set so that a race-built command
// exits at once. Its environment is this process's without
// pipetest.ChildEnv: a test that has the command start this test binary
// sets it to the child the binary should play.
func Command(t testing.TB, name string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := pipetest.Command(t, filepath.Base(name), args...).Cmd
	cmd.Path, cmd.Args[0] = name, name
	cmd.Env = slices.DeleteFunc(cmd.Env, func(kv string) bool { return strings.HasPrefix(kv, pipetest.ChildEnv+"=") })
	return cmd
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
