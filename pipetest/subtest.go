package pipetest

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anonpipe/anonpipe/anonpipe"
)

// What TestPipe and TestConn share: a sub-test under a watchdog, and how it
// makes calls on the ends, waits for them and compares bytes.

// Times and sizes of both suites. Only watchdogTime and promptTime bound
// calls that should return.
const (
	// watchdogTime is how long a sub-test may run before the suite takes it
	// as hung, or a quarter of the time left to the test's deadline, but at
	// least minWatchdog. The grace for closing the ends to end it is half
	// of that.
	watchdogTime = 10 * time.Second
	minWatchdog  = 2 * time.Second
	// promptTime is how long a call that must return "at once" may take.
	promptTime = time.Second
	// bigWrite is the size of a Write that no pipe or connection under
	// test can take whole with nobody reading.
	bigWrite = 8 << 20
	// partK is how many bytes a sub-test reads from a big Write to know
	// that the Write is under way.
	partK = 1000
)

// watchdogFor returns the watchdog time of t's sub-tests.
func watchdogFor(t *testing.T) time.Duration {
	d := watchdogTime
	if dl, ok := t.Deadline(); ok {
		d = max(min(d, time.Until(dl)/4), minWatchdog)
	}
	return d
}

// subtest is one sub-test of TestPipe or TestConn, on new ends, under a
// watchdog.
type subtest struct {
	t        *testing.T
	watchdog time.Duration
	release  func() // closes the ends, then calls stop; once

	mu    sync.Mutex
	ended bool           // t must not be used from other goroutines any more
	calls map[*call]bool // the calls pending on the ends
}

// call is a call pending on one of the ends, for the watchdog's message.
type call struct {
	what  string
	start time.Time
}

// watch starts the sub-test t on ends, which may be nil, and stop, which
// may be nil too: after watchdog, or when t ends, the ends are closed and
// stop is called.
func watch(t *testing.T, watchdog time.Duration, stop func(), ends ...io.Closer) *subtest {
	st := &subtest{t: t, watchdog: watchdog, calls: map[*call]bool{}}
	st.release = sync.OnceFunc(func() {
		for _, e := range ends {
			if e != nil {
				e.Close()
			}
		}
		if stop != nil {
			stop()
		}
	})
	timer := time.AfterFunc(watchdog, st.hung)
	t.Cleanup(func() {
		timer.Stop()
		st.mu.Lock()
		st.ended = true
		st.mu.Unlock()
		st.release()
	})
	return st
}

// hung is the watchdog of a sub-test that ran too long: it fails it, naming
// the calls pending, and closes the ends to end them. If the sub-test has
// still not ended after a grace period, it panics rather than let the test
// binary stall.
func (st *subtest) hung() {
	st.mu.Lock()
	if st.ended {
		st.mu.Unlock()
		return
	}
	msg := fmt.Sprintf("watchdog: sub-test %s still running after %v; pending: %s", st.t.Name(), st.watchdog, st.pending())
	st.t.Errorf("%s; closing both ends to end it", msg)
	st.mu.Unlock()
	st.release()
	grace := st.watchdog / 2
	time.AfterFunc(grace, func() {
		st.mu.Lock()
		defer st.mu.Unlock()
		if !st.ended {
			panic(fmt.Sprintf("pipetest: %s; %v after closing both ends it has still not ended; pending now: %s", msg, grace, st.pending()))
		}
	})
}

// pending describes the calls pending on the ends, oldest first. st.mu is
// held.
func (st *subtest) pending() string {
	if len(st.calls) == 0 {
		return "no call on the ends"
	}
	list := slices.SortedFunc(maps.Keys(st.calls), func(a, b *call) int { return a.start.Compare(b.start) })
	s := make([]string, len(list))
	for i, k := range list {
		s[i] = fmt.Sprintf("%s for %v", k.what, time.Since(k.start).Round(time.Millisecond))
	}
	return strings.Join(s, ", ")
}

// track records a call on an end as pending until the function it returns
// is called.
func (st *subtest) track(what string) func() {
	k := &call{what, time.Now()}
	st.mu.Lock()
	st.calls[k] = true
	st.mu.Unlock()
	return func() {
		st.mu.Lock()
		delete(st.calls, k)
		st.mu.Unlock()
	}
}

// errorf fails the sub-test from any goroutine, unless it has ended.
func (st *subtest) errorf(format string, args ...any) {
	st.t.Helper()
	st.mu.Lock()
	defer st.mu.Unlock()
	if !st.ended {
		st.t.Errorf(format, args...)
	}
}

// How sub-tests make calls on the ends: each call is tracked for the
// watchdog and its count checked; calls that must block, or end, run in a
// goroutine of their own.

// checkedRead calls r.Read, naming it end+"Read", and checks its count.
func (st *subtest) checkedRead(end string, r io.Reader, p []byte) (int, error) {
	defer st.track(fmt.Sprintf("%sRead of %d bytes", end, len(p)))()
	n, err := r.Read(p)
	if n < 0 || n > len(p) {
		st.errorf("%sRead of %d bytes returned %d, %v: a count outside 0..len(p)", end, len(p), n, err)
		n = max(0, min(n, len(p)))
	}
	return n, err
}

// checkedWrite calls w.Write, naming it end+"Write", and checks its count:
// every Write of every sub-test must not return fewer bytes than asked
// without an error.
func (st *subtest) checkedWrite(end string, w io.Writer, p []byte) (int, error) {
	defer st.track(fmt.Sprintf("%sWrite of %d bytes", end, len(p)))()
	n, err := w.Write(p)
	switch {
	case n < 0 || n > len(p):
		st.errorf("%sWrite of %d bytes returned %d, %v: a count outside 0..len(p)", end, len(p), n, err)
		n = max(0, min(n, len(p)))
	case n < len(p) && err == nil:
		st.errorf("%sWrite of %d bytes returned %d, nil: a Write that writes less than asked must return an error", end, len(p), n)
	}
	return n, err
}

// result is what a call on an end returned, and when; n is -1 for a call
// without a count, such as Drain.
type result struct {
	n   int
	err error
	at  time.Time
}

func res(n int, err error) result     { return result{n, err, time.Now()} }
func res64(n int64, err error) result { return res(int(n), err) }

func (r result) String() string {
	if r.n < 0 {
		return fmt.Sprint(r.err)
	}
	return fmt.Sprintf("%d, %v", r.n, r.err)
}

// goCall runs f in a new goroutine, whose result comes on the returned
// channel, once the goroutine is about to call f.
//
// A sub-test that starts a call and then ends it (with Close, a deadline or
// a cancelled context) must find it under way: an act that comes first
// makes the call fail at once, which tests something else. Nothing outside
// a pipe can see that a call is blocked; but the goroutine runs on into f
// while the scheduler wakes the caller, so f is almost always under way
// when the caller acts.
func goCall[T any](f func() T) <-chan T {
	ready := make(chan struct{})
	ch := make(chan T, 1)
	go func() {
		close(ready)
		ch <- f()
	}()
	<-ready
	return ch
}

// blocked reports whether the call whose result comes on ch is still
// pending after d, and if not, its result.
func blocked(ch <-chan result, d time.Duration) (result, bool) {
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case r := <-ch:
		return r, false
	case <-tm.C:
		return result{}, true
	}
}

// within returns the result of a call that must come within d, as the
// sub-test has ended the call or it must not block. If it does not come,
// within fails the sub-test naming what is still pending, closes both ends
// to set it free, waits for it and returns false.
func within[T any](st *subtest, ch <-chan T, d time.Duration, what string) (T, bool) {
	st.t.Helper()
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case r := <-ch:
		return r, true
	case <-tm.C:
	}
	st.t.Errorf("%s: still pending %v later (closing both ends to end it)", what, d)
	st.release()
	return <-ch, false
}

// await is within, stopping the sub-test if the result does not come.
func await[T any](st *subtest, ch <-chan T, d time.Duration, what string) T {
	st.t.Helper()
	r, ok := within(st, ch, d, what)
	if !ok {
		st.t.FailNow()
	}
	return r
}

// prompt returns the result of a call that must return at once: see await.
func (st *subtest) prompt(what string, ch <-chan result) result {
	st.t.Helper()
	return await(st, ch, promptTime, what+" did not return at once")
}

// promptly runs f, which must return at once: see await.
func (st *subtest) promptly(what string, f func()) {
	st.t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	await(st, done, promptTime, what+" did not return at once")
}

type readFunc func([]byte) (int, error)

func (f readFunc) Read(p []byte) (int, error) { return f(p) }

// same stops the sub-test unless got equals want.
func (st *subtest) same(got, want []byte, what string) {
	st.t.Helper()
	if i := differ(got, want); i >= 0 {
		st.t.Fatalf("%s: got %d bytes, want %d; they differ from byte %d on", what, len(got), len(want), i)
	}
}

// differ returns the index of the first byte where got and want differ, or
// where one ends, or -1 if they are equal.
func differ(got, want []byte) int {
	if bytes.Equal(got, want) {
		return -1
	}
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	return i
}

// pattern returns n pseudo-random bytes drawn from seed.
func pattern(n int, seed uint64) []byte {
	b := make([]byte, n+8)
	rng := rand.NewPCG(seed, 0x5eed)
	for i := 0; i < n; i += 8 {
		binary.LittleEndian.PutUint64(b[i:], rng.Uint64())
	}
	return b[:n:n]
}

// The errors the checks want. TestPipe wants those of a pipe of *os.File
// ends; TestConn those net.Conn promises, which differ: net.ErrClosed is
// also a closed end's, and a timeout must be a net.Error.

// isTimeout reports whether err is a pipe end's deadline error.
func isTimeout(err error) bool {
	return errors.Is(err, os.ErrDeadlineExceeded) && os.IsTimeout(err)
}

// isClosed reports whether err is the error of a call on a closed pipe
// end.
func isClosed(err error) bool {
	return errors.Is(err, os.ErrClosed)
}

// isBroken reports whether err is a broken pipe: anonpipe's, or the EPIPE
// of a bare *os.File, and not a closed end.
func isBroken(err error) bool {
	return (errors.Is(err, anonpipe.ErrBrokenPipe) || errors.Is(err, epipe())) && !isClosed(err)
}

// The errors TestPipe wants, for its messages.
const (
	timeoutError   = "an error matching os.ErrDeadlineExceeded, for which os.IsTimeout is true"
	wantTimeout    = "want " + timeoutError
	wantBrokenPipe = "want an error matching anonpipe.ErrBrokenPipe (or syscall.EPIPE), not os.ErrClosed"
	wantClosed     = "want an error matching os.ErrClosed"
)

// connIsTimeout reports whether err is what net.Conn promises on a
// deadline: it wraps os.ErrDeadlineExceeded, and, as callers test it, is a
// net.Error whose Timeout is true.
func connIsTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout() && errors.Is(err, os.ErrDeadlineExceeded)
}

// connIsClosed reports whether err is the error of a call on a closed
// connection: net's or os's.
func connIsClosed(err error) bool {
	return errors.Is(err, net.ErrClosed) || errors.Is(err, os.ErrClosed)
}

// connIsBroken reports whether err is a broken pipe: anonpipe's, or the
// EPIPE of a pipe or socket.
func connIsBroken(err error) bool {
	return errors.Is(err, anonpipe.ErrBrokenPipe) || errors.Is(err, epipe())
}

// The errors TestConn wants, for its messages.
const (
	connTimeout = "an error matching os.ErrDeadlineExceeded that is a net.Error with Timeout true"
	connBroken  = "an error matching anonpipe.ErrBrokenPipe or syscall.EPIPE"
	connClosed  = "an error matching net.ErrClosed or os.ErrClosed"
)
