package pipetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anonpipe/anonpipe/anonpipe"
)

// ChildEnv is the environment variable through which [Command] names the
// child of [Main] that the test binary is to play. Remove it from the
// environment of any other run of the binary.
const ChildEnv = "PIPETEST_CHILD"

// Main is the body of a package's TestMain for tests that use [Command]:
//
//	func TestMain(m *testing.M) {
//		pipetest.Main(m, map[string]func(args []string) int{"echo": childEcho})
//	}
//
// Without [ChildEnv], Main runs the tests. With it, Main runs the child it
// names with os.Args[1:] (Command's args, then those the test appended; no
// test flags), or, for an unknown name, lists the known ones on standard
// error and exits with status 2. Main exits with the result and never
// returns, so TestMain's deferred calls do not run.
func Main(m *testing.M, children map[string]func(args []string) int) {
	name := os.Getenv(ChildEnv)
	if name == "" {
		os.Exit(m.Run())
	}
	run, ok := children[name]
	if !ok {
		known := make([]string, 0, len(children))
		for k := range children {
			known = append(known, fmt.Sprintf("%q", k))
		}
		slices.Sort(known)
		fmt.Fprintf(os.Stderr, "pipetest: unknown child %q (from %s); known children: %s\n",
			name, ChildEnv, strings.Join(known, ", "))
		os.Exit(2)
	}
	os.Exit(run(os.Args[1:]))
}

// The child's time bound: when the test has a deadline, the child is killed
// grace before it, grace being a tenth of the time left when Command is
// called, kept between minGrace and maxGrace but never more than half the
// time left, so that the test fails naming the child rather than the binary
// panicking at the deadline. If the grace has begun when the test calls
// Start, Start fails with context.DeadlineExceeded. WaitDelay, how long Wait
// waits for the child's stderr once it has exited or been killed (a
// grandchild may hold it), is half of grace, or noDeadlineWaitDelay.
const (
	minGrace            = time.Second
	maxGrace            = 10 * time.Second
	noDeadlineWaitDelay = 5 * time.Second
	maxLogLine          = 64 << 10
)

// Command returns an unstarted Cmd that runs the test binary again as the
// named child of [Main], with args; attach pipes with ToChild and FromChild
// and append their handles to Args. Stdin and Stdout are the null device,
// Stderr the test's log (set it to nil for Output to keep it). The
// environment is this process's (so go test -cover counts children), with
// [ChildEnv] naming the child and atexit_sleep_ms=0 added to GORACE.
//
// If t has a deadline, the child is killed shortly before it, failing the
// test. When the test ends, Command kills and waits for a child started but
// not waited for, failing the test, and closes the Cmd's pipe ends: not
// waiting, or waiting in a goroutine that outlives the test, is incorrect.
// Command calls t.Fatalf if child is empty; in a binary whose TestMain does
// not call Main, it exits with status 2.
func Command(t testing.TB, child string, args ...string) *anonpipe.Cmd {
	t.Helper()
	if child == "" {
		t.Fatalf("pipetest: Command with an empty child name")
	}
	if name := os.Getenv(ChildEnv); name != "" && runningTests(t) {
		// Failing t would not do: a child's test output goes to the null
		// device, and its other tests would run on, for nothing.
		fmt.Fprintf(os.Stderr, "pipetest: %s calls Command in a process whose %s=%s: "+
			"this test binary runs its tests where it should run child %q, "+
			"because its TestMain does not call pipetest.Main (or %s was set for an ordinary test run); "+
			"exiting with status 2\n", t.Name(), ChildEnv, name, name, ChildEnv)
		os.Exit(2)
	}
	exe, err := os.Executable()
	if err != nil {
		exe = os.Args[0]
	}

	var (
		ctx       context.Context
		cancel    context.CancelFunc
		deadline  time.Time
		waitDelay = noDeadlineWaitDelay
	)
	if dt, ok := t.(interface{ Deadline() (time.Time, bool) }); ok {
		deadline, _ = dt.Deadline()
	}
	if deadline.IsZero() {
		ctx, cancel = context.WithCancel(context.Background())
	} else {
		left := time.Until(deadline)
		grace := max(min(max(left/10, minGrace), maxGrace, left/2), 0)
		ctx, cancel = context.WithDeadline(context.Background(), deadline.Add(-grace))
		waitDelay = grace / 2
	}

	c := anonpipe.CommandContext(ctx, exe, args...)
	c.Env = childEnviron(os.Environ(), child)
	c.WaitDelay = waitDelay
	c.Cancel = func() error {
		// Called by exec before Wait returns, so the test is still running.
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			// The arguments after Command's are those the test appended,
			// which are usually its pipes' handles.
			appended := c.Args[min(1+len(args), len(c.Args)):]
			t.Errorf("pipetest: killed child %q (pid %d): still running %v before the test's deadline (%s), "+
				"at which the test binary would panic. Likely causes: the child waits for EOF on a pipe "+
				"whose write end the test never closed (close the Writer from ToChild once the child has "+
				"all its input; Wait closes it only after the child exits); or the test waits for the child, "+
				"reading its pipe or in Wait, while the child waits for the test; or, if the child is only "+
				"slow, a -timeout too short. Arguments the test appended (such as its pipes' handles): %q",
				child, c.Process.Pid, time.Until(deadline).Round(time.Millisecond), deadline.Format(time.TimeOnly),
				appended)
		}
		return c.Process.Kill()
	}
	lw := &logWriter{t: t, prefix: fmt.Sprintf("child %q: ", child), test: t.Name()}
	c.Stderr = lw

	t.Cleanup(func() {
		cancel() // kills a child still running, through c.Cancel
		if c.Process != nil && c.ProcessState == nil {
			pid := c.Process.Pid
			err := c.Wait()
			if t.Failed() || t.Skipped() {
				t.Logf("pipetest: child %q (pid %d) was not waited for when the test ended; killed it if still running (Wait: %v)",
					child, pid, err)
			} else {
				t.Errorf("pipetest: child %q (pid %d) was started but never waited for; killed it if it was still running. "+
					"Call Wait (or use Run, Output or CombinedOutput) before the test ends",
					child, pid)
			}
		}
		c.Close()
		lw.close()
	})
	return c
}

// runningTests reports whether t comes from a test run (m.Run), which a
// child that Main runs has not made.
func runningTests(t testing.TB) bool {
	switch t.(type) {
	case *testing.T, *testing.F:
		return true
	}
	return false
}

// childEnviron returns env with name in ChildEnv and atexit_sleep_ms=0 in
// GORACE, unless GORACE sets atexit_sleep_ms already.
func childEnviron(env []string, name string) []string {
	race := ""
	out := make([]string, 0, len(env)+2)
	for _, kv := range env {
		// Entries without '=' (and empty ones) name no variable: they go on
		// as they are, for exec to pass or drop, as it would without us.
		// Of duplicates, exec keeps the last, so the last GORACE counts.
		k, ok := envKey(kv)
		switch {
		case !ok:
		case sameKey(k, ChildEnv):
			continue
		case sameKey(k, "GORACE"):
			race = kv[len(k)+1:]
			continue
		}
		out = append(out, kv)
	}
	if !slices.ContainsFunc(strings.Fields(race), func(f string) bool {
		return strings.HasPrefix(f, "atexit_sleep_ms=")
	}) {
		race = strings.TrimSpace(race + " atexit_sleep_ms=0")
	}
	return append(out, "GORACE="+race, ChildEnv+"="+name)
}

// envKey returns the name in a "name=value" entry as exec.Cmd finds it to
// drop duplicates: on Windows a name may begin with '=' (as in
// "=C:=C:\dir"). It reports false for an entry without '=', which has no
// name.
func envKey(kv string) (string, bool) {
	i := strings.IndexByte(kv, '=')
	if i == 0 {
		i = strings.IndexByte(kv[1:], '=') + 1
	}
	if i < 0 {
		return "", false
	}
	return kv[:i], true
}

// sameKey compares environment variable names as the OS does.
func sameKey(a, b string) bool {
	if runtime.GOOS == "windows" {
		return strings.EqualFold(a, b)
	}
	return a == b
}

// logWriter copies a child's standard error to the test's log, one t.Log
// per line, until close, and to os.Stderr after that, when the test may have
// ended and t.Log would panic. Safe for concurrent use.
type logWriter struct {
	t      testing.TB
	prefix string
	test   string

	mu      sync.Mutex
	partial []byte
	closed  bool
}

func (w *logWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := len(p)
	for {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			break
		}
		w.partial = append(w.partial, p[:i]...)
		w.emit()
		p = p[i+1:]
	}
	w.partial = append(w.partial, p...)
	if len(w.partial) >= maxLogLine {
		w.emit()
	}
	return n, nil
}

// emit writes w.partial as one line and empties it. w.mu is held.
func (w *logWriter) emit() {
	line := bytes.TrimSuffix(w.partial, []byte("\r"))
	if w.closed {
		fmt.Fprintf(os.Stderr, "pipetest: after %s ended: %s%s\n", w.test, w.prefix, line)
	} else {
		w.t.Log(w.prefix + string(line))
	}
	w.partial = w.partial[:0]
}

// close writes a pending partial line to the test's log and sends later
// lines to os.Stderr. It is called by the test's cleanup, while the test may
// still log.
func (w *logWriter) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.partial) > 0 {
		w.emit()
	}
	w.closed = true
}
