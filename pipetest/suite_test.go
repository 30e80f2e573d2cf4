package pipetest_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/anonpipe/anonpipe/anonpipe"
	"github.com/anonpipe/anonpipe/pipetest"
	"github.com/matryer/is"
)

// TestSuiteOnOSPipe runs the suite on os.Pipe's *os.File ends as they are:
// on Unix, what they do is what a pipe does.
func TestSuiteOnOSPipe(t *testing.T) {
	if runtime.GOOS == "windows" {
		// Run under Wine, it fails ZeroLengthRead (Read(nil) waits for
		// data), PartialWrite and CloseUnblocksWrite (a cut-short Write
		// reports 0 bytes written), and BrokenPipe (the errors are not
		// EPIPE): the gaps anonpipe.Pipe fills, and passes the suite here.
		t.Skip("os.Pipe is not a conformant pipe on Windows")
	}
	pipetest.TestPipe(t, func() (io.ReadCloser, io.WriteCloser, func(), error) {
		r, w, err := os.Pipe()
		if err != nil {
			return nil, nil, nil, err
		}
		return r, w, nil, nil
	})
}

func TestSuiteOnAnonpipe(t *testing.T) {
	pipetest.TestPipe(t, func() (io.ReadCloser, io.WriteCloser, func(), error) {
		r, w, err := anonpipe.Pipe()
		if err != nil {
			return nil, nil, nil, err
		}
		return r, w, nil, nil
	})
}

func TestSuiteOnFake(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []pipetest.Option
	}{
		{"default", nil},
		{"capacity4096", []pipetest.Option{pipetest.WithCapacity(4096)}},
		{"capacity5000", []pipetest.Option{pipetest.WithCapacity(5000)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pipetest.TestPipe(t, func() (io.ReadCloser, io.WriteCloser, func(), error) {
				r, w := pipetest.Pipe(tc.opts...)
				return r, w, nil, nil
			})
		})
	}
}

func TestSuiteStopsEveryPipe(t *testing.T) {
	var mu sync.Mutex
	made, stopped := 0, 0
	pipetest.TestPipe(t, func() (io.ReadCloser, io.WriteCloser, func(), error) {
		mu.Lock()
		defer mu.Unlock()
		made++
		r, w := pipetest.Pipe()
		return r, w, func() {
			mu.Lock()
			defer mu.Unlock()
			stopped++
		}, nil
	})
	is := is.New(t)
	is.True(made > 20)      // TestPipe makes a pipe for each sub-test
	is.Equal(stopped, made) // and calls stop once for each
}

// catchEnv names, in a run of the test binary by runCatch, the pipe that
// TestPipe must reject.
const catchEnv = "PIPETEST_SUITE_CATCH"

// bufferPipe is the pipe unit tests often make of a bytes.Buffer: both ends
// are the same value, and Close does nothing.
type bufferPipe struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (p *bufferPipe) Read(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.b.Read(b)
}

func (p *bufferPipe) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.b.Write(b)
}

func (p *bufferPipe) Close() error { return nil }

func TestSuiteCatchesIoPipe(t *testing.T) {
	if os.Getenv(catchEnv) == "io.Pipe" {
		pipetest.TestPipe(t, func() (io.ReadCloser, io.WriteCloser, func(), error) {
			r, w := io.Pipe()
			return r, w, nil, nil
		})
		return
	}
	out := runCatch(t, "io.Pipe")
	is := is.New(t)
	for sub, want := range map[string]string{
		"ReadReturnsWhatIsThere":      "PASS",
		"ZeroLengthRead":              "FAIL", // io.Pipe's Read of nothing waits for a Write
		"ZeroLengthWrite":             "FAIL", // and its Write of nothing for a Read
		"WriteBlocksWhenFull":         "PASS", // synchronous pipes block at once
		"PartialWrite":                "PASS",
		"AtomicWrites":                "PASS",
		"EOFAfterWriterCloses":        "PASS",
		"BrokenPipe":                  "FAIL", // io.ErrClosedPipe, not a broken pipe
		"BrokenPipeWakesBlockedWrite": "FAIL",
		"UseAfterClose":               "FAIL", // io.ErrClosedPipe, not os.ErrClosed
		"CloseUnblocksRead":           "FAIL",
		"CloseUnblocksWrite":          "FAIL",
		"CloseTwice":                  "FAIL",
		"CloseRace":                   "FAIL",
		"ReadDeadline":                "SKIP", // io.Pipe has no deadlines
		"WriteDeadline":               "SKIP",
		"DeadlinesIndependent":        "SKIP",
		"BufferNotRetained":           "PASS",
		"RandomMegabyte":              "PASS",
		"ReadFromWriteTo":             "SKIP", // nor ReadFrom and WriteTo
		"Drain":                       "SKIP", // nor Drain
	} {
		test := t.Name() + "/" + sub
		is.Equal(verdict(out, test), test+" "+want) // TestPipe judges io.Pipe as expected
	}
}

func TestSuiteCatchesBytesBuffer(t *testing.T) {
	if os.Getenv(catchEnv) == "bytes.Buffer" {
		pipetest.TestPipe(t, func() (io.ReadCloser, io.WriteCloser, func(), error) {
			p := new(bufferPipe)
			return p, p, nil, nil
		})
		return
	}
	out := runCatch(t, "bytes.Buffer")
	is := is.New(t)
	// AtomicWrites and RandomMegabyte fail when a Read finds the buffer
	// empty, as it usually does, but not always.
	for sub, want := range map[string]string{
		"ReadReturnsWhatIsThere":      "PASS",
		"ZeroLengthRead":              "PASS",
		"ZeroLengthWrite":             "PASS",
		"WriteBlocksWhenFull":         "FAIL", // a bytes.Buffer never fills
		"PartialWrite":                "FAIL", // so no Write is ever cut short
		"EOFAfterWriterCloses":        "FAIL", // its Read returns io.EOF whenever it is empty
		"BrokenPipe":                  "FAIL", // it never reports a broken pipe
		"BrokenPipeWakesBlockedWrite": "FAIL",
		"UseAfterClose":               "FAIL", // Close changes nothing
		"CloseUnblocksRead":           "FAIL",
		"CloseUnblocksWrite":          "FAIL",
		"CloseTwice":                  "FAIL",
		"ReadDeadline":                "SKIP", // it has no deadlines
		"WriteDeadline":               "SKIP",
		"DeadlinesIndependent":        "SKIP",
		"ReadFromWriteTo":             "SKIP",
		"Drain":                       "SKIP",
	} {
		test := t.Name() + "/" + sub
		is.Equal(verdict(out, test), test+" "+want) // TestPipe judges a bytes.Buffer as expected
	}
}

// stuckPipe is a pipe whose Writes vanish and whose Read blocks until Close,
// or for ever if deaf.
type stuckPipe struct {
	deaf   bool
	once   sync.Once
	closed chan struct{}
}

func (p *stuckPipe) Read(b []byte) (int, error) {
	if p.deaf {
		select {}
	}
	<-p.closed
	return 0, os.ErrClosed
}

func (p *stuckPipe) Write(b []byte) (int, error) { return len(b), nil }

func (p *stuckPipe) Close() error {
	p.once.Do(func() { close(p.closed) })
	return nil
}

func makeStuckPipe(deaf bool) pipetest.MakePipe {
	return func() (io.ReadCloser, io.WriteCloser, func(), error) {
		p := &stuckPipe{deaf: deaf, closed: make(chan struct{})}
		return p, p, nil, nil
	}
}

func TestSuiteWatchdogEndsHang(t *testing.T) {
	if os.Getenv(catchEnv) == "stuck" {
		pipetest.TestPipe(t, makeStuckPipe(false))
		return
	}
	out := runCatch(t, "stuck", "-test.run=^"+t.Name()+"$/^ReadReturnsWhatIsThere$", "-test.timeout=8s")
	is := is.New(t)
	test := t.Name() + "/ReadReturnsWhatIsThere"
	is.Equal(verdict(out, test), test+" FAIL")                                           // the hung sub-test fails
	is.True(strings.Contains(out, "watchdog: sub-test "+test+" still running after 2s")) // its watchdog says which, and when
	is.True(strings.Contains(out, "pending: Read of 16 bytes for "))                     // and what was pending (TestPipe reading back what it wrote to find out whether the pipe buffers)
	is.True(strings.Contains(out, "got 0 of 16 bytes, then "+os.ErrClosed.Error()))      // closing the ends ended the Read
}

func TestSuiteWatchdogGivesUp(t *testing.T) {
	if os.Getenv(catchEnv) == "deaf" {
		pipetest.TestPipe(t, makeStuckPipe(true))
		return
	}
	out := runCatch(t, "deaf", "-test.run=^"+t.Name()+"$/^ReadReturnsWhatIsThere$", "-test.timeout=8s")
	is := is.New(t)
	test := t.Name() + "/ReadReturnsWhatIsThere"
	is.True(strings.Contains(out, "panic: pipetest: watchdog: sub-test "+test+" still running after 2s; pending: Read of 16 bytes")) // the test binary panics naming the sub-test and the call
	is.True(strings.Contains(out, "1s after closing both ends it has still not ended"))                                              // once closing the ends did not help
}

// verdict returns test and PASS, FAIL or SKIP, as the output of a verbose
// test run reports it, or test and "missing".
func verdict(out, test string) string {
	for _, v := range []string{"PASS", "FAIL", "SKIP"} {
		if strings.Contains(out, "--- "+v+": "+test+" (") {
			return test + " " + v
		}
	}
	return test + " missing"
}

// runCatch runs the calling test again in a new run of the test binary,
// with catchEnv set to pipe, and returns its verbose output, which it logs
// if the test fails. Flags replace the default -test.run and -test.timeout.
// runCatch fails the test unless that run fails as checkCatch requires.
func runCatch(t *testing.T, pipe string, flags ...string) string {
	t.Helper()
	if testing.Short() {
		t.Skip("runs the test binary again")
	}
	t.Parallel()
	return checkCatch(t, catch(t.Name(), pipe, flags...))
}

// catchRun is a run of the test binary by catch.
type catchRun struct {
	test, pipe string // as passed to catch
	out        string // stdout and stderr
	err        error  // from running it
}

// catch runs the test binary with -test.run selecting test, with catchEnv
// set to pipe, and returns its verbose output. Flags replace the default
// -test.run and -test.timeout. It may run in any goroutine.
func catch(test, pipe string, flags ...string) catchRun {
	run := catchRun{test: test, pipe: pipe}
	exe, err := os.Executable()
	if err != nil {
		run.err = fmt.Errorf("finding the test binary: %w", err)
		return run
	}
	args := append([]string{"-test.run=^" + test + "$", "-test.v", "-test.count=1", "-test.timeout=2m"}, flags...)
	cmd := exec.Command(exe, args...)
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); k != pipetest.ChildEnv && k != catchEnv && k != "GORACE" {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, catchEnv+"="+pipe, "GORACE=atexit_sleep_ms=0")
	out, err := cmd.CombinedOutput()
	run.out, run.err = string(out), err
	return run
}

// checkCatch returns the output of run, which it logs if t fails. It fails t
// unless run failed without a data race; and without a panic, unless its pipe
// is "deaf"; and without a watchdog message, unless its pipe is "stuck" or
// "deaf".
func checkCatch(t *testing.T, run catchRun) string {
	t.Helper()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("the run of TestPipe on %s printed:\n%s", run.pipe, run.out)
		}
	})
	is := is.New(t)
	var ee *exec.ExitError
	is.True(errors.As(run.err, &ee))                 // the run of TestPipe on this pipe fails
	is.True(!strings.Contains(run.out, "DATA RACE")) // without a data race
	if run.pipe != "deaf" {
		is.True(!strings.Contains(run.out, "panic:"))                              // nor a panic (a watchdog that gave up)
		is.True(strings.Contains(run.out, fmt.Sprintf("--- FAIL: %s ", run.test))) // the test that ran TestPipe is the one that failed
	}
	if run.pipe != "stuck" && run.pipe != "deaf" {
		is.True(!strings.Contains(run.out, "watchdog")) // and no sub-test hung
	}
	return run.out
}
