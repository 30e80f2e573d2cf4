package pipetest_test

import (
	"context"
	"errors"
	"io"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anonpipe/anonpipe/anonpipe"
	"github.com/anonpipe/anonpipe/pipetest"
	"github.com/matryer/is"
)

// A mutant is a pipe that breaks one behaviour TestPipe documents, and
// otherwise behaves as the fake it wraps. TestSuiteCatchesMutants shows that
// TestPipe fails each one, in the sub-test for that behaviour, for that
// reason: a check that no mutant fails would not be a check.
type mutant struct {
	name   string // the sub-test of TestSuiteCatchesMutants
	breaks string // what the mutant does wrong
	caught string // the sub-test of TestPipe that must fail it
	says   string // part of that sub-test's failure message
	// noDeadlines makes the ends' deadline setters return os.ErrNoDeadline,
	// for TestPipe's paths for ends without deadlines.
	noDeadlines bool
	// mutate replaces methods of m, a new pipe, keeping any state they
	// share in its closures.
	mutate func(m *mutantPipe)
}

// mutantRuns is how many runs of the test binary TestSuiteCatchesMutants
// has going at once: they spend most of their time waiting on pipes and
// timers.
const mutantRuns = 4

// mtick is the deadline a mutant uses to wait for bytes without waiting
// long.
const mtick = 20 * time.Millisecond

func TestSuiteCatchesMutants(t *testing.T) {
	rows := mutants()
	if os.Getenv(catchEnv) == "mutants" {
		for _, m := range rows {
			t.Run(m.name, func(t *testing.T) { pipetest.TestPipe(t, m.makePipe) })
		}
		return
	}
	if testing.Short() {
		t.Skip("runs the test binary again")
	}
	t.Parallel()
	// Each row starts a run of the test binary, which runs its mutant and
	// only the sub-test that must catch it, mutantRuns at a time, and then
	// waits for it as a parallel sub-test: the runs of all the rows that
	// -run selects overlap, whatever -parallel is.
	sem := make(chan struct{}, mutantRuns)
	for _, m := range rows {
		t.Run(m.name, func(t *testing.T) {
			t.Cleanup(func() {
				if t.Failed() {
					t.Logf("the mutant: %s", m.breaks)
				}
			})
			sel := []string{"^" + strings.Split(t.Name(), "/")[0] + "$", "^" + m.name + "$"}
			for _, part := range strings.Split(m.caught, "/") {
				sel = append(sel, "^"+regexp.QuoteMeta(part)+"$")
			}
			run := catchInParallel(t, sem, "mutants", "-test.run="+strings.Join(sel, "/"), "-test.timeout=1m")
			out := checkCatch(t, run)
			is := is.New(t)
			test := t.Name() + "/" + m.caught
			is.Equal(verdict(out, test), test+" FAIL") // the sub-test of the behaviour the mutant breaks fails it
			is.True(strings.Contains(out, m.says))     // and says why
		})
	}
}

// mutantPipe is a pipe of the fake whose methods a mutant can replace: a
// method whose field is nil calls the fake's.
type mutantPipe struct {
	r *pipetest.Reader
	w *pipetest.Writer
	// rClosed and wClosed are closed once Close of that end has returned.
	rClosed, wClosed chan struct{}
	rOnce, wOnce     sync.Once

	read             func(p []byte) (int, error)
	write            func(p []byte) (int, error)
	closeR, closeW   func() error
	setReadDeadline  func(t time.Time) error
	setWriteDeadline func(t time.Time) error
	writeTo          func(dst io.Writer) (int64, error)
	readFrom         func(src io.Reader) (int64, error)
	drain            func(ctx context.Context) error
}

func (mu mutant) makePipe() (io.ReadCloser, io.WriteCloser, func(), error) {
	r, w := pipetest.Pipe()
	m := &mutantPipe{r: r, w: w, rClosed: make(chan struct{}), wClosed: make(chan struct{})}
	if mu.noDeadlines {
		m.setReadDeadline = func(time.Time) error { return noDeadline("SetReadDeadline") }
		m.setWriteDeadline = func(time.Time) error { return noDeadline("SetWriteDeadline") }
	}
	mu.mutate(m)
	return mutantReader{m}, mutantWriter{m}, nil, nil
}

func noDeadline(op string) error {
	return &os.PathError{Op: op, Path: "mutant", Err: os.ErrNoDeadline}
}

type mutantReader struct{ m *mutantPipe }

func (r mutantReader) Read(p []byte) (int, error) {
	if r.m.read != nil {
		return r.m.read(p)
	}
	return r.m.r.Read(p)
}

func (r mutantReader) Close() error {
	defer r.m.rOnce.Do(func() { close(r.m.rClosed) })
	if r.m.closeR != nil {
		return r.m.closeR()
	}
	return r.m.r.Close()
}

func (r mutantReader) SetReadDeadline(t time.Time) error {
	if r.m.setReadDeadline != nil {
		return r.m.setReadDeadline(t)
	}
	return r.m.r.SetReadDeadline(t)
}

func (r mutantReader) WriteTo(dst io.Writer) (int64, error) {
	if r.m.writeTo != nil {
		return r.m.writeTo(dst)
	}
	return r.m.r.WriteTo(dst)
}

type mutantWriter struct{ m *mutantPipe }

func (w mutantWriter) Write(p []byte) (int, error) {
	if w.m.write != nil {
		return w.m.write(p)
	}
	return w.m.w.Write(p)
}

func (w mutantWriter) Close() error {
	defer w.m.wOnce.Do(func() { close(w.m.wClosed) })
	if w.m.closeW != nil {
		return w.m.closeW()
	}
	return w.m.w.Close()
}

func (w mutantWriter) SetWriteDeadline(t time.Time) error {
	if w.m.setWriteDeadline != nil {
		return w.m.setWriteDeadline(t)
	}
	return w.m.w.SetWriteDeadline(t)
}

func (w mutantWriter) ReadFrom(src io.Reader) (int64, error) {
	if w.m.readFrom != nil {
		return w.m.readFrom(src)
	}
	return w.m.w.ReadFrom(src)
}

func (w mutantWriter) Drain(ctx context.Context) error {
	if w.m.drain != nil {
		return w.m.drain(ctx)
	}
	return w.m.w.Drain(ctx)
}

func isClosed(err error) bool  { return errors.Is(err, os.ErrClosed) }
func isBroken(err error) bool  { return errors.Is(err, anonpipe.ErrBrokenPipe) }
func isTimeout(err error) bool { return errors.Is(err, os.ErrDeadlineExceeded) }

func closedError(op string) error {
	return &os.PathError{Op: op, Path: "mutant", Err: os.ErrClosed}
}

func timeoutError(op string) error {
	return &os.PathError{Op: op, Path: "mutant", Err: os.ErrDeadlineExceeded}
}

// mutants returns the table, gathered from a file per group of TestPipe's
// sub-tests, as the suite's own files are.
func mutants() []mutant {
	return slices.Concat(rwMutants(), closeMutants(), deadlineMutants(), dataMutants())
}

// catchInParallel runs catch for the sub-test t once a slot of sem is free,
// while t waits as a parallel sub-test, so that the runs of all the rows a
// table test selects overlap, whatever -parallel is.
func catchInParallel(t *testing.T, sem chan struct{}, env string, flags ...string) catchRun {
	var run catchRun
	done := make(chan struct{})
	go func() {
		defer close(done)
		sem <- struct{}{}
		defer func() { <-sem }()
		run = catch(t.Name(), env, flags...)
	}()
	t.Parallel()
	<-done
	return run
}
