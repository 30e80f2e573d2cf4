package anonpipe_test

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/anonpipe/anonpipe/anonpipe"
	"github.com/anonpipe/anonpipe/pipetest"
	"github.com/matryer/is"
)

// The ends this package makes are checked by pipetest.TestPipe, the
// conformance suite, rather than by tests of their own: what a pipe does
// (reads, writes, EOF, broken pipes, Close, deadlines, ReadFrom, WriteTo,
// Drain) is listed, and checked, there. The tests of this package check
// what the suite does not: errors beyond what it accepts, handles, Cmd, the
// copy paths and each platform's edges.

// TestSuite runs the suite on the ends of Pipe, as made with each option.
func TestSuite(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []anonpipe.Option
	}{
		{"Pipe", nil},
		{"WithBusyPoll", []anonpipe.Option{anonpipe.WithBusyPoll(50 * time.Microsecond)}},
		{"WithBufferSize", []anonpipe.Option{anonpipe.WithBufferSize(1 << 20)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pipetest.TestPipe(t, func() (io.ReadCloser, io.WriteCloser, func(), error) {
				r, w, err := anonpipe.Pipe(tc.opts...)
				if err != nil {
					return nil, nil, nil, err
				}
				return r, w, nil, nil
			})
		})
	}
}

// suiteHandlesEnv carries to TestSuiteInAChild the handle strings of the
// pipes it inherited: "r,w;r,w;...".
const suiteHandlesEnv = "ANONPIPE_SUITE_HANDLES"

// suitePipes is how many pipes TestSuiteAcrossProcesses hands over: one for
// each pipe TestPipe makes, with room to spare.
const suitePipes = 40

// TestSuiteAcrossProcesses runs the suite in a child, TestSuiteInAChild, on
// pipes whose ends crossed into it as handle strings and were opened there
// with OpenReader and OpenWriter. This process closes its copies once the
// child has started, so that the child's ends are the pipes' only ends, as
// a child's are.
func TestSuiteAcrossProcesses(t *testing.T) {
	is := is.New(t)
	// A test run, not a child role: pipetest.Command bounds and logs it, and
	// it must not find pipetest.ChildEnv, which would make it play a role.
	c := child(t, "TestSuiteInAChild", "-test.run=^TestSuiteInAChild$", "-test.v")
	c.Env = slices.DeleteFunc(c.Env, func(kv string) bool { return strings.HasPrefix(kv, pipetest.ChildEnv+"=") })
	var ours []io.Closer
	closeOurs := func() {
		for _, e := range ours {
			e.Close()
		}
	}
	defer closeOurs()
	var handles []string
	for range suitePipes {
		r, w, err := anonpipe.Pipe()
		is.NoErr(err) // making a pipe to hand over
		ours = append(ours, r, w)
		handles = append(handles, inherit(t, c, r.File())+","+inherit(t, c, w.File()))
	}
	c.Env = append(c.Env, suiteHandlesEnv+"="+strings.Join(handles, ";"))
	var out strings.Builder
	c.Stdout = &out
	is.NoErr(c.Start()) // starting the child
	closeOurs()
	err := c.Wait()
	ran := strings.Contains(out.String(), "--- PASS: TestSuiteInAChild (")
	if err != nil || !ran {
		t.Logf("the child's run:\n%s", out.String())
	}
	is.NoErr(err) // the suite passes on ends opened in a child
	is.True(ran)  // and ran there
}

// TestSuiteInAChild is the child's half of TestSuiteAcrossProcesses.
func TestSuiteInAChild(t *testing.T) {
	handles := os.Getenv(suiteHandlesEnv)
	if handles == "" {
		t.Skip("run by TestSuiteAcrossProcesses, in a child given the pipes")
	}
	pairs := strings.Split(handles, ";")
	pipetest.TestPipe(t, func() (io.ReadCloser, io.WriteCloser, func(), error) {
		if len(pairs) == 0 {
			return nil, nil, nil, fmt.Errorf("all %d inherited pipes used: raise suitePipes", suitePipes)
		}
		rh, wh, _ := strings.Cut(pairs[0], ",")
		pairs = pairs[1:]
		r, w, err := openEnds(rh, wh)
		if err != nil {
			return nil, nil, nil, err
		}
		return r, w, nil, nil
	})
}
