package pipetest

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/anonpipe/anonpipe/anonpipe"
)

// MakePipe makes a new, empty pipe for [TestPipe]: ends r and w, and stop,
// which may be nil, to release what else the pipe holds, such as a child
// process. An error fails the sub-test. When the sub-test ends, TestPipe
// closes r and w, then calls stop.
type MakePipe func() (r io.ReadCloser, w io.WriteCloser, stop func(), err error)

// TestPipe checks that the pipes mp makes behave as Linux pipes do through
// [anonpipe.Reader] and [anonpipe.Writer], in a sub-test per behaviour,
// each on a new pipe:
//
//   - ReadReturnsWhatIsThere, ZeroLengthRead, ZeroLengthWrite: Reads do not
//     wait for more; calls of no bytes move none.
//   - WriteBlocksWhenFull, PartialWrite, AtomicWrites: Writes block when
//     full, report what they wrote, and of up to 4096 bytes are not split.
//   - EOFAfterWriterCloses, BrokenPipe, BrokenPipeWakesBlockedWrite: closing
//     an end gives the other io.EOF or [anonpipe.ErrBrokenPipe].
//   - UseAfterClose, CloseUnblocksRead, CloseUnblocksWrite, CloseTwice,
//     CloseRace: calls on a closed end fail with os.ErrClosed.
//   - ReadDeadline, WriteDeadline, DeadlinesIndependent: a deadline ends its
//     end's calls.
//   - BufferNotRetained, RandomMegabyte, ReadFromWriteTo, Drain: bytes
//     survive any sizes and copies; Drain waits for the reader.
//
// A sub-test skips if the ends lack a method it needs: deadline setters not
// returning os.ErrNoDeadline, Drain, ReadFrom, WriteTo. The pipe may hold
// from nothing to under 8 MiB. A sub-test running after 10 s fails, naming
// the pending calls, and its ends are closed; if it still runs, TestPipe
// panics.
func TestPipe(t *testing.T, mp MakePipe) {
	t.Helper()
	if mp == nil {
		t.Fatal("pipetest.TestPipe: nil MakePipe")
	}
	s := &suite{mp: mp, watchdog: watchdogTime, big: pattern(bigWrite, 3)}
	if d, ok := t.Deadline(); ok {
		s.watchdog = max(min(s.watchdog, time.Until(d)/4), minWatchdog)
	}
	s.run(t, "ReadReturnsWhatIsThere", testReadReturnsWhatIsThere)
	s.run(t, "ZeroLengthRead", testZeroLengthRead)
	s.run(t, "ZeroLengthWrite", testZeroLengthWrite)
	s.run(t, "WriteBlocksWhenFull", testWriteBlocksWhenFull)
	s.run(t, "PartialWrite", testPartialWrite)
	t.Run("AtomicWrites", func(t *testing.T) {
		s.run(t, "4096", func(c *check) { testAtomicWrites(c, pageSize) })
		s.run(t, "1000", func(c *check) { testAtomicWrites(c, 1000) })
	})
	s.run(t, "EOFAfterWriterCloses", testEOFAfterWriterCloses)
	s.run(t, "BrokenPipe", testBrokenPipe)
	s.run(t, "BrokenPipeWakesBlockedWrite", testBrokenPipeWakesBlockedWrite)
	s.run(t, "UseAfterClose", testUseAfterClose)
	s.run(t, "CloseUnblocksRead", testCloseUnblocksRead)
	s.run(t, "CloseUnblocksWrite", testCloseUnblocksWrite)
	s.run(t, "CloseTwice", testCloseTwice)
	s.run(t, "CloseRace", testCloseRace)
	s.run(t, "ReadDeadline", testReadDeadline)
	s.run(t, "WriteDeadline", testWriteDeadline)
	s.run(t, "DeadlinesIndependent", testDeadlinesIndependent)
	t.Run("BufferNotRetained", func(t *testing.T) {
		s.run(t, "Read", testReadBufferNotRetained)
		s.run(t, "Write", testWriteBufferNotRetained)
	})
	s.run(t, "RandomMegabyte", testRandomMegabyte)
	s.run(t, "ReadFromWriteTo", testReadFromWriteTo)
	s.run(t, "Drain", testDrain)
}

// Times the suite uses. Only watchdogTime and promptTime bound calls that
// should return; the others are how long a call is left blocked to see that
// it stays so.
const (
	// watchdogTime is how long a sub-test may run before TestPipe takes it
	// as hung, or a quarter of the time left to the test's deadline, but at
	// least minWatchdog. The grace for closing the ends to end it is half
	// of that.
	watchdogTime = 10 * time.Second
	minWatchdog  = 2 * time.Second
	// promptTime is how long a call that must return "at once" may take.
	promptTime = time.Second
	// tick is the short deadline of calls that must block until it passes.
	tick = 20 * time.Millisecond
	// fillTime is the deadline of a Write that fills the pipe.
	fillTime = 100 * time.Millisecond
	// windowTime is how long a call must stay blocked when the ends have no
	// deadline to show it.
	windowTime = 200 * time.Millisecond
	// longTime is the deadline of a Write that must complete without help.
	longTime = 5 * time.Second
	// bigWrite is the size of a Write that no pipe under test can take
	// whole with nobody reading.
	bigWrite = 8 << 20
	// probeSize is the size of the Write that finds out whether a pipe
	// buffers anything; sub-tests write messages of at most this size
	// before they read them when the pipe does.
	probeSize = 16
	// partK is how many bytes a sub-test reads from a big Write to know
	// that the Write is under way.
	partK = 1000
)

// suite is one run of TestPipe.
type suite struct {
	mp       MakePipe
	watchdog time.Duration
	big      []byte // bigWrite random bytes, which sub-tests must not change

	mu               sync.Mutex
	probed, buffered bool // see check.buffered
}

// check is one sub-test, on one pipe.
type check struct {
	t       *testing.T
	s       *suite
	r       io.ReadCloser
	w       io.WriteCloser
	release func() // closes both ends, then calls stop; once

	mu    sync.Mutex
	ended bool // t must not be used from other goroutines any more
	calls map[*call]bool
}

// call is a call pending on one of the ends, for the watchdog's message.
type call struct {
	what  string
	n     int // the call's length, or -1
	start time.Time
}

// run runs f as the sub-test name of t, on a new pipe, under a watchdog.
func (s *suite) run(t *testing.T, name string, f func(c *check)) {
	t.Run(name, func(t *testing.T) {
		r, w, stop, err := s.mp()
		c := &check{t: t, s: s, r: r, w: w, calls: map[*call]bool{}}
		c.release = sync.OnceFunc(func() {
			if r != nil {
				r.Close()
			}
			if w != nil {
				w.Close()
			}
			if stop != nil {
				stop()
			}
		})
		watchdog := time.AfterFunc(s.watchdog, c.hung)
		t.Cleanup(func() {
			watchdog.Stop()
			c.mu.Lock()
			c.ended = true
			c.mu.Unlock()
			c.release()
		})
		if err != nil {
			t.Fatalf("MakePipe: %v", err)
		}
		if r == nil || w == nil {
			t.Fatalf("MakePipe returned a nil end (r: %v, w: %v) and no error", r, w)
		}
		f(c)
	})
}

// hung is the watchdog of a sub-test that ran too long: it fails it, naming
// the calls pending, and closes the ends to end them. If the sub-test has
// still not ended after a grace period, it panics rather than let the test
// binary stall.
func (c *check) hung() {
	c.mu.Lock()
	if c.ended {
		c.mu.Unlock()
		return
	}
	msg := fmt.Sprintf("watchdog: sub-test %s still running after %v; pending: %s", c.t.Name(), c.s.watchdog, c.pending())
	c.t.Errorf("%s; closing both ends to end it", msg)
	c.mu.Unlock()
	c.release()
	grace := c.s.watchdog / 2
	time.Sleep(grace)
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.ended {
		panic(fmt.Sprintf("pipetest: %s; %v after closing both ends it has still not ended; pending now: %s", msg, grace, c.pending()))
	}
}

// pending describes the calls pending on the ends, oldest first. c.mu is
// held.
func (c *check) pending() string {
	var calls []*call
	for k := range c.calls {
		calls = append(calls, k)
	}
	slices.SortFunc(calls, func(a, b *call) int { return a.start.Compare(b.start) })
	var s []string
	for _, k := range calls {
		d := time.Since(k.start).Round(time.Millisecond)
		if k.n >= 0 {
			s = append(s, fmt.Sprintf("%s of %d bytes for %v", k.what, k.n, d))
		} else {
			s = append(s, fmt.Sprintf("%s for %v", k.what, d))
		}
	}
	if len(s) == 0 {
		return "no call on the ends"
	}
	return strings.Join(s, ", ")
}

// track records a call on an end as pending until the function it returns
// is called.
func (c *check) track(what string, n int) func() {
	k := &call{what, n, time.Now()}
	c.mu.Lock()
	c.calls[k] = true
	c.mu.Unlock()
	return func() {
		c.mu.Lock()
		delete(c.calls, k)
		c.mu.Unlock()
	}
}

// errorf fails the sub-test from any goroutine, unless it has ended.
func (c *check) errorf(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.ended {
		c.t.Errorf(format, args...)
	}
}

// read calls the read end's Read, and checks its count.
func (c *check) read(p []byte) (int, error) {
	defer c.track("Read", len(p))()
	n, err := c.r.Read(p)
	if n < 0 || n > len(p) {
		c.errorf("Read of %d bytes returned %d, %v: a count outside 0..len(p)", len(p), n, err)
		n = max(0, min(n, len(p)))
	}
	return n, err
}

// write calls the write end's Write, and checks its count: every Write of
// every sub-test must not return fewer bytes than asked without an error.
func (c *check) write(p []byte) (int, error) {
	defer c.track("Write", len(p))()
	n, err := c.w.Write(p)
	switch {
	case n < 0 || n > len(p):
		c.errorf("Write of %d bytes returned %d, %v: a count outside 0..len(p)", len(p), n, err)
		n = max(0, min(n, len(p)))
	case n < len(p) && err == nil:
		c.errorf("Write of %d bytes returned %d, nil: a Write that writes less than asked must return an error", len(p), n)
	}
	return n, err
}

func (c *check) drain(ctx context.Context) error {
	defer c.track("Drain", -1)()
	return c.w.(drainer).Drain(ctx)
}

// closeR and closeW close an end, or fail the sub-test.
func (c *check) closeR() {
	c.t.Helper()
	defer c.track("Close of the read end", -1)()
	if err := c.r.Close(); err != nil {
		c.t.Fatalf("Close of the read end: %v", err)
	}
}

func (c *check) closeW() {
	c.t.Helper()
	if err := c.tryCloseW(); err != nil {
		c.t.Fatalf("Close of the write end: %v", err)
	}
}

// tryCloseW is closeW for any goroutine.
func (c *check) tryCloseW() error {
	defer c.track("Close of the write end", -1)()
	return c.w.Close()
}

// result is what a Read or Write returned.
type result struct {
	n   int
	err error
}

func (c *check) goRead(p []byte) <-chan result {
	return goCall(func() result {
		n, err := c.read(p)
		return result{n, err}
	})
}

func (c *check) goWrite(p []byte) <-chan result {
	return goCall(func() result {
		n, err := c.write(p)
		return result{n, err}
	})
}

func (c *check) goDrain(ctx context.Context) <-chan error {
	return goCall(func() error { return c.drain(ctx) })
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

// await returns the result of a call that must come within d, as the
// sub-test has ended the call or it must not block. If it does not come,
// await fails the sub-test naming what is still pending, closes both ends
// to set it free, waits for it, and stops the sub-test.
func await[T any](c *check, ch <-chan T, d time.Duration, what string) T {
	c.t.Helper()
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case r := <-ch:
		return r
	case <-tm.C:
	}
	c.t.Errorf("%s: still pending %v later (closing both ends to end it)", what, d)
	c.release()
	<-ch
	c.t.FailNow()
	panic("unreachable")
}

// promptly runs f, which must return at once: see await.
func (c *check) promptly(what string, f func()) {
	c.t.Helper()
	await(c, goCall(func() bool { f(); return true }), promptTime, what+" did not return at once")
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

// send writes p, at most probeSize bytes, and then closes the write end if
// andClose: at once if the pipe buffers that much, so that the bytes are in
// the pipe when send returns, and in a new goroutine otherwise. sent waits
// for the result.
func (c *check) send(p []byte, andClose bool) <-chan result {
	c.t.Helper()
	f := func() result {
		n, err := c.write(p)
		if err == nil && andClose {
			err = c.tryCloseW()
		}
		return result{n, err}
	}
	if !c.buffered() {
		return goCall(f)
	}
	ch := make(chan result, 1)
	ch <- f()
	c.sent(ch, p) // failing now spares the caller a wait for bytes that will not come
	ch <- result{len(p), nil}
	return ch
}

// sent fails the sub-test unless the send whose result comes on ch wrote
// all of p.
func (c *check) sent(ch <-chan result, p []byte) {
	c.t.Helper()
	if r := <-ch; r.n != len(p) || r.err != nil {
		c.t.Fatalf("Write of %q (and Close if asked) returned %d, %v; want %d, nil", p, r.n, r.err, len(p))
	}
}

// readStart starts a Write of big, which the pipe cannot hold, reads its
// first partK bytes, and returns the channel the Write's result will come
// on. The Write is then blocked: readStart fails the sub-test if it returns
// first.
func (c *check) readStart(big []byte) <-chan result {
	c.t.Helper()
	ch := c.goWrite(big)
	b := make([]byte, partK)
	got := goCall(func() result {
		n, err := io.ReadFull(readFunc(c.read), b)
		return result{n, err}
	})
	select {
	case r := <-got:
		if r.err != nil {
			c.t.Fatalf("reading the start of a big Write: got %d of %d bytes, then %v", r.n, partK, r.err)
		}
		c.same(b, big[:partK], "the start of a big Write")
	case r := <-ch:
		c.t.Fatalf("with nobody reading, a Write of %d bytes returned %d, %v before the reader read %d bytes of it; "+
			"want it to block once the pipe is full", len(big), r.n, r.err, partK)
	}
	return ch
}

// readFull reads exactly n bytes, or fails the sub-test.
func (c *check) readFull(n int, what string) []byte {
	c.t.Helper()
	b := make([]byte, n)
	if m, err := io.ReadFull(readFunc(c.read), b); err != nil {
		c.t.Fatalf("reading %s: got %d of %d bytes, then %v", what, m, n, err)
	}
	return b
}

// readAll reads to EOF, or fails the sub-test.
func (c *check) readAll(what string) []byte {
	c.t.Helper()
	b, err := io.ReadAll(readFunc(c.read))
	if err != nil {
		c.t.Fatalf("reading %s to EOF: got %d bytes, then %v", what, len(b), err)
	}
	return b
}

type readFunc func([]byte) (int, error)

func (f readFunc) Read(p []byte) (int, error) { return f(p) }

// same fails the sub-test unless got equals want.
func (c *check) same(got, want []byte, what string) {
	c.t.Helper()
	if !bytes.Equal(got, want) {
		i := 0
		for i < len(got) && i < len(want) && got[i] == want[i] {
			i++
		}
		c.t.Fatalf("%s: got %d bytes, want %d; they differ from byte %d on", what, len(got), len(want), i)
	}
}

type readDeadliner interface {
	SetReadDeadline(time.Time) error
}

type writeDeadliner interface {
	SetWriteDeadline(time.Time) error
}

type drainer interface {
	Drain(context.Context) error
}

// readDeadlines and writeDeadlines report whether an end has deadlines: a
// setter that does not return os.ErrNoDeadline.
func (c *check) readDeadlines() bool {
	d, ok := c.r.(readDeadliner)
	return ok && !errors.Is(d.SetReadDeadline(time.Time{}), os.ErrNoDeadline)
}

func (c *check) writeDeadlines() bool {
	d, ok := c.w.(writeDeadliner)
	return ok && !errors.Is(d.SetWriteDeadline(time.Time{}), os.ErrNoDeadline)
}

// need skips the sub-test unless has, which says whether end has method.
func (c *check) need(has bool, end any, method string) {
	c.t.Helper()
	if !has {
		c.t.Skipf("the end, a %T, has no %s", end, method)
	}
}

func (c *check) setReadDeadline(t time.Time) {
	c.t.Helper()
	if err := c.r.(readDeadliner).SetReadDeadline(t); err != nil {
		c.t.Fatalf("SetReadDeadline(%v): %v", t, err)
	}
}

func (c *check) setWriteDeadline(t time.Time) {
	c.t.Helper()
	if err := c.w.(writeDeadliner).SetWriteDeadline(t); err != nil {
		c.t.Fatalf("SetWriteDeadline(%v): %v", t, err)
	}
}

// buffered reports whether a Write of probeSize bytes to an empty pipe
// completes with nobody reading. TestPipe finds out once, on the pipe of
// the first sub-test that asks, which it leaves empty. Sub-tests write
// small messages before reading them when they can, which shows more (bytes
// are buffered, then the writer closes...), and from a goroutine otherwise.
func (c *check) buffered() bool {
	c.t.Helper()
	s := c.s
	s.mu.Lock()
	probed, buffered := s.probed, s.buffered
	s.mu.Unlock()
	if probed {
		return buffered
	}
	msg := pattern(probeSize, 99)
	what := "the bytes of a Write that finds out whether the pipe buffers anything"
	var r result
	if c.writeDeadlines() {
		c.setWriteDeadline(time.Now().Add(fillTime))
		r.n, r.err = c.write(msg)
		c.setWriteDeadline(time.Time{})
		if r.err != nil && !isTimeout(r.err) {
			c.t.Fatalf("finding out whether the pipe buffers %d bytes: Write with a deadline returned %d, %v", probeSize, r.n, r.err)
		}
		buffered = r.err == nil
		c.same(c.readFull(r.n, what), msg[:r.n], what)
	} else {
		ch := c.goWrite(msg)
		r, buffered = blocked(ch, promptTime)
		buffered = !buffered
		c.same(c.readFull(probeSize, what), msg, what) // which completes the Write if it is pending
		if !buffered {
			r = <-ch
		}
		if r.n != probeSize || r.err != nil {
			c.t.Fatalf("finding out whether the pipe buffers %d bytes: Write returned %d, %v", probeSize, r.n, r.err)
		}
	}
	s.mu.Lock()
	s.probed, s.buffered = true, buffered
	s.mu.Unlock()
	if !buffered {
		c.t.Logf("the pipe does not take a %d-byte Write with nobody reading: testing it as a synchronous pipe", probeSize)
	}
	return buffered
}

func isTimeout(err error) bool {
	return errors.Is(err, os.ErrDeadlineExceeded) && os.IsTimeout(err)
}

func isClosed(err error) bool {
	return errors.Is(err, os.ErrClosed)
}

// isBroken reports whether err is a broken pipe: anonpipe's, or the EPIPE
// of a bare *os.File, and not a closed end.
func isBroken(err error) bool {
	return (errors.Is(err, anonpipe.ErrBrokenPipe) || errors.Is(err, syscall.EPIPE)) && !isClosed(err)
}

const (
	timeoutError   = "an error matching os.ErrDeadlineExceeded, for which os.IsTimeout is true"
	wantTimeout    = "want " + timeoutError
	wantBrokenPipe = "want an error matching anonpipe.ErrBrokenPipe (or syscall.EPIPE), not os.ErrClosed"
	wantClosed     = "want an error matching os.ErrClosed"
)

// pattern returns n pseudo-random bytes drawn from seed.
func pattern(n int, seed uint64) []byte {
	b := make([]byte, n+8)
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	for i := 0; i < n; i += 8 {
		binary.LittleEndian.PutUint64(b[i:], rng.Uint64())
	}
	return b[:n:n]
}
