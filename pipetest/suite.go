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
	"sync/atomic"
	"testing"
	"time"

	"github.com/anonpipe/anonpipe/anonpipe"
)

// MakePipe makes a new pipe for [TestPipe], which calls it at the start of
// each sub-test. r and w must be the read and write end of one pipe, open
// and empty; stop, which may be nil, releases whatever else the pipe holds,
// such as a child process that keeps it open. A non-nil err fails the
// sub-test; stop is then still called if it is not nil.
//
// When the sub-test ends, or earlier when its watchdog fires, TestPipe
// closes r and w, ignoring the errors, and then calls stop, once.
type MakePipe func() (r io.ReadCloser, w io.WriteCloser, stop func(), err error)

// Times the suite uses. Only watchdogTime and promptTime bound calls that
// should return; the others are how long a call is left blocked to see that
// it stays so.
const (
	// watchdogTime is how long a sub-test may run before TestPipe takes it
	// as hung, unless the test's deadline is near: see TestPipe.
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
)

const (
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

// TestPipe checks that the pipes mp makes behave as Linux pipes do through
// an [*anonpipe.Reader] and [*anonpipe.Writer], with a sub-test of t for each
// behaviour, each on a new pipe:
//
//   - ReadReturnsWhatIsThere: a Read returns the bytes there at once,
//     without waiting to fill its buffer.
//   - ZeroLengthRead, ZeroLengthWrite: Read and Write of no bytes return 0,
//     nil at once, and a Read of no bytes takes nothing.
//   - WriteBlocksWhenFull: with nobody reading, a Write blocks once the pipe
//     is full, and so does a 1-byte Write then; reading everything frees the
//     space again.
//   - PartialWrite: a Write never returns fewer bytes than asked without an
//     error; one cut short by a deadline (or, without deadlines, a Close)
//     returns the count of bytes it wrote, which the reader gets, and no more.
//     Every Write of every sub-test is checked for short counts too.
//   - AtomicWrites/4096, AtomicWrites/1000: records of 4096 (PIPE_BUF) and
//     1000 bytes written by four goroutines and read by two reading exactly
//     a record at a time arrive whole, once each, in each writer's order.
//   - EOFAfterWriterCloses: an empty pipe with its writer open makes Read
//     wait; after the writer closes, bytes still buffered are delivered,
//     then 0, io.EOF on every Read.
//   - BrokenPipe, BrokenPipeWakesBlockedWrite: once the reader is closed,
//     Write, ReadFrom and Drain fail at once with an error matching
//     [anonpipe.ErrBrokenPipe] (or, from a bare *os.File, syscall.EPIPE) and
//     not os.ErrClosed; a Write blocked then returns at once, with that
//     error and its partial count.
//   - UseAfterClose, CloseUnblocksRead, CloseUnblocksWrite: every method of
//     a closed end fails with an error matching os.ErrClosed, Reads and
//     Writes of no bytes and SetReadDeadline and SetWriteDeadline too, or for
//     the setters of an end without deadlines os.ErrNoDeadline, and for those
//     of an *os.File the error they return there (not os.ErrClosed); closing
//     an end ends a Read or Write pending on it at once with that error and,
//     for a Write, its partial count.
//   - CloseTwice: a second Close returns nil or an error matching
//     os.ErrClosed, does not panic and has no other effect.
//   - CloseRace: Close of both ends, twice each, concurrent with Reads and
//     Writes, gives only the errors above (run it with -race).
//   - ReadDeadline, WriteDeadline, DeadlinesIndependent: a deadline in the
//     past fails at once, even with bytes ready or room to write; one set
//     while a call is blocked ends it; one in the future passes; the zero
//     time clears it; the error matches os.ErrDeadlineExceeded and
//     os.IsTimeout reports true; a read deadline does not bound writes, nor a
//     write deadline reads.
//   - BufferNotRetained/Read, BufferNotRetained/Write: a call does not touch
//     its buffer after it returns, even after a deadline or Close cut it short.
//   - RandomMegabyte: a megabyte of random bytes survives Writes and Reads of
//     random sizes in two goroutines.
//   - ReadFromWriteTo: io.ReaderFrom and io.WriterTo, where the ends have
//     them, copy a megabyte without losing a byte, ReadFrom from a source
//     that returns its last bytes with io.EOF; WriteTo into a writer that
//     fails returns the count the writer took and its error.
//   - Drain: Drain returns nil at once on an empty pipe, waits while bytes
//     are unread and returns once the reader has read them, returns the
//     context's error when it ends first, and an error matching os.ErrClosed
//     when the writer is closed.
//
// The ends need only be an io.ReadCloser and an io.WriteCloser. The
// behaviours that need more are checked when the ends have the methods:
// SetReadDeadline(time.Time) error on r and SetWriteDeadline(time.Time) error
// on w (a method that returns an error matching os.ErrNoDeadline counts as
// missing), Drain(context.Context) error on w, io.ReaderFrom on w and
// io.WriterTo on r. A sub-test that needs a missing method is skipped, with
// a message naming it, never passed. One that can do without, such as
// WriteBlocksWhenFull, watches calls in a goroutine instead, and takes them
// as blocked when they make no progress for 200 ms.
//
// TestPipe does not know the pipe's capacity and makes no assumption on it,
// but that it is below 8 MiB: a synchronous pipe, one that holds nothing,
// passes as io.Pipe does. It does assume one pipe: relaying through another
// process changes the capacity, splits atomic writes and delays errors.
//
// Every sub-test has a watchdog. If a sub-test still runs after 10 s, the
// watchdog fails it with a message naming the calls then pending on the
// ends and how long they have been, then closes both ends and calls stop to
// set them free. If the sub-test has not ended 5 s later, TestPipe panics
// with that message rather than stall the test binary. When t has a
// deadline (go test -timeout), the watchdog waits at most a quarter of the
// time left when TestPipe starts, but at least 2 s, and the grace period is
// half of that. Sub-tests run one
// after the other; with a conforming pipe that has deadlines, TestPipe takes
// about a second.
func TestPipe(t *testing.T, mp MakePipe) {
	t.Helper()
	if mp == nil {
		t.Fatal("pipetest.TestPipe: nil MakePipe")
	}
	s := &suite{mp: mp, watchdog: watchdogTime}
	if d, ok := t.Deadline(); ok {
		s.watchdog = max(min(s.watchdog, time.Until(d)/4), minWatchdog)
	}
	s.run(t, "ReadReturnsWhatIsThere", testReadReturnsWhatIsThere)
	s.run(t, "ZeroLengthRead", testZeroLengthRead)
	s.run(t, "ZeroLengthWrite", testZeroLengthWrite)
	s.run(t, "WriteBlocksWhenFull", testWriteBlocksWhenFull)
	s.run(t, "PartialWrite", testPartialWrite)
	t.Run("AtomicWrites", func(t *testing.T) {
		for _, size := range []int{pageSize, 1000} {
			s.run(t, fmt.Sprint(size), func(c *check) { testAtomicWrites(c, size) })
		}
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

// suite is the state of one TestPipe call.
type suite struct {
	mp       MakePipe
	watchdog time.Duration // grace is half of it

	mu       sync.Mutex
	probed   bool
	buffered bool   // see check.buffered
	big      []byte // see bigData
}

// bigData returns bigWrite bytes of random data, the same each time, which
// the caller must not change.
func (s *suite) bigData() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.big == nil {
		s.big = pattern(bigWrite, 3)
	}
	return s.big
}

// run runs f as the sub-test name of t, on a new pipe, under a watchdog.
func (s *suite) run(t *testing.T, name string, f func(c *check)) {
	t.Run(name, func(t *testing.T) {
		r, w, stop, err := s.mp()
		if err != nil {
			if stop != nil {
				stop()
			}
			t.Fatalf("MakePipe: %v", err)
		}
		c := &check{t: t, s: s, r: r, w: w, stop: stop, calls: map[*call]struct{}{}}
		t.Cleanup(c.finish)
		if r == nil || w == nil {
			t.Fatalf("MakePipe returned a nil end (r: %v, w: %v) and no error", r, w)
		}
		c.watchdog = time.AfterFunc(s.watchdog, c.fire)
		f(c)
	})
}

// check is one sub-test on one pipe.
type check struct {
	t    *testing.T
	s    *suite
	r    io.ReadCloser
	w    io.WriteCloser
	stop func()

	releaseOnce sync.Once

	mu       sync.Mutex
	watchdog *time.Timer
	finished bool // t must not be used from other goroutines any more
	calls    map[*call]struct{}
}

// call is a call pending on one of the ends.
type call struct {
	what  string
	n     int
	start time.Time
}

// finish ends the sub-test: it stops the watchdog and releases the ends.
func (c *check) finish() {
	c.mu.Lock()
	c.finished = true
	if c.watchdog != nil {
		c.watchdog.Stop()
	}
	c.mu.Unlock()
	c.release()
}

// release closes both ends and calls stop, once.
func (c *check) release() {
	c.releaseOnce.Do(func() {
		if c.r != nil {
			c.r.Close()
		}
		if c.w != nil {
			c.w.Close()
		}
		if c.stop != nil {
			c.stop()
		}
	})
}

// fire is the watchdog: the sub-test has run for watchdogTime.
func (c *check) fire() {
	c.mu.Lock()
	if c.finished {
		c.mu.Unlock()
		return
	}
	msg := fmt.Sprintf("watchdog: sub-test %s still running after %v; pending: %s",
		c.t.Name(), c.s.watchdog, c.pendingLocked())
	c.t.Errorf("%s; closing both ends to end it", msg)
	c.mu.Unlock()
	c.release()
	grace := c.s.watchdog / 2
	time.AfterFunc(grace, func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		if !c.finished {
			panic(fmt.Sprintf("pipetest: %s; %v after closing both ends it has still not ended; pending now: %s",
				msg, grace, c.pendingLocked()))
		}
	})
}

// pendingLocked describes the pending calls. c.mu is held.
func (c *check) pendingLocked() string {
	if len(c.calls) == 0 {
		return "no call on the ends"
	}
	var list []*call
	for k := range c.calls {
		list = append(list, k)
	}
	slices.SortFunc(list, func(a, b *call) int { return a.start.Compare(b.start) })
	var s []string
	for _, k := range list {
		d := time.Since(k.start).Round(time.Millisecond)
		if k.n >= 0 {
			s = append(s, fmt.Sprintf("%s of %d bytes for %v", k.what, k.n, d))
		} else {
			s = append(s, fmt.Sprintf("%s for %v", k.what, d))
		}
	}
	return strings.Join(s, ", ")
}

// track records a call as pending until the returned function is called.
// n < 0 means the call has no size.
func (c *check) track(what string, n int) func() {
	k := &call{what: what, n: n, start: time.Now()}
	c.mu.Lock()
	c.calls[k] = struct{}{}
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
	if !c.finished {
		c.t.Errorf(format, args...)
	}
}

func (c *check) read(p []byte) (int, error) {
	return c.readReady(p, nil)
}

// readReady is read, closing ready, unless it is nil, just before the end's
// Read: see goPending.
func (c *check) readReady(p []byte, ready chan<- struct{}) (int, error) {
	defer c.track("Read", len(p))()
	signal(ready)
	n, err := c.r.Read(p)
	if n < 0 || n > len(p) {
		c.errorf("Read of %d bytes returned %d, %v: a count outside 0..len(p)", len(p), n, err)
		n = max(0, min(n, len(p)))
	}
	return n, err
}

func (c *check) write(p []byte) (int, error) {
	return c.writeReady(p, nil)
}

// writeReady is write, closing ready, unless it is nil, just before the
// end's Write: see goPending.
func (c *check) writeReady(p []byte, ready chan<- struct{}) (int, error) {
	defer c.track("Write", len(p))()
	signal(ready)
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

func (c *check) closeR() error {
	defer c.track("Close of the read end", -1)()
	return c.r.Close()
}

func (c *check) closeW() error {
	defer c.track("Close of the write end", -1)()
	return c.w.Close()
}

// result is what a Read or Write returned.
type result struct {
	n   int
	err error
}

// goRead reads into p in a new goroutine, as goPending does.
func (c *check) goRead(p []byte) <-chan result {
	return goPending(func(ready chan<- struct{}) result {
		n, err := c.readReady(p, ready)
		return result{n, err}
	})
}

// goWrite writes p in a new goroutine, as goPending does.
func (c *check) goWrite(p []byte) <-chan result {
	return goPending(func(ready chan<- struct{}) result {
		n, err := c.writeReady(p, ready)
		return result{n, err}
	})
}

// goDrain calls Drain in a new goroutine, as goPending does.
func (c *check) goDrain(ctx context.Context) <-chan error {
	return goPending(func(ready chan<- struct{}) error { return c.drainReady(ctx, ready) })
}

// goPending runs call in a new goroutine, whose result comes on the
// returned channel, and returns once call closes ready, which it must do
// just before it calls the end's method.
//
// A sub-test that starts a call and then ends it (with Close, a deadline or
// a cancelled context) must find the call in progress: an act that comes
// first makes the call fail at once, which tests something else, and a
// pipe that ends only later calls would pass. Nothing outside a pipe can
// see that a Read or a Drain is blocked; but the goroutine that closes
// ready runs on into the method while the scheduler wakes the waiting
// caller, so the call is almost always in progress when the caller acts.
func goPending[T any](call func(ready chan<- struct{}) T) <-chan T {
	ready := make(chan struct{})
	ch := make(chan T, 1)
	go func() { ch <- call(ready) }()
	<-ready
	return ch
}

// ended waits for the result of a call that the sub-test has just ended
// (by Close, a deadline or a cancelled context) and that must return within
// d. If it does not, ended fails the sub-test naming what, releases the
// ends to set the call free, waits for it and returns false.
func ended[T any](c *check, ch <-chan T, d time.Duration, what string) (T, bool) {
	c.t.Helper()
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case r := <-ch:
		return r, true
	case <-tm.C:
		c.t.Errorf("%s: still pending %v later (closing both ends to end it)", what, d)
		c.release()
		return <-ch, false
	}
}

// send writes p, which is at most probeSize bytes: at once if the pipe
// holds that much with nobody reading, so that the bytes are in the pipe
// when send returns, and in a new goroutine otherwise. If andClose, it then
// closes the write end. The result comes on the channel; see sent.
func (c *check) send(p []byte, andClose bool) <-chan result {
	c.t.Helper()
	ch := make(chan result, 1)
	f := func() {
		n, err := c.write(p)
		if err == nil && andClose {
			err = c.closeW()
		}
		ch <- result{n, err}
	}
	if len(p) <= probeSize && c.buffered() {
		f()
		// Failing now spares the caller a wait for bytes that will not come.
		c.sent(ch, p)
		ch <- result{len(p), nil}
	} else {
		go f()
	}
	return ch
}

// sent waits for the result of send and fails the sub-test unless it wrote
// all of p.
func (c *check) sent(ch <-chan result, p []byte) {
	c.t.Helper()
	r := <-ch
	if r.n != len(p) || r.err != nil {
		c.t.Fatalf("Write of %q (and Close if asked) returned %d, %v; want %d, nil", p, r.n, r.err, len(p))
	}
}

// readStart starts a Write of big, which the pipe cannot hold, and reads
// the first partK bytes of it. The Write is then blocked, its result to come
// on the returned channel; readStart fails the sub-test if it returns
// before, as nothing has cut it short.
func (c *check) readStart(big []byte) <-chan result {
	c.t.Helper()
	ch := c.goWrite(big)
	got := make(chan result, 1)
	b := make([]byte, partK)
	go func() {
		n, err := io.ReadFull(readFunc(c.read), b)
		got <- result{n, err}
	}()
	select {
	case r := <-got:
		if r.err != nil {
			c.t.Fatalf("reading the start of a big Write: got %d of %d bytes, then %v", r.n, partK, r.err)
		}
		c.same(b, big[:partK], "the start of a big Write")
		return ch
	case r := <-ch:
		c.t.Fatalf("with nobody reading, a Write of %d bytes returned %d, %v before the reader read %d bytes of it; "+
			"want it to block once the pipe is full", len(big), r.n, r.err, partK)
		return nil
	}
}

// pending reports whether the call whose result comes on ch is still
// pending after d, and if not, its result.
func pending(ch <-chan result, d time.Duration) (result, bool) {
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case r := <-ch:
		return r, false
	case <-tm.C:
		return result{}, true
	}
}

// promptly runs f, which must return at once. If it does not return within
// promptTime, promptly fails the sub-test naming what, releases the ends to
// set f free, waits for it and returns false.
func (c *check) promptly(what string, f func()) bool {
	c.t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	_, ok := ended(c, done, promptTime, what+" did not return at once")
	return ok
}

// readFull reads exactly n bytes, or fails the sub-test.
func (c *check) readFull(n int, what string) []byte {
	c.t.Helper()
	b := make([]byte, n)
	m, err := io.ReadFull(readFunc(c.read), b)
	if err != nil {
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

// readDeadline returns the read end's SetReadDeadline, or nil if it has
// none or it returns os.ErrNoDeadline.
func (c *check) readDeadline() readDeadliner {
	d, ok := c.r.(readDeadliner)
	if !ok || errors.Is(d.SetReadDeadline(time.Time{}), os.ErrNoDeadline) {
		return nil
	}
	return d
}

// writeDeadline is readDeadline for the write end.
func (c *check) writeDeadline() writeDeadliner {
	d, ok := c.w.(writeDeadliner)
	if !ok || errors.Is(d.SetWriteDeadline(time.Time{}), os.ErrNoDeadline) {
		return nil
	}
	return d
}

// needReadDeadline skips the sub-test if the read end has no deadlines.
func (c *check) needReadDeadline() {
	c.t.Helper()
	if _, ok := c.r.(readDeadliner); !ok {
		c.t.Skipf("the read end, a %T, has no SetReadDeadline(time.Time) error method", c.r)
	}
	if c.readDeadline() == nil {
		c.t.Skipf("the read end, a %T, does not support deadlines: SetReadDeadline returns os.ErrNoDeadline", c.r)
	}
}

// needWriteDeadline skips the sub-test if the write end has no deadlines.
func (c *check) needWriteDeadline() {
	c.t.Helper()
	if _, ok := c.w.(writeDeadliner); !ok {
		c.t.Skipf("the write end, a %T, has no SetWriteDeadline(time.Time) error method", c.w)
	}
	if c.writeDeadline() == nil {
		c.t.Skipf("the write end, a %T, does not support deadlines: SetWriteDeadline returns os.ErrNoDeadline", c.w)
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

func (c *check) drain(ctx context.Context) error {
	return c.drainReady(ctx, nil)
}

// drainReady is drain, closing ready, unless it is nil, just before the
// end's Drain: see goPending.
func (c *check) drainReady(ctx context.Context, ready chan<- struct{}) error {
	defer c.track("Drain", -1)()
	signal(ready)
	return c.w.(drainer).Drain(ctx)
}

func signal(ready chan<- struct{}) {
	if ready != nil {
		close(ready)
	}
}

// buffered reports whether a Write of up to probeSize bytes to an empty pipe
// completes with nobody reading. TestPipe finds out once, on the pipe of the
// first sub-test that asks, which it leaves empty. Sub-tests use it to write
// small messages before reading them when they can, which shows more (bytes
// are buffered, then the writer closes...), and from a goroutine otherwise.
func (c *check) buffered() bool {
	c.t.Helper()
	s := c.s
	s.mu.Lock()
	if s.probed {
		defer s.mu.Unlock()
		return s.buffered
	}
	s.mu.Unlock()

	msg := pattern(probeSize, 99)
	var buffered bool
	if c.writeDeadline() != nil {
		c.setWriteDeadline(time.Now().Add(fillTime))
		n, err := c.write(msg)
		c.setWriteDeadline(time.Time{})
		if err != nil && !isTimeout(err) {
			c.t.Fatalf("finding out whether the pipe buffers %d bytes: Write with a deadline returned %d, %v", probeSize, n, err)
		}
		buffered = err == nil
		if n > 0 {
			c.same(c.readFull(n, "the bytes of a Write that finds out whether the pipe buffers anything"), msg[:n],
				"reading back the bytes that found out whether the pipe buffers anything")
		}
	} else {
		ch := c.goWrite(msg)
		r, blocked := pending(ch, promptTime)
		// Reading completes the Write if it is still pending.
		c.same(c.readFull(probeSize, "the bytes of a Write that finds out whether the pipe buffers anything"), msg,
			"reading back the bytes that found out whether the pipe buffers anything")
		if blocked {
			r = <-ch
		}
		if r.n != probeSize || r.err != nil {
			c.t.Fatalf("finding out whether the pipe buffers %d bytes: Write returned %d, %v", probeSize, r.n, r.err)
		}
		buffered = !blocked
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

// isBroken reports whether err is a broken pipe: anonpipe's, or the EPIPE of
// a bare *os.File.
func isBroken(err error) bool {
	return errors.Is(err, anonpipe.ErrBrokenPipe) || errors.Is(err, epipe())
}

// pattern returns n pseudo-random bytes drawn from seed.
func pattern(n int, seed uint64) []byte {
	b := make([]byte, n)
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	for i := 0; i < n; i += 8 {
		var w [8]byte
		binary.LittleEndian.PutUint64(w[:], rng.Uint64())
		copy(b[i:], w[:])
	}
	return b
}

const (
	timeoutError   = "an error matching os.ErrDeadlineExceeded, for which os.IsTimeout is true"
	wantTimeout    = "want " + timeoutError
	wantBrokenPipe = "want an error matching anonpipe.ErrBrokenPipe (or syscall.EPIPE), not os.ErrClosed"
	wantClosed     = "want an error matching os.ErrClosed"
)

func testReadReturnsWhatIsThere(c *check) {
	msg := []byte("abc")
	ch := c.send(msg, false)
	buf := make([]byte, 100)
	var n int
	var err error
	if !c.promptly(fmt.Sprintf("after a Write of %q, a Read into 100 bytes", msg), func() { n, err = c.read(buf) }) {
		return
	}
	if n != len(msg) || err != nil || string(buf[:n]) != "abc" {
		c.t.Fatalf("after a Write of %q, a Read into 100 bytes returned %d, %v (%q); want 3, nil: "+
			"a Read returns the bytes there, without waiting to fill its buffer", msg, n, err, buf[:n])
	}
	c.sent(ch, msg)
}

func testZeroLengthRead(c *check) {
	var n int
	var err error
	if !c.promptly("Read(nil) on an empty pipe", func() { n, err = c.read(nil) }) {
		return
	}
	if n != 0 || err != nil {
		c.t.Errorf("Read(nil) on an empty pipe returned %d, %v; want 0, nil", n, err)
	}
	// The writer closes after the byte, so that a byte taken shows as one
	// missing rather than a Read waiting for it.
	ch := c.send([]byte("x"), true)
	if !c.promptly("Read of an empty slice with a byte waiting", func() { n, err = c.read([]byte{}) }) {
		return
	}
	if n != 0 || err != nil {
		c.t.Errorf("a Read of an empty slice with a byte waiting returned %d, %v; want 0, nil", n, err)
	}
	c.same(c.readAll("the byte after a zero-length Read"), []byte("x"), "the byte after a zero-length Read (which must take nothing)")
	c.sent(ch, []byte("x"))
}

func testZeroLengthWrite(c *check) {
	c.buffered() // before the zero-length Writes, so that it reads back only its own bytes
	for _, p := range [][]byte{nil, {}} {
		var n int
		var err error
		if !c.promptly(fmt.Sprintf("Write(%#v) with nobody reading", p), func() { n, err = c.write(p) }) {
			return
		}
		if n != 0 || err != nil {
			c.t.Errorf("Write(%#v) returned %d, %v; want 0, nil", p, n, err)
		}
	}
	// The zero-length Writes put nothing in the pipe.
	msg := []byte("after")
	ch := c.send(msg, true)
	c.same(c.readAll("what follows zero-length Writes"), msg, "what follows zero-length Writes, which must add nothing")
	c.sent(ch, msg)
}

func testWriteBlocksWhenFull(c *check) {
	big := c.s.bigData()
	if c.writeDeadline() == nil {
		// No deadline: watch Writes in a goroutine, until they make no
		// progress for windowTime.
		const chunk = 64 << 10
		var written atomic.Int64
		ch := make(chan result, 1)
		go func() {
			total := 0
			for total < len(big) {
				n, err := c.write(big[total:min(total+chunk, len(big))])
				total += n
				written.Store(int64(total))
				if err != nil {
					ch <- result{total, err}
					return
				}
			}
			ch <- result{total, nil}
		}()
		for last := int64(-1); ; {
			if r, blocked := pending(ch, windowTime); !blocked {
				c.t.Fatalf("with nobody reading, Writes of %d bytes in all, %d at a time, returned %d, %v; "+
					"want them to block once the pipe is full (the write end has no deadlines, so TestPipe watches them in a goroutine)",
					len(big), chunk, r.n, r.err)
			}
			now := written.Load()
			if now == last {
				break
			}
			last = now
		}
		c.same(c.readFull(len(big), "what blocked Writes wrote as the reader freed space"), big, "what blocked Writes wrote as the reader freed space")
		if r := <-ch; r.n != len(big) || r.err != nil {
			c.t.Fatalf("Writes of %d bytes in all that the reader read returned %d, %v; want all, nil", len(big), r.n, r.err)
		}
		return
	}

	c.setWriteDeadline(time.Now().Add(fillTime))
	full, err := c.write(big)
	if !isTimeout(err) {
		c.t.Fatalf("with nobody reading, a Write of %d bytes, with a deadline %v ahead, returned %d, %v; "+
			"want it to block once the pipe is full, and so fewer bytes and a deadline error", len(big), fillTime, full, err)
	}
	c.setWriteDeadline(time.Now().Add(tick))
	n, err := c.write([]byte{1})
	if n != 0 || !isTimeout(err) {
		c.t.Errorf("once a Write blocked on a pipe holding %d bytes, a 1-byte Write with a deadline returned %d, %v; "+
			"want 0 and a deadline error: writes block while the pipe is full", full, n, err)
	}
	c.setWriteDeadline(time.Time{})
	c.same(c.readFull(full, "the bytes that filled the pipe"), big[:full], "the bytes that filled the pipe")
	if full == 0 {
		c.t.Logf("the pipe holds no bytes with nobody reading: it is synchronous")
		return
	}
	// Reading everything freed the space: the same Write fits again.
	c.setWriteDeadline(time.Now().Add(longTime))
	n, err = c.write(big[:full])
	if n != full || err != nil {
		c.t.Fatalf("after reading the %d bytes that filled the pipe, a Write of as many returned %d, %v; "+
			"want %d, nil: reading frees space", full, n, err, full)
	}
	c.setWriteDeadline(time.Time{})
	c.same(c.readFull(full, "the bytes written into the freed space"), big[:full], "the bytes written into the freed space")
}

func testPartialWrite(c *check) {
	big := c.s.bigData()
	ch := c.readStart(big)
	how := "its deadline passed"
	deadline := c.writeDeadline() != nil // asked once: after Close the question fails
	if deadline {
		c.setWriteDeadline(time.Now())
	} else {
		how = "its end was closed"
		if err := c.closeW(); err != nil {
			c.t.Fatalf("Close of the write end: %v", err)
		}
	}
	r := <-ch
	switch {
	case r.err == nil:
		c.t.Fatalf("a Write of %d bytes, blocked when %s, returned %d, nil; want fewer bytes and an error", len(big), how, r.n)
	case r.n < partK || r.n >= len(big):
		c.t.Fatalf("a Write of %d bytes, blocked when %s after the reader read %d of its bytes, returned %d, %v; "+
			"want the count of bytes it wrote, at least %d and fewer than %d", len(big), how, partK, r.n, r.err, partK, len(big))
	}
	// The count is exact: the reader gets those bytes and no more.
	if deadline {
		c.setWriteDeadline(time.Time{})
		if err := c.closeW(); err != nil {
			c.t.Fatalf("Close of the write end: %v", err)
		}
	}
	c.same(c.readAll("the rest of a Write cut short"), big[partK:r.n], fmt.Sprintf("the rest of a Write cut short when it had written %d bytes", r.n))
}

// record returns record i of writer w, size bytes long.
func record(size, w, i int) []byte {
	b := make([]byte, size)
	binary.BigEndian.PutUint16(b, uint16(w))
	binary.BigEndian.PutUint32(b[2:], uint32(i))
	for j := 6; j < size; j++ {
		b[j] = byte(w*131 + i*7 + j)
	}
	return b
}

func testAtomicWrites(c *check, size int) {
	const writers, records, readers = 4, 50, 2
	var (
		mu   sync.Mutex
		errs []string
		seen = make([][]int, writers)
	)
	fail := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		if len(errs) < 5 {
			errs = append(errs, fmt.Sprintf(format, args...))
		}
	}
	for w := range seen {
		seen[w] = make([]int, records)
	}
	var wwg, rwg sync.WaitGroup
	for w := range writers {
		goWG(&wwg, func() {
			for i := range records {
				if n, err := c.write(record(size, w, i)); err != nil {
					fail("writer %d: Write of record %d returned %d, %v", w, i, n, err)
					return
				}
			}
		})
	}
	for rd := range readers {
		goWG(&rwg, func() {
			last := make([]int, writers)
			for i := range last {
				last[i] = -1
			}
			buf := make([]byte, size)
			// A reader that finds a fault reads on to EOF, only not
			// counting records any more, so that the writers finish.
			failed := false
			for {
				n, err := c.read(buf)
				if err == io.EOF && n == 0 {
					return
				}
				if err != nil {
					fail("reader %d: Read returned %d, %v", rd, n, err)
					return
				}
				if failed {
					continue
				}
				if n != size {
					fail("reader %d: a Read of %d bytes returned %d: a %d-byte write was split (or merged with another)", rd, size, n, size)
					failed = true
					continue
				}
				w, i := int(binary.BigEndian.Uint16(buf)), int(binary.BigEndian.Uint32(buf[2:]))
				if w >= writers || i >= records || !bytes.Equal(buf, record(size, w, i)) {
					fail("reader %d: a Read returned a %d-byte record mixed with other writes", rd, size)
					failed = true
					continue
				}
				if i <= last[w] {
					fail("reader %d: got record %d of writer %d after its record %d", rd, i, w, last[w])
				}
				last[w] = i
				mu.Lock()
				seen[w][i]++
				mu.Unlock()
			}
		})
	}
	wwg.Wait()
	if err := c.closeW(); err != nil {
		c.t.Errorf("Close of the write end: %v", err)
	}
	rwg.Wait()
	for w := range seen {
		for i, k := range seen[w] {
			if k != 1 {
				fail("record %d of writer %d was read %d times; want once", i, w, k)
			}
		}
	}
	for _, e := range errs {
		c.t.Error(e)
	}
}

func testEOFAfterWriterCloses(c *check) {
	first := []byte("last ")
	ch := c.send(first, false)
	c.same(c.readFull(len(first), "a first Write"), first, "a first Write")
	c.sent(ch, first)

	// The writer is open: an empty pipe is not at EOF yet.
	var waiting <-chan result
	wbuf := make([]byte, 64)
	if c.readDeadline() != nil {
		c.setReadDeadline(time.Now().Add(tick))
		n, err := c.read(make([]byte, 64))
		if !isTimeout(err) {
			c.t.Fatalf("with the writer open, a Read of an empty pipe, with a deadline %v ahead, returned %d, %v; "+
				"want it to wait (until the deadline): EOF comes only once the writer is closed", tick, n, err)
		}
		c.setReadDeadline(time.Time{})
	} else {
		waiting = c.goRead(wbuf)
		if r, blocked := pending(waiting, windowTime); !blocked {
			c.t.Fatalf("with the writer open, a Read of an empty pipe returned %d, %v within %v; "+
				"want it to wait: EOF comes only once the writer is closed", r.n, r.err, windowTime)
		}
	}

	// Bytes written before the writer closes still arrive, then EOF.
	last := []byte("words")
	ch = c.send(last, true)
	var got []byte
	if waiting != nil {
		r := <-waiting
		if r.err != nil {
			c.t.Fatalf("a Read pending when the writer wrote %q and closed returned %d, %v; want the bytes", last, r.n, r.err)
		}
		got = wbuf[:r.n] // checked below with the rest
	}
	got = append(got, c.readAll("the bytes written before the writer closed")...)
	c.same(got, last, "the bytes written before the writer closed")
	c.sent(ch, last)
	for i := range 3 {
		n, err := c.read(make([]byte, 10))
		if n != 0 || err != io.EOF {
			c.t.Fatalf("Read number %d after EOF returned %d, %v; want 0, io.EOF, repeatably", i+1, n, err)
		}
	}
}

func testBrokenPipe(c *check) {
	if err := c.closeR(); err != nil {
		c.t.Fatalf("Close of the read end: %v", err)
	}
	for _, size := range []int{1, pageSize, bigWrite} {
		var n int
		var err error
		if !c.promptly(fmt.Sprintf("a Write of %d bytes after the reader closed", size), func() { n, err = c.write(make([]byte, size)) }) {
			return
		}
		if n != 0 || !isBroken(err) || isClosed(err) {
			c.t.Errorf("a Write of %d bytes after the reader closed returned %d, %v; want 0 and an error: %s", size, n, err, wantBrokenPipe)
		}
	}
	if rf, ok := c.w.(io.ReaderFrom); ok {
		var n int64
		var err error
		if !c.promptly("ReadFrom after the reader closed", func() {
			defer c.track("ReadFrom", -1)()
			n, err = rf.ReadFrom(strings.NewReader("abc"))
		}) {
			return
		}
		if n != 0 || !isBroken(err) || isClosed(err) {
			c.t.Errorf("ReadFrom after the reader closed returned %d, %v; %s", n, err, wantBrokenPipe)
		}
	}
	if _, ok := c.w.(drainer); ok {
		var err error
		if !c.promptly("Drain after the reader closed", func() { err = c.drain(context.Background()) }) {
			return
		}
		if !isBroken(err) || isClosed(err) {
			c.t.Errorf("Drain of an empty pipe after the reader closed returned %v; %s", err, wantBrokenPipe)
		}
	}
}

func testBrokenPipeWakesBlockedWrite(c *check) {
	big := c.s.bigData()
	ch := c.readStart(big)
	if err := c.closeR(); err != nil {
		c.t.Fatalf("Close of the read end: %v", err)
	}
	r, ok := ended(c, ch, promptTime, fmt.Sprintf("a Write of %d bytes, blocked when the reader closed", len(big)))
	if !ok {
		return
	}
	if r.n < partK || r.n >= len(big) || !isBroken(r.err) || isClosed(r.err) {
		c.t.Fatalf("a Write of %d bytes, blocked when the reader closed after reading %d of them, returned %d, %v; "+
			"want the count it wrote (at least %d, fewer than %d) and an error: %s", len(big), partK, r.n, r.err, partK, len(big), wantBrokenPipe)
	}
}

func testUseAfterClose(c *check) {
	_, rdl := c.r.(readDeadliner)
	_, wdl := c.w.(writeDeadliner)
	// Asked while the ends are open: after Close the question fails.
	rNoDeadline, wNoDeadline := rdl && c.readDeadline() == nil, wdl && c.writeDeadline() == nil
	if err := c.closeW(); err != nil {
		c.t.Fatalf("Close of the write end: %v", err)
	}
	var n int
	var err error
	for _, p := range [][]byte{[]byte("x"), nil, {}} {
		what := fmt.Sprintf("Write(%#v) on a closed write end", p)
		if !c.promptly(what, func() { n, err = c.write(p) }) {
			return
		}
		if n != 0 || !isClosed(err) {
			c.t.Errorf("%s returned %d, %v; want 0 and an error matching os.ErrClosed", what, n, err)
		}
	}
	if wdl {
		c.closedDeadline("SetWriteDeadline on a closed write end", c.w, wNoDeadline, func(t time.Time) error {
			return c.w.(writeDeadliner).SetWriteDeadline(t)
		})
	}
	if rf, ok := c.w.(io.ReaderFrom); ok {
		var n int64
		if !c.promptly("ReadFrom on a closed write end", func() {
			defer c.track("ReadFrom", -1)()
			n, err = rf.ReadFrom(strings.NewReader("abc"))
		}) {
			return
		}
		if n != 0 || !isClosed(err) {
			c.t.Errorf("ReadFrom on a closed write end returned %d, %v; %s", n, err, wantClosed)
		}
	}
	if _, ok := c.w.(drainer); ok {
		if !c.promptly("Drain on a closed write end", func() { err = c.drain(context.Background()) }) {
			return
		}
		if !isClosed(err) {
			c.t.Errorf("Drain on a closed write end returned %v; %s", err, wantClosed)
		}
	}
	if err := c.closeR(); err != nil {
		c.t.Fatalf("Close of the read end: %v", err)
	}
	for _, p := range [][]byte{make([]byte, 1), nil, {}} {
		what := fmt.Sprintf("Read into %#v on a closed read end", p)
		if !c.promptly(what, func() { n, err = c.read(p) }) {
			return
		}
		if n != 0 || !isClosed(err) {
			c.t.Errorf("%s returned %d, %v; want 0 and an error matching os.ErrClosed", what, n, err)
		}
	}
	if rdl {
		c.closedDeadline("SetReadDeadline on a closed read end", c.r, rNoDeadline, func(t time.Time) error {
			return c.r.(readDeadliner).SetReadDeadline(t)
		})
	}
	if wt, ok := c.r.(io.WriterTo); ok {
		var n int64
		if !c.promptly("WriteTo on a closed read end", func() {
			defer c.track("WriteTo", -1)()
			n, err = wt.WriteTo(io.Discard)
		}) {
			return
		}
		if n != 0 || !isClosed(err) {
			c.t.Errorf("WriteTo on a closed read end returned %d, %v; %s", n, err, wantClosed)
		}
	}
}

func testCloseUnblocksRead(c *check) {
	// The Read that Close must end follows, in its goroutine, one that
	// takes a byte: the goroutine is then running, on a path through Read
	// it has just taken, when it signals.
	msg := []byte("x")
	sent := c.send(msg, false)
	first := make([]byte, 1)
	ch := goPending(func(ready chan<- struct{}) [2]result {
		var r [2]result
		if r[0].n, r[0].err = c.read(first); r[0].n != 1 || r[0].err != nil {
			signal(ready)
			return r
		}
		r[1].n, r[1].err = c.readReady(make([]byte, 1), ready)
		return r
	})
	c.sent(sent, msg)
	if err := c.closeR(); err != nil {
		c.t.Fatalf("Close of the read end: %v", err)
	}
	r, ok := ended(c, ch, promptTime, "a Read pending on an empty pipe when its end was closed")
	if !ok {
		return
	}
	if r[0].n != 1 || r[0].err != nil || first[0] != msg[0] {
		c.t.Fatalf("a Read of 1 byte after a Write of %q returned %d, %v (%q); want 1, nil", msg, r[0].n, r[0].err, first[:r[0].n])
	}
	if r[1].n != 0 || !isClosed(r[1].err) {
		c.t.Fatalf("a Read pending on an empty pipe when its end was closed returned %d, %v; %s", r[1].n, r[1].err, wantClosed)
	}
}

func testCloseUnblocksWrite(c *check) {
	big := c.s.bigData()
	ch := c.readStart(big)
	if err := c.closeW(); err != nil {
		c.t.Fatalf("Close of the write end: %v", err)
	}
	r, ok := ended(c, ch, promptTime, fmt.Sprintf("a Write of %d bytes, blocked when its end was closed", len(big)))
	if !ok {
		return
	}
	if r.n < partK || r.n >= len(big) || !isClosed(r.err) {
		c.t.Fatalf("a Write of %d bytes, blocked when its end was closed after the reader read %d of them, returned %d, %v; "+
			"want the count it wrote (at least %d, fewer than %d) and an error matching os.ErrClosed", len(big), partK, r.n, r.err, partK, len(big))
	}
	c.same(c.readAll("the rest of a Write cut short by Close"), big[partK:r.n], fmt.Sprintf("the rest of a Write cut short by Close when it had written %d bytes", r.n))
}

// closedDeadline checks that set, the SetReadDeadline or SetWriteDeadline
// of end called after end was closed, fails with an error matching
// os.ErrClosed, for a deadline in the future, in the past and the zero time;
// or with os.ErrNoDeadline too if noDeadline, when the end had none while
// open; or, if end is an *os.File, with the error a closed *os.File's
// setters return.
func (c *check) closedDeadline(what string, end any, noDeadline bool, set func(time.Time) error) {
	c.t.Helper()
	want := wantClosed
	if noDeadline {
		want += " (or, as the end has no deadlines, os.ErrNoDeadline)"
	}
	var fileErr error
	if _, ok := end.(*os.File); ok {
		fileErr = closedFileDeadlineError()
		want += fmt.Sprintf(" (or, as the end is an *os.File, %q)", fileErr)
	}
	for _, d := range []struct {
		name string
		t    time.Time
	}{
		{"a deadline ahead", time.Now().Add(longTime)},
		{"a deadline past", time.Now().Add(-time.Second)},
		{"the zero time", time.Time{}},
	} {
		err := set(d.t)
		ok := isClosed(err) ||
			(noDeadline && errors.Is(err, os.ErrNoDeadline)) ||
			(fileErr != nil && errors.Is(err, fileErr))
		if !ok {
			c.t.Errorf("%s, with %s, returned %v; %s", what, d.name, err, want)
		}
	}
}

// closedFileDeadlineError returns the error of SetReadDeadline on a closed
// *os.File, or nil if it cannot tell. The deadline setters of an *os.File
// return an internal error there (internal/poll.ErrFileClosing), not one
// matching os.ErrClosed as its other methods do; asking a closed file of its
// own pins down that very value, so that an end returning any other error,
// even one that reads the same, still fails.
func closedFileDeadlineError() error {
	r, w, err := os.Pipe()
	if err != nil {
		return nil
	}
	w.Close()
	r.Close()
	err = r.SetReadDeadline(time.Time{})
	if err == nil || isClosed(err) {
		return nil
	}
	return err
}

// closeAgain closes an end again and checks the result.
func (c *check) closeAgain(end string, close func() error) {
	c.t.Helper()
	var err error
	var panicked any
	func() {
		defer func() { panicked = recover() }()
		defer c.track("second Close of the "+end, -1)()
		err = close()
	}()
	if panicked != nil {
		c.t.Fatalf("a second Close of the %s panicked: %v", end, panicked)
	}
	if err != nil && !isClosed(err) {
		c.t.Errorf("a second Close of the %s returned %v; want nil or an error matching os.ErrClosed", end, err)
	}
}

func testCloseTwice(c *check) {
	if err := c.closeR(); err != nil {
		c.t.Fatalf("Close of the read end: %v", err)
	}
	c.closeAgain("read end", c.r.Close)
	// The second Close did nothing else: the writer is still open and sees
	// a broken pipe.
	var n int
	var err error
	if !c.promptly("a Write after the reader closed twice", func() { n, err = c.write([]byte("x")) }) {
		return
	}
	if n != 0 || !isBroken(err) || isClosed(err) {
		c.t.Errorf("a Write after the reader closed twice returned %d, %v; %s: closing the reader again must not touch the writer", n, err, wantBrokenPipe)
	}
	if err := c.closeW(); err != nil {
		c.t.Fatalf("Close of the write end: %v", err)
	}
	c.closeAgain("write end", c.w.Close)
	if !c.promptly("a Read after both ends closed twice", func() { n, err = c.read(make([]byte, 1)) }) {
		return
	}
	if n != 0 || !isClosed(err) {
		c.t.Errorf("a Read after both ends closed twice returned %d, %v; %s", n, err, wantClosed)
	}
}

func testCloseRace(c *check) {
	const loops = 1000
	var (
		mu    sync.Mutex
		errs  []string
		nils  = map[string]int{}
		start = make(chan struct{})
		wg    sync.WaitGroup
	)
	fail := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		if len(errs) < 5 {
			errs = append(errs, fmt.Sprintf(format, args...))
		}
	}
	for range 2 {
		goWG(&wg, func() {
			<-start
			buf := make([]byte, 64)
			for range loops {
				if n, err := c.read(buf); err != nil {
					if n != 0 || (err != io.EOF && !isClosed(err)) {
						fail("a Read racing with Close returned %d, %v; want bytes, io.EOF or an error matching os.ErrClosed", n, err)
					}
					return
				}
			}
		})
		goWG(&wg, func() {
			<-start
			buf := make([]byte, 64)
			for range loops {
				if _, err := c.write(buf); err != nil {
					if !isClosed(err) && !isBroken(err) {
						fail("a Write racing with Close returned %v; want nil, a broken pipe or an error matching os.ErrClosed", err)
					}
					return
				}
			}
		})
	}
	for _, end := range []struct {
		name  string
		close func() error
	}{{"read end", c.r.Close}, {"write end", c.w.Close}} {
		for range 2 {
			goWG(&wg, func() {
				<-start
				var err error
				func() {
					defer func() {
						if p := recover(); p != nil {
							err = fmt.Errorf("panic: %v", p)
						}
					}()
					defer c.track("Close of the "+end.name, -1)()
					err = end.close()
				}()
				switch {
				case err == nil:
					mu.Lock()
					nils[end.name]++
					mu.Unlock()
				case !isClosed(err):
					fail("a Close of the %s racing with Read, Write and another Close returned %v; want nil or an error matching os.ErrClosed", end.name, err)
				}
			})
		}
	}
	close(start)
	wg.Wait()
	for _, e := range errs {
		c.t.Error(e)
	}
	for _, end := range []string{"read end", "write end"} {
		if nils[end] == 0 {
			c.t.Errorf("neither of two concurrent Closes of the %s returned nil; want the first to succeed", end)
		}
	}
}

func testReadDeadline(c *check) {
	c.needReadDeadline()
	c.buffered() // before the deadlines get in its way
	buf := make([]byte, 64)

	// A deadline in the future passes.
	c.setReadDeadline(time.Now().Add(tick))
	r, ok := ended(c, c.goRead(buf), tick+promptTime, fmt.Sprintf("a Read of an empty pipe with a deadline %v ahead", tick))
	if !ok {
		return
	}
	if r.n != 0 || !isTimeout(r.err) {
		c.t.Fatalf("a Read of an empty pipe with a deadline %v ahead returned %d, %v; %s", tick, r.n, r.err, wantTimeout)
	}

	// A deadline in the past fails at once, even with bytes ready: the
	// second byte of a Write whose first one was read.
	c.setReadDeadline(time.Time{})
	msg := []byte("xy")
	ch := c.send(msg, false)
	c.same(c.readFull(1, "the first byte of a Write"), msg[:1], "the first byte of a Write")
	c.setReadDeadline(time.Now().Add(-time.Second))
	var n int
	var err error
	if !c.promptly("a Read with a deadline in the past", func() { n, err = c.read(buf) }) {
		return
	}
	if n != 0 || !isTimeout(err) {
		c.t.Fatalf("a Read with a deadline in the past, with a byte ready, returned %d, %v; want 0 at once and an error: %s", n, err, timeoutError)
	}

	// The zero time clears it.
	c.setReadDeadline(time.Time{})
	c.same(c.readFull(1, "after clearing the read deadline"), msg[1:], "the byte read after clearing the read deadline")
	c.sent(ch, msg)

	// A deadline set while a Read is blocked ends it, whether in the
	// future or the past.
	for _, d := range []time.Duration{tick, -time.Second} {
		ch := c.goRead(buf)
		c.setReadDeadline(time.Now().Add(d))
		r, ok := ended(c, ch, max(d, 0)+promptTime, fmt.Sprintf("a Read blocked on an empty pipe when its deadline was set %v from now", d))
		if !ok {
			return
		}
		if r.n != 0 || !isTimeout(r.err) {
			c.t.Fatalf("a Read blocked on an empty pipe when its deadline was set %v from now returned %d, %v; %s", d, r.n, r.err, wantTimeout)
		}
		c.setReadDeadline(time.Time{})
	}

	// Timeouts lose nothing.
	ch = c.send([]byte("z"), false)
	c.same(c.readFull(1, "after read deadlines passed"), []byte("z"), "a byte read after read deadlines passed")
	c.sent(ch, []byte("z"))
}

func testWriteDeadline(c *check) {
	c.needWriteDeadline()
	c.buffered() // before the deadlines get in its way

	// A deadline in the past fails at once, even with room.
	c.setWriteDeadline(time.Now().Add(-time.Second))
	var n int
	var err error
	if !c.promptly("a Write with a deadline in the past", func() { n, err = c.write([]byte("x")) }) {
		return
	}
	if n != 0 || !isTimeout(err) {
		c.t.Fatalf("a Write with a deadline in the past returned %d, %v; want 0 at once and an error: %s", n, err, timeoutError)
	}

	// The zero time clears it.
	c.setWriteDeadline(time.Time{})
	ch := c.send([]byte("x"), false)
	c.same(c.readFull(1, "a byte written after clearing the write deadline"), []byte("x"), "a byte written after clearing the write deadline")
	c.sent(ch, []byte("x"))

	// A deadline in the future passes, after the Write wrote what fit.
	big := c.s.bigData()
	c.setWriteDeadline(time.Now().Add(tick))
	r, ok := ended(c, c.goWrite(big), tick+promptTime, fmt.Sprintf("with nobody reading, a Write of %d bytes with a deadline %v ahead", len(big), tick))
	if !ok {
		return
	}
	if r.n >= len(big) || !isTimeout(r.err) {
		c.t.Fatalf("with nobody reading, a Write of %d bytes with a deadline %v ahead returned %d, %v; want fewer bytes and an error: %s",
			len(big), tick, r.n, r.err, timeoutError)
	}
	c.setWriteDeadline(time.Time{})
	c.same(c.readFull(r.n, "what a Write wrote before its deadline"), big[:r.n], "what a Write wrote before its deadline")

	// A deadline set while a Write is blocked ends it, whether in the
	// future or the past. The Write is blocked: the reader took only part
	// of it.
	for _, d := range []time.Duration{tick, -time.Second} {
		ch := c.readStart(big)
		c.setWriteDeadline(time.Now().Add(d))
		r, ok := ended(c, ch, max(d, 0)+promptTime, fmt.Sprintf("a Write of %d bytes, blocked when its deadline was set %v from now", len(big), d))
		if !ok {
			return
		}
		if r.n < partK || r.n >= len(big) || !isTimeout(r.err) {
			c.t.Fatalf("a Write of %d bytes, blocked after the reader took %d, when its deadline was set %v from now, returned %d, %v; "+
				"want the count it wrote (at least %d, fewer than %d) and an error: %s", len(big), partK, d, r.n, r.err, partK, len(big), timeoutError)
		}
		c.setWriteDeadline(time.Time{})
		c.same(c.readFull(r.n-partK, "the rest of a Write cut short by its deadline"), big[partK:r.n], "the rest of a Write cut short by its deadline")
	}
}

func testDeadlinesIndependent(c *check) {
	c.needReadDeadline()
	c.needWriteDeadline()
	c.buffered() // before the deadlines get in its way

	// A read deadline does not bound writes.
	c.setReadDeadline(time.Now().Add(-time.Second))
	ch := c.send([]byte("x"), false)
	c.setReadDeadline(time.Time{})
	c.same(c.readFull(1, "a byte written while the read deadline had passed"), []byte("x"), "a byte written while the read deadline had passed")
	c.sent(ch, []byte("x"))

	// A write deadline does not bound reads: a Read waits for EOF.
	c.setWriteDeadline(time.Now().Add(-time.Second))
	rch := c.goRead(make([]byte, 1))
	if err := c.closeW(); err != nil {
		c.t.Fatalf("Close of the write end: %v", err)
	}
	if r := <-rch; r.n != 0 || r.err != io.EOF {
		c.t.Fatalf("a Read, while the write deadline had passed, returned %d, %v when the writer closed; want 0, io.EOF", r.n, r.err)
	}
}

func testReadBufferNotRetained(c *check) {
	const sentinel = 0xAA
	fill := func(n int) []byte { return bytes.Repeat([]byte{sentinel}, n) }

	first := []byte("first")
	a := fill(64)
	ch := c.send(first, false)
	if n, err := c.read(a); n != len(first) || err != nil {
		c.t.Fatalf("a Read after a Write of %q returned %d, %v; want %d, nil", first, n, err, len(first))
	}
	c.sent(ch, first)

	b := fill(64)
	if c.readDeadline() != nil {
		c.setReadDeadline(time.Now().Add(tick))
		if n, err := c.read(b); n != 0 || !isTimeout(err) {
			c.t.Fatalf("a Read of an empty pipe with a deadline %v ahead returned %d, %v; %s", tick, n, err, wantTimeout)
		}
		c.setReadDeadline(time.Time{})
	}

	second := []byte("second")
	ch = c.send(second, true)
	c.same(c.readAll("a second Write"), second, "a second Write")
	c.sent(ch, second)
	c.same(a, append(slices.Clone(first), fill(64-len(first))...), "the buffer of a first Read, after later Writes")
	c.same(b, fill(64), "the buffer of a Read that timed out, after later Writes")
}

func testWriteBufferNotRetained(c *check) {
	orig := c.s.bigData()
	big := slices.Clone(orig)
	ch := c.readStart(big)
	deadline := c.writeDeadline() != nil
	if deadline {
		c.setWriteDeadline(time.Now())
	} else if err := c.closeW(); err != nil {
		c.t.Fatalf("Close of the write end: %v", err)
	}
	r := <-ch
	if r.err == nil {
		c.t.Fatalf("a Write of %d bytes cut short returned %d, nil; want an error", len(big), r.n)
	}
	if r.n < partK || r.n >= len(big) {
		c.t.Fatalf("a Write of %d bytes cut short after the reader read %d of its bytes returned %d, %v; "+
			"want the count of bytes it wrote, at least %d and fewer than %d", len(big), partK, r.n, r.err, partK, len(big))
	}
	// The Write returned: changing its buffer changes nothing in the pipe.
	clear(big)
	want := orig[partK:r.n]
	if deadline {
		c.setWriteDeadline(time.Time{})
		end := []byte("end")
		want = append(slices.Clone(want), end...)
		ch := make(chan result, 1)
		go func() {
			n, err := c.write(end)
			if err == nil {
				err = c.closeW()
			}
			ch <- result{n, err}
		}()
		defer c.sent(ch, end)
	}
	c.same(c.readAll("what follows a Write whose buffer changed after it returned"), want,
		"what follows a Write whose buffer changed after it returned")
}

// goWG runs f in a new goroutine counted by wg.
func goWG(wg *sync.WaitGroup, f func()) {
	wg.Add(1)
	go func() {
		defer wg.Done()
		f()
	}()
}

// randomSize returns a size from 1 to 65536, about as many of each power of
// two.
func randomSize(rng *rand.Rand) int {
	return 1 + rng.IntN(1<<rng.IntN(17))
}

func testRandomMegabyte(c *check) {
	data := pattern(1<<20, 9)
	ch := make(chan error, 1)
	go func() {
		rng := rand.New(rand.NewPCG(1, 2))
		for p := data; len(p) > 0; {
			n := min(len(p), randomSize(rng))
			if m, err := c.write(p[:n]); err != nil {
				ch <- fmt.Errorf("Write of %d bytes returned %d, %v", n, m, err)
				return
			}
			p = p[n:]
		}
		ch <- c.closeW()
	}()
	rng := rand.New(rand.NewPCG(3, 4))
	got := make([]byte, 0, len(data))
	buf := make([]byte, 1<<16)
	for {
		n, err := c.read(buf[:randomSize(rng)])
		got = append(got, buf[:n]...)
		if err == io.EOF {
			break
		}
		if err != nil {
			c.t.Fatalf("Read after %d bytes: %v", len(got), err)
		}
	}
	if err := <-ch; err != nil {
		c.t.Fatalf("writing: %v", err)
	}
	c.same(got, data, "a megabyte written and read in random sizes")
}

// chunkReader returns its data in random chunks, the last one with io.EOF,
// as an io.Reader may.
type chunkReader struct {
	data []byte
	rng  *rand.Rand
}

func (r *chunkReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), randomSize(r.rng))], r.data)
	r.data = r.data[n:]
	if len(r.data) == 0 {
		return n, io.EOF
	}
	return n, nil
}

// refusedError is the error of a refusingWriter.
type refusedError struct{}

func (refusedError) Error() string { return "the writer takes no more bytes" }

// refusingWriter takes the first limit bytes written to it, then refuses
// the rest with a refusedError, keeping the first byte it refused.
type refusingWriter struct {
	limit   int
	got     bytes.Buffer
	refused []byte
}

func (w *refusingWriter) Write(p []byte) (int, error) {
	n := min(len(p), w.limit-w.got.Len())
	w.got.Write(p[:n])
	if n < len(p) {
		if w.refused == nil {
			w.refused = []byte{p[n]}
		}
		return n, refusedError{}
	}
	return n, nil
}

func testReadFromWriteTo(c *check) {
	rf, okRF := c.w.(io.ReaderFrom)
	wt, okWT := c.r.(io.WriterTo)
	if !okRF && !okWT {
		c.t.Skipf("neither the write end, a %T, is an io.ReaderFrom nor the read end, a %T, an io.WriterTo", c.w, c.r)
	}
	data := pattern(1<<20, 10)
	ch := make(chan error, 1)
	go func() {
		var n int64
		var err error
		what := "ReadFrom"
		if okRF {
			func() {
				defer c.track("ReadFrom", len(data))()
				n, err = rf.ReadFrom(&chunkReader{data, rand.New(rand.NewPCG(5, 6))})
			}()
		} else {
			what = "Write"
			var m int
			m, err = c.write(data)
			n = int64(m)
		}
		// Closed in any case, so that the reader gets to EOF.
		cerr := c.closeW()
		if n != int64(len(data)) || err != nil {
			ch <- fmt.Errorf("%s of %d bytes returned %d, %v; want %[2]d, nil", what, len(data), n, err)
			return
		}
		ch <- cerr
	}()
	if !okWT {
		got := c.readAll("a megabyte copied with ReadFrom")
		if err := <-ch; err != nil {
			c.t.Fatal(err)
		}
		c.same(got, data, "a megabyte copied with ReadFrom")
		return
	}
	// WriteTo copies into a writer that refuses the last byte: it must
	// return the count the writer took, and its error.
	dst := &refusingWriter{limit: len(data) - 1}
	var n int64
	var err error
	func() {
		defer c.track("WriteTo", -1)()
		n, err = wt.WriteTo(dst)
	}()
	if err != nil && !errors.Is(err, refusedError{}) {
		c.t.Fatalf("WriteTo returned %d, %v, having written %d bytes; want it to copy until its writer refuses the last byte",
			n, err, dst.got.Len())
	}
	if werr := <-ch; werr != nil {
		c.t.Fatal(werr)
	}
	c.same(append(dst.got.Bytes(), dst.refused...), data, "a megabyte copied with ReadFrom and WriteTo")
	if n != int64(dst.got.Len()) || !errors.Is(err, refusedError{}) {
		c.t.Fatalf("WriteTo into a writer that took %d bytes and refused the next returned %d, %v; want %d and the writer's error, %q",
			dst.got.Len(), n, err, dst.got.Len(), refusedError{})
	}
}

func testDrain(c *check) {
	if _, ok := c.w.(drainer); !ok {
		c.t.Skipf("the write end, a %T, has no Drain(context.Context) error method", c.w)
	}
	bg := context.Background()
	var (
		err error
		ok  bool
	)
	if !c.promptly("Drain of an empty pipe", func() { err = c.drain(bg) }) {
		return
	}
	if err != nil {
		c.t.Fatalf("Drain of an empty pipe returned %v; want nil", err)
	}
	if !c.buffered() {
		msg := []byte("0123456789")
		ch := c.send(msg, false)
		c.same(c.readFull(len(msg), "bytes to drain"), msg, "bytes to drain")
		c.sent(ch, msg)
		if !c.promptly("Drain after the reader read everything", func() { err = c.drain(bg) }) {
			return
		}
		if err != nil {
			c.t.Fatalf("Drain after the reader read everything returned %v; want nil", err)
		}
		c.t.Logf("the pipe holds no bytes with nobody reading: Drain waiting for unread bytes not checked")
		return
	}

	// With bytes unread, Drain waits: here until its context ends.
	msg := []byte("0123456789")
	c.sent(c.send(msg, false), msg)
	ctx, cancel := context.WithTimeout(bg, tick)
	err = c.drain(ctx)
	cancel()
	if err != context.DeadlineExceeded {
		c.t.Fatalf("Drain with %d bytes unread and a context ending %v later returned %v; want context.DeadlineExceeded", len(msg), tick, err)
	}

	// It returns once the reader has read them.
	ch := c.goDrain(bg)
	c.same(c.readFull(len(msg), "bytes to drain"), msg, "bytes to drain")
	if err, ok = ended(c, ch, promptTime, "Drain, when the reader read everything"); !ok {
		return
	}
	if err != nil {
		c.t.Fatalf("Drain returned %v when the reader read everything; want nil", err)
	}

	// A context cancelled while Drain waits ends it.
	c.sent(c.send([]byte("x"), false), []byte("x"))
	ctx, cancel = context.WithCancel(bg)
	ch = c.goDrain(ctx)
	cancel()
	if err, ok = ended(c, ch, promptTime, "Drain with a byte unread, when its context was cancelled"); !ok {
		return
	}
	if err != context.Canceled {
		c.t.Fatalf("Drain with a byte unread returned %v when its context was cancelled; want context.Canceled", err)
	}

	// Closing the writer ends a Drain waiting on it.
	ch = c.goDrain(bg)
	if err := c.closeW(); err != nil {
		c.t.Fatalf("Close of the write end: %v", err)
	}
	if err, ok = ended(c, ch, promptTime, "Drain with a byte unread, when the writer closed"); !ok {
		return
	}
	if !isClosed(err) {
		c.t.Fatalf("Drain with a byte unread returned %v when the writer closed; %s", err, wantClosed)
	}
}
