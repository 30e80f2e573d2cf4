package pipetest_test

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anonpipe/anonpipe/anonpipe"
	"github.com/anonpipe/anonpipe/pipetest"
	"github.com/matryer/is"
)

func TestConnSuiteOnFake(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []pipetest.Option
	}{
		{"default", nil},
		{"capacity4096", []pipetest.Option{pipetest.WithCapacity(4096)}},
		{"capacity5000", []pipetest.Option{pipetest.WithCapacity(5000)}},
		// Faults that a conforming connection may show too.
		{"readLimit100", []pipetest.Option{pipetest.WithReadLimit(100)}},
		{"randomReads", []pipetest.Option{pipetest.WithReadRandom(1)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pipetest.TestConn(t, func() (net.Conn, net.Conn, func(), error) {
				a, b := pipetest.ConnPipe(tc.opts...)
				return a, b, nil, nil
			})
		})
	}
}

func TestConnSuiteOnAnonpipe(t *testing.T) {
	pipetest.TestConn(t, func() (net.Conn, net.Conn, func(), error) {
		a, b, err := anonpipe.ConnPipe()
		return a, b, nil, err
	})
}

// connCrossEnv carries, to the sub-run of TestConnSuiteCrossProcess, the
// handle strings of the pipes it inherited: "xr,xw,yr,yw;...", two pipes a
// connection.
const connCrossEnv = "PIPETEST_CONN_CROSS_HANDLES"

// connCrossPairs is how many connections the sub-run inherits: one per
// sub-test of TestConn, with room to spare.
const connCrossPairs = 24

// TestConnSuiteCrossProcess runs TestConn in a child process, on
// connections of pipes made by this process whose ends all crossed into the
// child as handle strings and were opened there with OpenReader and
// OpenWriter. The parent keeps no copy.
func TestConnSuiteCrossProcess(t *testing.T) {
	if os.Getenv(subrunEnv) == t.Name() {
		pipetest.TestConn(t, inheritedConns(strings.Split(os.Getenv(connCrossEnv), ";")))
		return
	}
	is := is.New(t)
	exe, err := os.Executable()
	is.NoErr(err) // finding this test binary
	cmd := anonpipe.Command(exe, "-test.run=^"+t.Name()+"$", "-test.v", "-test.timeout=3m")
	var conns []string
	var ours []io.Closer
	closeOurs := func() {
		for _, c := range ours {
			c.Close()
		}
	}
	defer closeOurs()
	for range connCrossPairs {
		var handles []string
		for range 2 {
			r, w, err := anonpipe.Pipe()
			is.NoErr(err) // making a pipe to hand over
			ours = append(ours, r, w)
			handles = append(handles, inherit(cmd, r.File()), inherit(cmd, w.File()))
		}
		conns = append(conns, strings.Join(handles, ","))
	}
	cmd.Env = append(environWithout(pipetest.ChildEnv, subrunEnv),
		subrunEnv+"="+t.Name(),
		connCrossEnv+"="+strings.Join(conns, ";"),
		"GORACE=atexit_sleep_ms=0")
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	is.NoErr(cmd.Start()) // starting the sub-run
	closeOurs()           // the child's ends must be the only ones
	err = cmd.Wait()
	t.Logf("sub-run:\n%s", out.String())
	is.NoErr(err)                                                       // TestConn passes on connections of pipes opened from inherited handles
	is.True(strings.Contains(out.String(), "--- PASS: "+t.Name()+" (")) // and really ran
}

// inheritedConns makes connections of the pipes whose handles conns holds,
// four for each, "xr,xw,yr,yw", for TestConn.
func inheritedConns(conns []string) pipetest.MakeConn {
	var mu sync.Mutex
	return func() (net.Conn, net.Conn, func(), error) {
		mu.Lock()
		defer mu.Unlock()
		if len(conns) == 0 || conns[0] == "" {
			return nil, nil, nil, errors.New("out of inherited pipes: raise connCrossPairs")
		}
		h := strings.Split(conns[0], ",")
		conns = conns[1:]
		if len(h) != 4 {
			return nil, nil, nil, fmt.Errorf("want 4 handles, got %q", h)
		}
		// c1 reads y and writes x; c2 reads x and writes y.
		c1, err := anonpipe.OpenConn(h[2] + "," + h[1])
		if err != nil {
			return nil, nil, nil, err
		}
		c2, err := anonpipe.OpenConn(h[0] + "," + h[3])
		if err != nil {
			c1.Close()
			return nil, nil, nil, err
		}
		return c1, c2, nil, nil
	}
}

func TestConnSuiteOnSocketpair(t *testing.T) {
	c1, c2, err := socketpair()
	if errors.Is(err, errors.ErrUnsupported) {
		t.Skip(err)
	}
	if err == nil {
		c1.Close()
		c2.Close()
	}
	pipetest.TestConn(t, func() (net.Conn, net.Conn, func(), error) {
		c1, c2, err := socketpair()
		return c1, c2, nil, err
	})
}

func TestConnSuiteStopsEveryConn(t *testing.T) {
	var mu sync.Mutex
	made, stopped := 0, 0
	pipetest.TestConn(t, func() (net.Conn, net.Conn, func(), error) {
		mu.Lock()
		defer mu.Unlock()
		made++
		a, b := pipetest.ConnPipe()
		return a, b, func() {
			mu.Lock()
			defer mu.Unlock()
			stopped++
		}, nil
	})
	is := is.New(t)
	is.True(made > 15)      // TestConn makes a connection for each sub-test
	is.Equal(stopped, made) // and calls stop once for each
}

// connVerdicts checks that out, the output of a run of TestConn in test,
// gives each sub-test the verdict want has for it, PASS if it has none.
func connVerdicts(t *testing.T, out, test string, want map[string]string) {
	t.Helper()
	is := is.New(t)
	for _, sub := range []string{"BasicIO", "PingPong", "RacyRead", "RacyWrite", "ReadTimeout",
		"WriteTimeout", "PastTimeout", "PresentTimeout", "FutureTimeout", "CloseTimeout",
		"ConcurrentMethods", "EOFAfterClose", "CloseUnblocksPeerRead", "CloseUnblocksPeerWrite",
		"UseAfterClose", "CloseWrite", "CloseRead", "CloseReadBreaksPeer"} {
		v := want[sub]
		if v == "" {
			v = "PASS"
		}
		name := test + "/" + sub
		is.Equal(verdict(out, name), name+" "+v) // TestConn judges the sub-test as expected
	}
}

// connRun runs the calling test again in a new run of the test binary,
// with catchEnv set to conn, and returns its verbose output, which it logs
// if the test fails. The run must end without a data race, a panic or a
// watchdog's message. Flags replace the default -test.run and
// -test.timeout.
func connRun(t *testing.T, conn string, flags ...string) string {
	t.Helper()
	if testing.Short() {
		t.Skip("runs the test binary again")
	}
	t.Parallel()
	run := catch(t.Name(), conn, flags...)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("the run of TestConn on %s printed:\n%s", conn, run.out)
		}
	})
	is := is.New(t)
	is.True(!strings.Contains(run.out, "DATA RACE")) // the run has no data race
	is.True(!strings.Contains(run.out, "panic:"))    // nor a panic
	is.True(!strings.Contains(run.out, "watchdog"))  // and no sub-test hung
	return run.out
}

// TestConnSuiteOnNetPipe shows what TestConn makes of net.Pipe, which is
// synchronous, and passes what golang.org/x/net/nettest checks: it fails
// where its errors are not a pipe's, io.ErrClosedPipe for a peer gone and
// for a closed end, and skips half-close, which it lacks.
func TestConnSuiteOnNetPipe(t *testing.T) {
	if os.Getenv(catchEnv) == "net.Pipe" {
		pipetest.TestConn(t, func() (net.Conn, net.Conn, func(), error) {
			c1, c2 := net.Pipe()
			return c1, c2, nil, nil
		})
		return
	}
	connVerdicts(t, connRun(t, "net.Pipe"), t.Name(), map[string]string{
		"CloseUnblocksPeerRead":  "FAIL", // the peer's Write fails with io.ErrClosedPipe, not a broken pipe
		"CloseUnblocksPeerWrite": "FAIL", // and so does a blocked one
		"UseAfterClose":          "FAIL", // io.ErrClosedPipe again, not net.ErrClosed
		"CloseWrite":             "SKIP", // net.Pipe has no CloseWrite
		"CloseRead":              "SKIP", // nor CloseRead
		"CloseReadBreaksPeer":    "SKIP",
	})
}

// noDeadlineConn is a Conn whose deadline setters return os.ErrNoDeadline,
// as a connection of Windows pipes does.
type noDeadlineConn struct{ *pipetest.Conn }

func (noDeadlineConn) SetDeadline(time.Time) error      { return os.ErrNoDeadline }
func (noDeadlineConn) SetReadDeadline(time.Time) error  { return os.ErrNoDeadline }
func (noDeadlineConn) SetWriteDeadline(time.Time) error { return os.ErrNoDeadline }

// TestConnSuiteSkipsWithoutDeadlines shows that the sub-tests that need
// deadlines skip on a connection without them, rather than pass.
func TestConnSuiteSkipsWithoutDeadlines(t *testing.T) {
	if os.Getenv(catchEnv) == "no deadlines" {
		pipetest.TestConn(t, func() (net.Conn, net.Conn, func(), error) {
			a, b := pipetest.ConnPipe()
			return noDeadlineConn{a}, noDeadlineConn{b}, nil, nil
		})
		return
	}
	out := connRun(t, "no deadlines")
	connVerdicts(t, out, t.Name(), map[string]string{
		"RacyRead":          "SKIP",
		"RacyWrite":         "SKIP",
		"ReadTimeout":       "SKIP",
		"WriteTimeout":      "SKIP",
		"PastTimeout":       "SKIP",
		"PresentTimeout":    "SKIP",
		"FutureTimeout":     "SKIP",
		"ConcurrentMethods": "SKIP",
	})
	is := is.New(t)
	is.True(strings.Contains(out, "does not support deadlines: SetReadDeadline returns "+os.ErrNoDeadline.Error())) // saying why
}
