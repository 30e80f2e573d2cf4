package pipetest_test

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/anonpipe/anonpipe/anonpipe"
	"github.com/anonpipe/anonpipe/pipetest"
	"github.com/matryer/is"
)

// crossHandlesEnv carries, to the sub-run of TestCrossProcessPipe, the
// handle strings of the pipes it inherited: "r,w;r,w;...".
const crossHandlesEnv = "PIPETEST_CROSS_HANDLES"

// crossPipes is how many pipes the sub-run inherits: one per pipe TestPipe
// makes, with room to spare.
const crossPipes = 64

// TestCrossProcessPipe runs the conformance suite in a child process, on
// pipes made by this process whose both ends crossed into the child as
// handle strings and were opened there with OpenReader and OpenWriter. The
// parent keeps no copy, so the child's ends are the pipes' only ends, and
// everything the suite checks (EOF, broken pipes, deadlines, Close) must
// hold for ends that came through a process boundary as it does for ends
// made in-process.
func TestCrossProcessPipe(t *testing.T) {
	if inSubrun(t) {
		var mu sync.Mutex
		pairs := strings.Split(os.Getenv(crossHandlesEnv), ";")
		pipetest.TestPipe(t, func() (io.ReadCloser, io.WriteCloser, func(), error) {
			mu.Lock()
			defer mu.Unlock()
			if len(pairs) == 0 || pairs[0] == "" {
				return nil, nil, nil, errors.New("out of inherited pipes: raise crossPipes")
			}
			rh, wh, _ := strings.Cut(pairs[0], ",")
			pairs = pairs[1:]
			r, err := anonpipe.OpenReader(rh)
			if err != nil {
				return nil, nil, nil, err
			}
			w, err := anonpipe.OpenWriter(wh)
			if err != nil {
				r.Close()
				return nil, nil, nil, fmt.Errorf("write end: %w", err)
			}
			return r, w, nil, nil
		})
		return
	}
	is := is.New(t)
	exe, err := os.Executable()
	is.NoErr(err) // finding this test binary
	cmd := anonpipe.Command(exe, "-test.run=^"+t.Name()+"$", "-test.v", "-test.timeout=3m")
	var handles []string
	var ours []io.Closer
	closeOurs := func() {
		for _, c := range ours {
			c.Close()
		}
	}
	defer closeOurs()
	for range crossPipes {
		r, w, err := anonpipe.Pipe()
		is.NoErr(err) // making a pipe to hand over
		ours = append(ours, r, w)
		rh, wh := inherit(cmd, r.File()), inherit(cmd, w.File())
		handles = append(handles, rh+","+wh)
	}
	cmd.Env = append(environWithout(pipetest.ChildEnv),
		subrunEnv+"="+t.Name(),
		crossHandlesEnv+"="+strings.Join(handles, ";"),
		"GORACE=atexit_sleep_ms=0")
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	is.NoErr(cmd.Start()) // starting the sub-run
	closeOurs()           // the child's ends must be the only ones
	err = cmd.Wait()
	t.Logf("sub-run:\n%s", out.String())
	is.NoErr(err)                                                       // the suite passes on ends opened from inherited handles
	is.True(strings.Contains(out.String(), "--- PASS: "+t.Name()+" (")) // and really ran
}
