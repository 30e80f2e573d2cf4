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

// ChildEnv is the environment variable that makes a test binary run by
// [Command] play a child instead of running its tests. Its value is the
// child's name, a key of the map given to [Main]. A test that runs its own
// binary as an ordinary test run (with -test.run, say) must remove it from
// that run's environment.
const ChildEnv = "PIPETEST_CHILD"

// Main is the body of a package's TestMain for tests that use [Command]:
//
//	func TestMain(m *testing.M) {
//		pipetest.Main(m, map[string]func(args []string) int{
//			"echo": childEcho,
//		})
//	}
//
// Main looks at the environment, not at the command line, whose flags are
// not parsed yet. If [ChildEnv] is unset or empty, the process is an
// ordinary test run: Main calls m.Run and then os.Exit with the code m.Run
// returns, so code after Main never runs and TestMain's deferred calls are
// skipped (put setup before Main; teardown belongs in the tests' Cleanup).
//
// If [ChildEnv] names a child, the process is a child started by Command:
// Main neither parses flags nor calls m.Run, calls children[name] with
// os.Args[1:], which are the arguments given to Command followed by those
// the test appended to the Cmd's Args (such as a pipe's handle), and then
// calls os.Exit with the function's result. Deferred calls in the function
// run before that exit; those in TestMain do not. A child function that
// panics exits with status 2 and its stack on standard error, as any Go
// program does. As flags are not parsed, the function must not call
// testing.Short, testing.Verbose or flag.Parse's users. [ChildEnv] stays set
// in the child, so the function can read its own name. A child that exits
// (through Main or os.Exit) writes its coverage counters to GOCOVERDIR, so
// they count in go test -cover; a child that is killed writes none.
//
// If [ChildEnv] names no key of children, Main writes to standard error a
// line naming the child and the known children, and exits with status 2.
//
// Main does not return.
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
// time left. WaitDelay is half of grace, or noDeadlineWaitDelay.
const (
	minGrace            = time.Second
	maxGrace            = 10 * time.Second
	noDeadlineWaitDelay = 5 * time.Second
	maxLogLine          = 64 << 10
)

// Command returns a Cmd that runs the current test binary again as the
// named child, a key of the map the binary's TestMain gives to [Main],
// with args as the child's arguments. Attach pipes with Cmd.ToChild and
// Cmd.FromChild and append their handles to the Cmd's Args, as production
// code does; the child function gets args and everything appended after
// them, and no test flags. Call Command from the goroutine running the test:
// it calls t.Fatalf if child is empty. The Cmd it returns is not started.
//
// The Cmd runs os.Executable, an absolute path, so a test may change
// directory first; os.Args[0] is used only if os.Executable fails. Its Env is
// this process's environment, which keeps GOCOVERDIR so that code run only
// in children counts in go test -cover, with [ChildEnv] set to child
// (replacing any value it had) and atexit_sleep_ms=0 added to GORACE unless
// GORACE already sets it. Other entries go on as exec.Cmd passes them,
// duplicates and entries without '=' included; of several GORACE entries
// the last counts, as it would for exec.Cmd. Its Stderr is a writer that copies the child's
// standard error to the test's log, one t.Log call per line, prefixed with
// the child's name; a last line without a newline is written when
// the test ends, and lines written after the test ends go to this process's
// standard error instead. Its Stdin and Stdout are nil, so the child reads
// from and writes to the null device. The test may change
// any field before Start: setting Stderr replaces the log writer, and Output
// keeps the child's standard error in its *exec.ExitError, and CombinedOutput
// works, only if the test sets Stderr to nil first.
//
// The child is bounded by the test's deadline, if t has a Deadline method
// (as *testing.T has) that reports one: it is killed a grace period before
// the deadline, a tenth of the time left when Command is called, kept
// between 1 s and 10 s but never more than half the time left, so that the
// test fails, with an error naming the child, the likely causes (such as a
// pipe to the child that the test never closed) and the arguments the test
// appended, rather than the test binary panicking at the deadline with the
// child left running. WaitDelay is half the grace period, or 5 s without a
// deadline, so Wait returns that long after the child is killed even if a
// process it started keeps its standard error open. If the grace period has
// already begun when the test calls Start, Start fails with
// context.DeadlineExceeded. The Cmd's Cancel function reports the deadline
// kill; a test that replaces Cancel loses that report, not the kill.
//
// When the test ends, after the cleanup functions registered after Command
// have run (so a test's own cleanup may still stop the child gently), a
// cleanup registered by Command does the following. If the child was started
// and not waited for, it kills the child (if still running), waits for it,
// which closes the parent's pipe ends, and fails the test with an error
// naming the child, or only logs that if the test has already failed or was
// skipped. It then closes any pipe ends the Cmd still holds, as Cmd.Close
// does, and stops copying to the test's log. Starting the child and not
// waiting for it is thus always incorrect, as is calling Wait in a goroutine
// that outlives the test.
//
// A test binary whose TestMain does not call [Main] runs its tests again in
// each child, where each Command would start more children. So Command,
// called with a *testing.T or *testing.F while [ChildEnv] is set, writes
// to standard error a line saying that TestMain must call Main (which the
// parent's test logs as the child's), and exits with status 2, which the
// parent's Wait reports; it does the same in an ordinary test run that
// [ChildEnv] was wrongly left set for.
//
// Command may also be called in a child, which has no *testing.T, with any
// testing.TB the child provides: the grandchild gets its own name in
// [ChildEnv], and Main in the grandchild runs it. Command uses only the TB's
// Helper, Name, Cleanup, Log, Logf, Errorf, Fatalf, Failed and Skipped
// methods, and Deadline if the TB has one. It must not be called inside a
// synctest bubble, whose Deadline panics.
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
