package pipetest_test

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
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

// pipesConn is a net.Conn of two anonpipe pipes, one each way, with the
// errors net's connections give: what anonpipe.Conn is to be. It stands in
// for it, in TestConnSuiteOnAnonpipe and TestConnSuiteCrossProcess, until
// anonpipe has one; then newPipesConns is to make anonpipe.Conn values, and
// pipesConn is to go.
type pipesConn struct {
	r      *anonpipe.Reader
	w      *anonpipe.Writer
	closed atomic.Bool
}

// newPipesConns returns the two ends of a connection over the pipes x, from
// c1 to c2, and y, from c2 to c1.
func newPipesConns(xr *anonpipe.Reader, xw *anonpipe.Writer, yr *anonpipe.Reader, yw *anonpipe.Writer) (c1, c2 net.Conn) {
	return &pipesConn{r: yr, w: xw}, &pipesConn{r: xr, w: yw}
}

type pipesAddr struct{}

func (pipesAddr) Network() string { return "anonpipe" }
func (pipesAddr) String() string  { return "pipes" }

func (c *pipesConn) opError(op string, err error) error {
	if err == nil || err == io.EOF {
		return err
	}
	return &net.OpError{Op: op, Net: "anonpipe", Err: err}
}

func (c *pipesConn) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	return n, c.opError("read", err)
}

func (c *pipesConn) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	return n, c.opError("write", err)
}

func (c *pipesConn) Close() error {
	if !c.closed.CompareAndSwap(false, true) {
		return c.opError("close", os.ErrClosed)
	}
	c.r.Close()
	c.w.Close()
	return nil
}

func (c *pipesConn) CloseRead() error {
	if c.closed.Load() {
		return c.opError("close", os.ErrClosed)
	}
	return c.opError("close", c.r.Close())
}

func (c *pipesConn) CloseWrite() error {
	if c.closed.Load() {
		return c.opError("close", os.ErrClosed)
	}
	return c.opError("close", c.w.Close())
}

func (c *pipesConn) LocalAddr() net.Addr  { return pipesAddr{} }
func (c *pipesConn) RemoteAddr() net.Addr { return pipesAddr{} }

func (c *pipesConn) SetDeadline(t time.Time) error {
	if err := c.SetReadDeadline(t); err != nil {
		return err
	}
	return c.SetWriteDeadline(t)
}

func (c *pipesConn) SetReadDeadline(t time.Time) error {
	return c.setError(c.r.SetReadDeadline(t))
}

func (c *pipesConn) SetWriteDeadline(t time.Time) error {
	return c.setError(c.w.SetWriteDeadline(t))
}

// setError lets a setter of a half-closed direction succeed, as a socket's
// does.
func (c *pipesConn) setError(err error) error {
	if err == nil || errors.Is(err, os.ErrClosed) && !c.closed.Load() {
		return nil
	}
	return c.opError("set", err)
}

func TestConnSuiteOnAnonpipe(t *testing.T) {
	pipetest.TestConn(t, func() (net.Conn, net.Conn, func(), error) {
		xr, xw, err := anonpipe.Pipe()
		if err != nil {
			return nil, nil, nil, err
		}
		yr, yw, err := anonpipe.Pipe()
		if err != nil {
			xr.Close()
			xw.Close()
			return nil, nil, nil, err
		}
		c1, c2 := newPipesConns(xr, xw, yr, yw)
		return c1, c2, nil, nil
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
		var ends []io.Closer
		for i, handle := range h {
			var end io.Closer
			var err error
			if i%2 == 0 {
				end, err = anonpipe.OpenReader(handle)
			} else {
				end, err = anonpipe.OpenWriter(handle)
			}
			if err != nil {
				for _, e := range ends {
					e.Close()
				}
				return nil, nil, nil, err
			}
			ends = append(ends, end)
		}
		c1, c2 := newPipesConns(ends[0].(*anonpipe.Reader), ends[1].(*anonpipe.Writer),
			ends[2].(*anonpipe.Reader), ends[3].(*anonpipe.Writer))
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
