package pipetest

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anonpipe/anonpipe/anonpipe"
)

// MakeConn makes a new connection for [TestConn], which calls it at the
// start of each sub-test. c1 and c2 must be the two ends of one connection,
// open, with nothing in flight: what is written to one is read from the
// other. stop, which may be nil, releases whatever else the connection
// holds, such as a listener or a child process. A non-nil err fails the
// sub-test; stop is then still called if it is not nil.
//
// When the sub-test ends, or earlier when its watchdog fires, TestConn
// closes c1 and c2, ignoring the errors, and then calls stop, once.
type MakeConn func() (c1, c2 net.Conn, stop func(), err error)

// Times the suite uses. Only connWatchdogTime and connPromptTime bound
// calls that should return.
const (
	// connWatchdogTime is how long a sub-test may run before TestConn takes
	// it as hung, unless the test's deadline is near: see TestConn.
	connWatchdogTime = 10 * time.Second
	connMinWatchdog  = 2 * time.Second
	// connPromptTime is how long a call that must return "at once" may take.
	connPromptTime = time.Second
	// connRacyTime is the deadline of the racing calls of RacyRead and
	// RacyWrite, renewed after each timeout, as nettest's.
	connRacyTime = time.Millisecond
	// connFutureTime is the deadline of FutureTimeout.
	connFutureTime = 100 * time.Millisecond
	// connBufferedTime is how long a small Write, with nobody reading, may
	// take for the check to count on the connection buffering it.
	connBufferedTime = 100 * time.Millisecond
)

const (
	// connBigWrite is the size of a Write that no connection under test
	// holds with nobody reading.
	connBigWrite = 8 << 20
	// connPartK is how many bytes of a big Write the peer reads to know
	// that the Write is under way.
	connPartK = 1000
	// connMiB is what BasicIO sends each way.
	connMiB = 1 << 20
	// connRacers is how many goroutines race in RacyRead, RacyWrite and
	// each round of ConcurrentMethods.
	connRacers = 10
)

// TestConn checks that the connections mc makes behave as a connection of
// two pipes does, such as [ConnPipe]'s, anonpipe's or a Unix socketpair's,
// with a sub-test of t for each behaviour, each on a new connection. It
// checks what golang.org/x/net/nettest.TestConn does, under its names
// (BasicIO, PingPong, RacyRead, RacyWrite, ReadTimeout, WriteTimeout,
// PastTimeout, PresentTimeout, FutureTimeout, CloseTimeout,
// ConcurrentMethods), more strictly: no byte is lost, duplicated, reordered
// or read from a buffer after its call returned. Then what a pipe does on
// Close: EOFAfterClose, CloseUnblocksPeerRead and CloseUnblocksPeerWrite
// (the peer reads the bytes, then io.EOF; its Writes fail with a broken
// pipe, matching anonpipe.ErrBrokenPipe or syscall.EPIPE); UseAfterClose
// (errors matching net.ErrClosed or os.ErrClosed); and half-close:
// CloseWrite, CloseRead, CloseReadBreaksPeer. A timeout must match
// os.ErrDeadlineExceeded and be a net.Error whose Timeout is true.
//
// A sub-test that needs deadlines skips, saying why, if a setter returns
// os.ErrNoDeadline; one that needs CloseRead() error or CloseWrite() error
// skips if c1 lacks it; CloseReadBreaksPeer skips for *net.UnixConn and
// *net.TCPConn, whose CloseRead leaves a waiting peer Write blocked. Each
// sub-test has a watchdog, as in [TestPipe]. Run it with -race.
func TestConn(t *testing.T, mc MakeConn) {
	t.Helper()
	if mc == nil {
		t.Fatal("pipetest.TestConn: nil MakeConn")
	}
	s := &connSuite{mc: mc, watchdog: connWatchdogTime}
	if d, ok := t.Deadline(); ok {
		s.watchdog = max(min(s.watchdog, time.Until(d)/4), connMinWatchdog)
	}
	s.run(t, "BasicIO", connBasicIO)
	s.run(t, "PingPong", connPingPong)
	s.run(t, "RacyRead", connRacyRead)
	s.run(t, "RacyWrite", connRacyWrite)
	s.run(t, "ReadTimeout", connReadTimeout)
	s.run(t, "WriteTimeout", connWriteTimeout)
	s.run(t, "PastTimeout", connPastTimeout)
	s.run(t, "PresentTimeout", connPresentTimeout)
	s.run(t, "FutureTimeout", connFutureTimeout)
	s.run(t, "CloseTimeout", connCloseTimeout)
	s.run(t, "ConcurrentMethods", connConcurrentMethods)
	s.run(t, "EOFAfterClose", connEOFAfterClose)
	s.run(t, "CloseUnblocksPeerRead", connCloseUnblocksPeerRead)
	s.run(t, "CloseUnblocksPeerWrite", connCloseUnblocksPeerWrite)
	s.run(t, "UseAfterClose", connUseAfterClose)
	s.run(t, "CloseWrite", connCloseWrite)
	s.run(t, "CloseRead", connCloseRead)
	s.run(t, "CloseReadBreaksPeer", connCloseReadBreaksPeer)
}

// connSuite is the state of one TestConn call.
type connSuite struct {
	mc       MakeConn
	watchdog time.Duration // the grace period is half of it

	// big is the data of big Writes, made once; sub-tests run one at a
	// time, but a hung one's goroutines may still read it.
	bigOnce sync.Once
	big     []byte
}

func (s *connSuite) bigData() []byte {
	s.bigOnce.Do(func() {
		// Random bytes repeated with a prime period, which no buffer size
		// divides: as good as all random for the first megabyte the checks
		// read, and made far faster under -race.
		base := connPattern(65521, 3)
		s.big = make([]byte, connBigWrite)
		for i := 0; i < len(s.big); i += len(base) {
			copy(s.big[i:], base)
		}
	})
	return s.big
}

// run runs f as the sub-test name of t, on a new connection, under a
// watchdog.
func (s *connSuite) run(t *testing.T, name string, f func(c *connCheck)) {
	t.Run(name, func(t *testing.T) {
		c1, c2, stop, err := s.mc()
		if err != nil {
			if stop != nil {
				stop()
			}
			t.Fatalf("MakeConn: %v", err)
		}
		c := &connCheck{t: t, s: s, stop: stop, calls: map[*connCall]struct{}{}}
		c.e1 = &connEnd{c: c, name: "c1", conn: c1}
		c.e2 = &connEnd{c: c, name: "c2", conn: c2}
		t.Cleanup(c.finish)
		if c1 == nil || c2 == nil {
			t.Fatalf("MakeConn returned a nil connection (c1: %v, c2: %v) and no error", c1, c2)
		}
		c.mu.Lock()
		c.watchdog = time.AfterFunc(s.watchdog, c.fire)
		c.mu.Unlock()
		f(c)
	})
}

// connCheck is one sub-test on one connection.
type connCheck struct {
	t      *testing.T
	s      *connSuite
	e1, e2 *connEnd
	stop   func()

	releaseOnce sync.Once

	mu       sync.Mutex
	watchdog *time.Timer
	finished bool // t must not be used from other goroutines any more
	calls    map[*connCall]struct{}
}

// connEnd is one end of the connection under test, whose calls the check
// tracks for the watchdog's message.
type connEnd struct {
	c    *connCheck
	name string // c1 or c2
	conn net.Conn
}

// connCall is a call pending on one of the ends.
type connCall struct {
	what  string
	start time.Time
}

// connResult is what a Read or Write returned, and when.
type connResult struct {
	n   int
	err error
	at  time.Time
}

// finish ends the sub-test: it stops the watchdog and releases the ends.
func (c *connCheck) finish() {
	c.mu.Lock()
	c.finished = true
	if c.watchdog != nil {
		c.watchdog.Stop()
	}
	c.mu.Unlock()
	c.release()
}

// release closes both ends and calls stop, once.
func (c *connCheck) release() {
	c.releaseOnce.Do(func() {
		for _, e := range []*connEnd{c.e1, c.e2} {
			if e != nil && e.conn != nil {
				e.conn.Close()
			}
		}
		if c.stop != nil {
			c.stop()
		}
	})
}

// fire is the watchdog: the sub-test has run for its time.
func (c *connCheck) fire() {
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

// pendingLocked describes the pending calls, oldest first. c.mu is held.
func (c *connCheck) pendingLocked() string {
	if len(c.calls) == 0 {
		return "no call on the ends"
	}
	list := make([]*connCall, 0, len(c.calls))
	for k := range c.calls {
		list = append(list, k)
	}
	slices.SortFunc(list, func(a, b *connCall) int { return a.start.Compare(b.start) })
	s := make([]string, 0, len(list))
	for _, k := range list {
		s = append(s, fmt.Sprintf("%s for %v", k.what, time.Since(k.start).Round(time.Millisecond)))
	}
	return strings.Join(s, ", ")
}

// errorf fails the sub-test from any goroutine, unless it has ended.
func (c *connCheck) errorf(format string, args ...any) {
	c.t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.finished {
		c.t.Errorf(format, args...)
	}
}

// track records a call as pending until the returned function is called.
func (e *connEnd) track(what string) func() {
	c := e.c
	k := &connCall{what: e.name + "." + what, start: time.Now()}
	c.mu.Lock()
	c.calls[k] = struct{}{}
	c.mu.Unlock()
	return func() {
		c.mu.Lock()
		delete(c.calls, k)
		c.mu.Unlock()
	}
}

func (e *connEnd) read(p []byte) (int, error) { return e.readReady(p, nil) }

// readReady is read, closing ready, unless it is nil, just before the
// Read: see connGo.
func (e *connEnd) readReady(p []byte, ready chan<- struct{}) (int, error) {
	defer e.track(fmt.Sprintf("Read of %d bytes", len(p)))()
	connSignal(ready)
	n, err := e.conn.Read(p)
	if n < 0 || n > len(p) {
		e.c.errorf("%s.Read of %d bytes returned %d, %v: a count outside 0..len(p)", e.name, len(p), n, err)
		n = max(0, min(n, len(p)))
	}
	return n, err
}

func (e *connEnd) write(p []byte) (int, error) { return e.writeReady(p, nil) }

// writeReady is write, closing ready, unless it is nil, just before the
// Write: see connGo.
func (e *connEnd) writeReady(p []byte, ready chan<- struct{}) (int, error) {
	defer e.track(fmt.Sprintf("Write of %d bytes", len(p)))()
	connSignal(ready)
	n, err := e.conn.Write(p)
	switch {
	case n < 0 || n > len(p):
		e.c.errorf("%s.Write of %d bytes returned %d, %v: a count outside 0..len(p)", e.name, len(p), n, err)
		n = max(0, min(n, len(p)))
	case n < len(p) && err == nil:
		e.c.errorf("%s.Write of %d bytes returned %d, nil: a Write that writes less than asked must return an error",
			e.name, len(p), n)
	}
	return n, err
}

func (e *connEnd) close() error {
	defer e.track("Close")()
	return e.conn.Close()
}

// goRead reads into p in a new goroutine, as connGo does.
func (e *connEnd) goRead(p []byte) <-chan connResult {
	return connGo(func(ready chan<- struct{}) connResult {
		n, err := e.readReady(p, ready)
		return connResult{n, err, time.Now()}
	})
}

// goWrite writes p in a new goroutine, as connGo does.
func (e *connEnd) goWrite(p []byte) <-chan connResult {
	return connGo(func(ready chan<- struct{}) connResult {
		n, err := e.writeReady(p, ready)
		return connResult{n, err, time.Now()}
	})
}

// connGo runs call in a new goroutine, whose result comes on the returned
// channel, and returns once call closes ready, which it does just before it
// calls the connection's method. The goroutine runs on into the method
// while the caller wakes up, so the call is almost always in progress when
// the caller goes on to end it (with Close or a deadline); when it is not,
// the check tests a call made after, which a conforming connection passes
// too.
func connGo[T any](call func(ready chan<- struct{}) T) <-chan T {
	ready := make(chan struct{})
	ch := make(chan T, 1)
	go func() { ch <- call(ready) }()
	<-ready
	return ch
}

func connSignal(ready chan<- struct{}) {
	if ready != nil {
		close(ready)
	}
}

// connWithin waits for the result of a call that must come within d. If it
// does not, connWithin fails the sub-test naming what, releases the ends to
// set the call free, waits for it and returns false.
func connWithin[T any](c *connCheck, ch <-chan T, d time.Duration, what string) (T, bool) {
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

// promptly runs f, which must return at once, and stops the sub-test if it
// does not.
func (c *connCheck) promptly(what string, f func()) {
	c.t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	if _, ok := connWithin(c, done, connPromptTime, what+" did not return at once"); !ok {
		c.t.FailNow()
	}
}

// readFull reads exactly n bytes from e, or stops the sub-test.
func (e *connEnd) readFull(n int, what string) []byte {
	e.c.t.Helper()
	b := make([]byte, n)
	m, err := io.ReadFull(connReadFunc(e.read), b)
	if err != nil {
		e.c.t.Fatalf("%s reading %s: got %d of %d bytes, then %v", e.name, what, m, n, err)
	}
	return b
}

// readToEOF reads from e until a Read fails, which must be with io.EOF
// itself and at once, and returns the bytes.
func (e *connEnd) readToEOF(what string) []byte {
	e.c.t.Helper()
	var got []byte
	var err error
	e.c.promptly(e.name+" reading "+what+" to EOF", func() {
		buf := make([]byte, 1024)
		for err == nil {
			var n int
			n, err = e.read(buf)
			got = append(got, buf[:n]...)
		}
	})
	if err != io.EOF {
		e.c.t.Fatalf("%s reading %s to EOF: got %d bytes, then %v; want io.EOF", e.name, what, len(got), err)
	}
	return got
}

// expectEOF checks that a Read of e returns 0, io.EOF at once.
func (e *connEnd) expectEOF(what string) {
	e.c.t.Helper()
	var n int
	var err error
	e.c.promptly(e.name+".Read "+what, func() { n, err = e.read(make([]byte, 16)) })
	if n != 0 || err != io.EOF {
		e.c.t.Fatalf("%s.Read %s returned %d, %v; want 0, io.EOF", e.name, what, n, err)
	}
}

// send writes p from e in a new goroutine, and has to read it: with a
// synchronous connection the Write returns only once the bytes are read.
func (e *connEnd) send(to *connEnd, p []byte, what string) {
	e.c.t.Helper()
	ch := e.goWrite(p)
	connSame(e.c, to.readFull(len(p), what), p, what)
	r, ok := connWithin(e.c, ch, connPromptTime, e.name+".Write of "+what+", read whole by "+to.name)
	if !ok {
		e.c.t.FailNow()
	}
	if r.n != len(p) || r.err != nil {
		e.c.t.Fatalf("%s.Write of %s (%d bytes) returned %d, %v; want %d, nil", e.name, what, len(p), r.n, r.err, len(p))
	}
}

// sendThenClose writes p from e, closes it with closeFn and returns what
// reads to EOF. If the connection takes p with nobody reading, e closes with
// p unread, to show that closing delivers the bytes in flight; if not (or
// not within connBufferedTime), to reads p first.
func (e *connEnd) sendThenClose(to *connEnd, p []byte, closeName string, closeFn func() error) []byte {
	c := e.c
	c.t.Helper()
	ch := e.goWrite(p)
	closeIt := func() {
		c.t.Helper()
		var err error
		c.promptly(e.name+"."+closeName, func() { err = closeFn() })
		if err != nil {
			c.t.Fatalf("%s.%s: %v", e.name, closeName, err)
		}
	}
	checkWrite := func(r connResult) {
		c.t.Helper()
		if r.n != len(p) || r.err != nil {
			c.t.Fatalf("%s.Write of %d bytes returned %d, %v; want %d, nil", e.name, len(p), r.n, r.err, len(p))
		}
	}
	tm := time.NewTimer(connBufferedTime)
	defer tm.Stop()
	select {
	case r := <-ch: // buffered
		checkWrite(r)
		closeIt()
		return to.readToEOF("bytes written before " + e.name + "." + closeName)
	case <-tm.C: // synchronous, or slow: read first
		got := to.readFull(len(p), "bytes written before "+e.name+"."+closeName)
		r, ok := connWithin(c, ch, connPromptTime, e.name+".Write, once "+to.name+" read its bytes")
		if !ok {
			c.t.FailNow()
		}
		checkWrite(r)
		closeIt()
		return append(got, to.readToEOF("what follows the bytes written before "+e.name+"."+closeName)...)
	}
}

// startBigWrite starts a Write of big data from e, which the connection
// cannot hold, and has to read the first connPartK bytes of it. The Write
// is then blocked, its result to come on the returned channel; startBigWrite
// stops the sub-test if it returns before, as nothing has cut it short.
func (e *connEnd) startBigWrite(to *connEnd) <-chan connResult {
	c := e.c
	c.t.Helper()
	big := c.s.bigData()
	ch := e.goWrite(big)
	got := make(chan connResult, 1)
	b := make([]byte, connPartK)
	go func() {
		n, err := io.ReadFull(connReadFunc(to.read), b)
		got <- connResult{n: n, err: err}
	}()
	select {
	case r := <-got:
		if r.err != nil {
			c.t.Fatalf("%s reading the start of a big Write from %s: got %d of %d bytes, then %v",
				to.name, e.name, r.n, connPartK, r.err)
		}
		connSame(c, b, big[:connPartK], "the start of a big Write")
		return ch
	case r := <-ch:
		c.t.Fatalf("with nobody reading, %s.Write of %d bytes returned %d, %v before %s read %d bytes of it; "+
			"want it to block once the connection is full", e.name, len(big), r.n, r.err, to.name, connPartK)
		return nil
	}
}

// roundTrip sends a message each way, which must arrive as sent.
func (c *connCheck) roundTrip(what string) {
	c.t.Helper()
	c.e1.send(c.e2, []byte("ping "+what), "a message from c1 "+what)
	c.e2.send(c.e1, []byte("pong "+what), "a message from c2 "+what)
}

// echo copies what e reads back to e's peer, in a new goroutine, until a
// Read or Write fails: a helper, which checks nothing.
func (e *connEnd) echo() {
	go func() {
		buf := make([]byte, 1024)
		for {
			n, err := e.read(buf)
			if n > 0 {
				if _, werr := e.write(buf[:n]); werr != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	}()
}

// discard reads and drops what e reads, in a new goroutine, until a Read
// fails.
func (e *connEnd) discard() {
	go func() {
		buf := make([]byte, 32<<10)
		for {
			if _, err := e.read(buf); err != nil {
				return
			}
		}
	}()
}

// flood writes to e, in a new goroutine, until a Write fails.
func (e *connEnd) flood() {
	go func() {
		p := connPattern(32<<10, 5)
		for {
			if _, err := e.write(p); err != nil {
				return
			}
		}
	}()
}

type connReadFunc func([]byte) (int, error)

func (f connReadFunc) Read(p []byte) (int, error) { return f(p) }

// connSame stops the sub-test unless got equals want.
func connSame(c *connCheck, got, want []byte, what string) {
	c.t.Helper()
	if i := connDiffer(got, want); i >= 0 {
		c.t.Fatalf("%s: got %d bytes, want %d; they differ from byte %d on", what, len(got), len(want), i)
	}
}

// connDiffer returns the index of the first byte where got and want
// differ, or where one ends, or -1 if they are equal.
func connDiffer(got, want []byte) int {
	if bytes.Equal(got, want) {
		return -1
	}
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	return i
}

// needDeadlines skips the sub-test unless c1 has deadlines.
func (c *connCheck) needDeadlines() {
	c.t.Helper()
	conn := c.e1.conn
	for _, set := range []struct {
		name string
		f    func(time.Time) error
	}{{"SetReadDeadline", conn.SetReadDeadline}, {"SetWriteDeadline", conn.SetWriteDeadline}} {
		err := set.f(time.Time{})
		if errors.Is(err, os.ErrNoDeadline) {
			c.t.Skipf("c1, a %T, does not support deadlines: %s returns %v", conn, set.name, err)
		}
		if err != nil {
			c.t.Fatalf("c1.%s(zero time), on a new connection: %v", set.name, err)
		}
	}
}

// set calls one of e's deadline setters, named name, or stops the sub-test.
func (e *connEnd) set(name string, f func(time.Time) error, t time.Time) {
	e.c.t.Helper()
	if err := f(t); err != nil {
		e.c.t.Fatalf("%s.%s(%v): %v", e.name, name, t, err)
	}
}

func (e *connEnd) setDeadline(t time.Time) { e.set("SetDeadline", e.conn.SetDeadline, t) }
func (e *connEnd) setReadDeadline(t time.Time) {
	e.set("SetReadDeadline", e.conn.SetReadDeadline, t)
}
func (e *connEnd) setWriteDeadline(t time.Time) {
	e.set("SetWriteDeadline", e.conn.SetWriteDeadline, t)
}

type connCloseReader interface{ CloseRead() error }

type connCloseWriter interface{ CloseWrite() error }

// needCloseRead returns c1's CloseRead, or skips the sub-test.
func (c *connCheck) needCloseRead() func() error {
	c.t.Helper()
	cr, ok := c.e1.conn.(connCloseReader)
	if !ok {
		c.t.Skipf("c1, a %T, has no CloseRead() error method", c.e1.conn)
	}
	return cr.CloseRead
}

// needCloseWrite returns c1's CloseWrite, or skips the sub-test.
func (c *connCheck) needCloseWrite() func() error {
	c.t.Helper()
	cw, ok := c.e1.conn.(connCloseWriter)
	if !ok {
		c.t.Skipf("c1, a %T, has no CloseWrite() error method", c.e1.conn)
	}
	return cw.CloseWrite
}

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

// The errors the checks want, for their messages.
const (
	connTimeout = "an error matching os.ErrDeadlineExceeded that is a net.Error with Timeout true"
	connBroken  = "an error matching anonpipe.ErrBrokenPipe or syscall.EPIPE"
	connClosed  = "an error matching net.ErrClosed or os.ErrClosed"
)

// connPattern returns n pseudo-random bytes drawn from seed.
func connPattern(n int, seed uint64) []byte {
	b := make([]byte, n+8)
	rng := rand.NewPCG(seed, 0xc0ffee)
	for i := 0; i < n; i += 8 {
		binary.LittleEndian.PutUint64(b[i:], rng.Uint64())
	}
	return b[:n]
}

// connBasicIO: a megabyte each way at the same time, in Writes and Reads of
// random sizes, arrives intact; after c1 closes, c2's Reads return io.EOF.
func connBasicIO(c *connCheck) {
	var wg sync.WaitGroup
	send := func(e *connEnd, data []byte, seed uint64) {
		defer wg.Done()
		rng := rand.New(rand.NewPCG(seed, 1))
		for p := data; len(p) > 0; {
			n := min(len(p), 1+rng.IntN(64<<10))
			if m, err := e.write(p[:n]); err != nil {
				c.errorf("%s.Write of %d bytes, after %d of %d, returned %d, %v", e.name, n, len(data)-len(p), len(data), m, err)
				return
			}
			p = p[n:]
		}
	}
	recv := func(e *connEnd, want []byte, seed uint64) {
		defer wg.Done()
		rng := rand.New(rand.NewPCG(seed, 2))
		got := make([]byte, 0, len(want))
		buf := make([]byte, 64<<10)
		for len(got) < len(want) {
			n, err := e.read(buf[:1+rng.IntN(len(buf))])
			got = append(got, buf[:n]...)
			if err != nil {
				c.errorf("%s reading a megabyte: got %d bytes, then %v", e.name, len(got), err)
				return
			}
		}
		if i := connDiffer(got, want); i >= 0 {
			c.errorf("%s read %d bytes where the peer wrote %d; they differ from byte %d on", e.name, len(got), len(want), i)
		}
	}
	d1, d2 := connPattern(connMiB, 1), connPattern(connMiB, 2)
	wg.Add(4)
	go send(c.e1, d1, 1)
	go send(c.e2, d2, 2)
	go recv(c.e2, d1, 3)
	go recv(c.e1, d2, 4)
	wg.Wait()
	if c.t.Failed() {
		return
	}
	var err error
	c.promptly("c1.Close", func() { err = c.e1.close() })
	if err != nil {
		c.t.Fatalf("c1.Close: %v; want nil", err)
	}
	c.e2.expectEOF("after c1 closed")
	c.e2.expectEOF("again")
}

// connPingPong: the ends exchange a counter, each waiting for the other's
// answer before it writes, a thousand times, as requests and replies. Each
// reads with a buffer larger than a message, so a Read must return the
// bytes there without waiting to fill it; it must not return more than
// was sent.
func connPingPong(c *connCheck) {
	const last = 1000
	var wg sync.WaitGroup
	play := func(e *connEnd, want uint64) {
		defer wg.Done()
		buf := make([]byte, 1024)
		for {
			have := 0
			var err error
			for have < 8 && err == nil {
				var n int
				n, err = e.read(buf[have:])
				have += n
			}
			if have == 0 && err == io.EOF && want == last+1 {
				break // the peer took the last value and closed
			}
			if have > 8 {
				c.errorf("%s waiting for the value %d: a Read returned %d bytes where the peer had sent 8", e.name, want, have)
				break
			}
			if have < 8 {
				c.errorf("%s waiting for the value %d: got %d of 8 bytes, then %v", e.name, want, have, err)
				break
			}
			if v := binary.LittleEndian.Uint64(buf); v != want {
				c.errorf("%s got the value %d, want %d", e.name, v, want)
				break
			}
			if want == last {
				break
			}
			binary.LittleEndian.PutUint64(buf, want+1)
			if n, err := e.write(buf[:8]); err != nil {
				c.errorf("%s.Write of the value %d returned %d, %v", e.name, want+1, n, err)
				break
			}
			want += 2
		}
		if err := e.close(); err != nil {
			c.errorf("%s.Close: %v", e.name, err)
		}
	}
	wg.Add(2)
	go play(c.e1, 1)
	go play(c.e2, 0)
	if n, err := c.e1.write(make([]byte, 8)); err != nil {
		c.errorf("c1.Write of the value 0 returned %d, %v", n, err)
	}
	wg.Wait()
}

// connRacyRead: ten goroutines read c1 with a deadline 1 ms ahead, renewed
// after each timeout, and change their buffer as soon as a Read returns,
// while c2 writes a known stream. Every Read returns bytes that follow each
// other in the stream, or a timeout; together they get every byte once,
// and no more comes.
//
// c2 closes only once the Reads are over, as net.Pipe's SetReadDeadline
// fails once the peer has closed.
func connRacyRead(c *connCheck) {
	c.needDeadlines()
	const total = 256 << 10
	const mod = 251 // the stream is 0, 1, ..., 250, 0, 1, ...
	wrote := make(chan struct{})
	go func() {
		defer close(wrote)
		p := make([]byte, total)
		for i := range p {
			p[i] = byte(i % mod)
		}
		for len(p) > 0 {
			n, err := c.e2.write(p[:min(len(p), 4096)])
			if err != nil {
				c.errorf("c2.Write, with %d bytes left to send, returned %d, %v", len(p), n, err)
				return
			}
			p = p[n:]
		}
	}()
	c.e1.setReadDeadline(time.Now().Add(connRacyTime))
	var got atomic.Int64
	var stop atomic.Bool
	var wg sync.WaitGroup
	for range connRacers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b1, b2 := make([]byte, 1024), bytes.Repeat([]byte{0xff}, 1024)
			for !stop.Load() && got.Load() < total {
				n, err := c.e1.read(b1)
				for i := range n {
					if b1[i] >= mod || i > 0 && b1[i] != (b1[i-1]+1)%mod {
						c.errorf("c1.Read returned %d bytes that do not follow each other in the stream c2 wrote: %v", n, b1[:n])
						return
					}
				}
				got.Add(int64(n))
				copy(b1, b2) // a Read that still used b1 would race with this
				if err == nil {
					continue
				}
				if !connIsTimeout(err) {
					c.errorf("c1.Read, racing others with a deadline, returned %d, %v; want bytes or %s", n, err, connTimeout)
					return
				}
				if err := c.e1.conn.SetReadDeadline(time.Now().Add(connRacyTime)); err != nil {
					c.errorf("c1.SetReadDeadline: %v", err)
					return
				}
			}
		}()
	}
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	select {
	case <-wrote:
		// What is still in flight is read at once, or never.
		tm := time.NewTimer(connPromptTime)
		defer tm.Stop()
		select {
		case <-done:
		case <-tm.C:
			stop.Store(true)
			<-done
		}
	case <-done:
		if _, ok := connWithin(c, wrote, connPromptTime, "c2 writing, once the Reads of c1 had got all it was to write"); !ok {
			c.t.FailNow()
		}
	}
	if c.t.Failed() {
		c.t.FailNow()
	}
	if n := got.Load(); n != total {
		c.t.Fatalf("the racing Reads of c1 got %d bytes in all; c2 wrote %d", n, total)
	}
	c.e1.setReadDeadline(time.Time{})
	if err := c.e2.close(); err != nil {
		c.t.Fatalf("c2.Close: %v", err)
	}
	if rest := c.e1.readToEOF("what follows the stream"); len(rest) > 0 {
		c.t.Fatalf("once the racing Reads of c1 had got the %d bytes c2 wrote, c1 read %d more", total, len(rest))
	}
}

// connRacyWrite: ten goroutines write c1 with a deadline 1 ms ahead,
// renewed after each timeout, and change their buffer as soon as a Write
// returns, while c2 reads. Every Write returns its count and nil or a
// timeout; c2 gets exactly as many bytes as the Writes reported, none of
// them from a changed buffer.
func connRacyWrite(c *connCheck) {
	c.needDeadlines()
	const sent, changed = 'w', 'x'
	read := make(chan int64, 1)
	go func() {
		var total int64
		buf := make([]byte, 32<<10)
		for {
			n, err := c.e2.read(buf)
			if bytes.IndexByte(buf[:n], changed) >= 0 {
				c.errorf("c2 read a byte that c1's Write had in its buffer only after the Write returned")
			}
			total += int64(n)
			if err != nil {
				if err != io.EOF {
					c.errorf("c2.Read returned %d, %v; want bytes, then io.EOF when c1 closes", n, err)
				}
				read <- total
				return
			}
		}
	}()
	c.e1.setWriteDeadline(time.Now().Add(connRacyTime))
	var wrote atomic.Int64
	var wg sync.WaitGroup
	for range connRacers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b := make([]byte, 1024)
			for range 100 {
				for i := range b {
					b[i] = sent
				}
				n, err := c.e1.write(b)
				wrote.Add(int64(n))
				for i := range b {
					b[i] = changed // a Write that still used b would race with this
				}
				if err != nil {
					if !connIsTimeout(err) {
						c.errorf("c1.Write, racing others with a deadline, returned %d, %v; want its count and nil or %s", n, err, connTimeout)
						return
					}
					if err := c.e1.conn.SetWriteDeadline(time.Now().Add(connRacyTime)); err != nil {
						c.errorf("c1.SetWriteDeadline: %v", err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	var err error
	c.promptly("c1.Close", func() { err = c.e1.close() })
	if err != nil {
		c.t.Fatalf("c1.Close: %v; want nil", err)
	}
	if got, want := <-read, wrote.Load(); got != want {
		c.t.Fatalf("c2 read %d bytes; the racing Writes of c1 reported %d", got, want)
	}
}

// connReadTimeout: a Read with its deadline in the past fails at once with
// a timeout; that deadline does not bound Writes, which go on as long as
// the peer reads.
func connReadTimeout(c *connCheck) {
	c.needDeadlines()
	c.e2.discard()
	c.e1.setReadDeadline(time.Now().Add(-time.Hour))
	var n int
	var err error
	c.promptly("c1.Read with its deadline in the past", func() { n, err = c.e1.read(make([]byte, 1024)) })
	if n != 0 || !connIsTimeout(err) {
		c.t.Fatalf("c1.Read with its deadline in the past returned %d, %v; want 0 and %s", n, err, connTimeout)
	}
	p := connPattern(connMiB, 6)
	if n, err := c.e1.write(p); n != len(p) || err != nil {
		c.t.Fatalf("c1.Write of %d bytes, with only the read deadline past, returned %d, %v; want %d, nil",
			len(p), n, err, len(p))
	}
}

// connWriteTimeout: a Write with its deadline in the past fails at once
// with a timeout, and writes nothing; that deadline does not bound Reads.
func connWriteTimeout(c *connCheck) {
	c.needDeadlines()
	c.e2.flood()
	c.e1.setWriteDeadline(time.Now().Add(-time.Hour))
	var n int
	var err error
	c.promptly("c1.Write with its deadline in the past", func() { n, err = c.e1.write(make([]byte, 1024)) })
	if n != 0 || !connIsTimeout(err) {
		c.t.Fatalf("c1.Write with its deadline in the past returned %d, %v; want 0 and %s", n, err, connTimeout)
	}
	c.promptly("c1.Read, with only the write deadline past, while c2 writes", func() { n, err = c.e1.read(make([]byte, 1024)) })
	if n == 0 || err != nil {
		c.t.Fatalf("c1.Read, with only the write deadline past, while c2 writes, returned %d, %v; want bytes, nil", n, err)
	}
}

// connPastTimeout: after SetDeadline with a time in the past, Reads and
// Writes fail at once with a timeout; after SetDeadline with the zero time,
// messages go both ways again.
func connPastTimeout(c *connCheck) {
	c.needDeadlines()
	c.roundTrip("before any deadline")
	c.e1.setDeadline(time.Now().Add(-time.Hour))
	var n int
	var err error
	c.promptly("c1.Write after SetDeadline in the past", func() { n, err = c.e1.write([]byte("lost")) })
	if n != 0 || !connIsTimeout(err) {
		c.t.Fatalf("c1.Write after SetDeadline in the past returned %d, %v; want 0 and %s", n, err, connTimeout)
	}
	c.promptly("c1.Read after SetDeadline in the past", func() { n, err = c.e1.read(make([]byte, 1024)) })
	if n != 0 || !connIsTimeout(err) {
		c.t.Fatalf("c1.Read after SetDeadline in the past returned %d, %v; want 0 and %s", n, err, connTimeout)
	}
	c.e1.setDeadline(time.Time{})
	c.roundTrip("after the deadline was cleared")
}

// connPresentTimeout: deadlines set in the past while a Read and a Write
// are blocked end them at once with a timeout; the Write reports the bytes
// it wrote, which the peer gets, and no more.
func connPresentTimeout(c *connCheck) {
	c.needDeadlines()
	rd := c.e1.goRead(make([]byte, 1024))
	wr := c.e1.startBigWrite(c.e2)
	select {
	case r := <-rd:
		c.t.Fatalf("c1.Read, with no deadline and nothing sent, returned %d, %v", r.n, r.err)
	default:
	}
	c.e1.setReadDeadline(time.Now().Add(-time.Hour))
	c.e1.setWriteDeadline(time.Now().Add(-time.Hour))
	r, ok := connWithin(c, rd, connPromptTime, "c1.Read pending when its deadline was set in the past")
	if ok && (r.n != 0 || !connIsTimeout(r.err)) {
		c.t.Errorf("c1.Read pending when its deadline was set in the past returned %d, %v; want 0 and %s", r.n, r.err, connTimeout)
	}
	w, ok := connWithin(c, wr, connPromptTime, "c1.Write blocked when its deadline was set in the past")
	if !ok || c.t.Failed() {
		c.t.FailNow()
	}
	big := c.s.bigData()
	if w.n < connPartK || w.n >= len(big) || !connIsTimeout(w.err) {
		c.t.Fatalf("c1.Write of %d bytes, blocked when its deadline was set in the past after c2 read %d of them, "+
			"returned %d, %v; want the count of bytes it wrote, from %d to %d, and %s",
			len(big), connPartK, w.n, w.err, connPartK, len(big)-1, connTimeout)
	}
	// c2 gets the bytes the Write reported, and no more.
	c.e1.setDeadline(time.Time{})
	end := []byte("end")
	ch := c.e1.goWrite(end)
	want2 := append(slices.Clone(big[connPartK:w.n]), end...)
	connSame(c, c.e2.readFull(len(want2), "the rest of a Write cut short, then a new one"), want2,
		"what c2 reads after the start of a Write cut short: its rest, up to the count it reported, then a new one")
	if r, ok := connWithin(c, ch, connPromptTime, "c1.Write of 3 bytes, read by c2"); ok && (r.n != len(end) || r.err != nil) {
		c.t.Fatalf("c1.Write of %q returned %d, %v; want %d, nil", end, r.n, r.err, len(end))
	}
}

// connFutureTimeout: a deadline 100 ms ahead ends a blocked Read and a
// blocked Write with a timeout, not before it; the Write reports the bytes
// it wrote, which the peer gets, and no more.
func connFutureTimeout(c *connCheck) {
	c.needDeadlines()
	deadline := time.Now().Add(connFutureTime)
	c.e1.setDeadline(deadline)
	rd := c.e1.goRead(make([]byte, 1024))
	wr := c.e1.goWrite(c.s.bigData())
	r := <-rd
	if r.n != 0 || !connIsTimeout(r.err) {
		c.t.Errorf("c1.Read with a deadline %v ahead and nothing sent returned %d, %v; want 0 and %s", connFutureTime, r.n, r.err, connTimeout)
	}
	if r.at.Before(deadline) {
		c.t.Errorf("c1.Read with a deadline %v ahead returned %d, %v %v before it", connFutureTime, r.n, r.err, deadline.Sub(r.at))
	}
	w := <-wr
	if w.at.Before(deadline) {
		c.t.Errorf("c1.Write with a deadline %v ahead and nobody reading returned %d, %v %v before it", connFutureTime, w.n, w.err, deadline.Sub(w.at))
	}
	if c.t.Failed() {
		c.t.FailNow()
	}
	big := c.s.bigData()
	if w.n >= len(big) || !connIsTimeout(w.err) {
		c.t.Fatalf("c1.Write of %d bytes with a deadline %v ahead and nobody reading returned %d, %v; "+
			"want the count of bytes it wrote and a timeout", len(big), connFutureTime, w.n, w.err)
	}
	c.e1.setDeadline(time.Time{})
	connSame(c, c.e2.readFull(w.n, "the bytes of a Write cut short"), big[:w.n], "what c2 reads of a Write cut short")
	c.roundTrip("after the deadline passed and was cleared")
}

// connCloseTimeout: Close ends a blocked Read and a blocked Write of the
// same end at once, with an error, and returns nil.
func connCloseTimeout(c *connCheck) {
	rd := c.e1.goRead(make([]byte, 1024))
	wr := c.e1.startBigWrite(c.e2)
	var err error
	c.promptly("c1.Close, with a Read and a Write pending", func() { err = c.e1.close() })
	if err != nil {
		c.t.Errorf("c1.Close, with a Read and a Write pending: %v; want nil", err)
	}
	if r, ok := connWithin(c, rd, connPromptTime, "c1.Read pending when c1 closed"); ok && (r.n != 0 || r.err == nil) {
		c.t.Errorf("c1.Read pending when c1 closed returned %d, %v; want 0 and an error", r.n, r.err)
	}
	if w, ok := connWithin(c, wr, connPromptTime, "c1.Write blocked when c1 closed"); ok && (w.n >= connBigWrite || w.err == nil) {
		c.t.Errorf("c1.Write of %d bytes blocked when c1 closed returned %d, %v; want its count and an error", connBigWrite, w.n, w.err)
	}
}

// connConcurrentMethods: every method of c1 called from many goroutines at
// once, while c2 echoes, neither races (run it with -race) nor hangs nor
// breaks the connection, which then carries a message there and back; the
// addresses are never nil.
func connConcurrentMethods(c *connCheck) {
	c.needDeadlines()
	c.e2.echo()
	e := c.e1
	var wg sync.WaitGroup
	for range 100 {
		calls := []func(){
			func() { e.read(make([]byte, 1024)) },
			func() { e.write(make([]byte, 1024)) },
			func() { e.conn.SetDeadline(time.Now().Add(10 * time.Millisecond)) },
			func() { e.conn.SetReadDeadline(time.Now().Add(-time.Hour)) },
			func() { e.conn.SetWriteDeadline(time.Now().Add(-time.Hour)) },
			func() {
				if e.conn.LocalAddr() == nil {
					c.errorf("c1.LocalAddr returned nil")
				}
			},
			func() {
				if e.conn.RemoteAddr() == nil {
					c.errorf("c1.RemoteAddr returned nil")
				}
			},
		}
		for _, f := range calls {
			wg.Add(1)
			go func() {
				defer wg.Done()
				f()
			}()
		}
	}
	wg.Wait()
	if c.t.Failed() {
		return
	}
	// The echo sends back what the Writes wrote, zeros: read them up to a
	// marker, then a message must come back whole.
	e.setDeadline(time.Time{})
	ch := e.goWrite([]byte{0xff})
	c.promptly("c1 reading back what it wrote, up to a marker", func() {
		buf := make([]byte, 32<<10)
		for {
			n, err := e.read(buf)
			if i := bytes.IndexByte(buf[:n], 0xff); i >= 0 {
				if i != n-1 {
					c.errorf("c1 read %d bytes after the marker it wrote last", n-1-i)
				}
				return
			}
			if err != nil {
				c.errorf("c1 reading back what it wrote, up to a marker: %v", err)
				return
			}
		}
	})
	if r := <-ch; r.err != nil {
		c.t.Fatalf("c1.Write of a marker: %v", r.err)
	}
	if c.t.Failed() {
		return
	}
	msg := []byte("there and back")
	e.send(e, msg, "a message echoed by c2")
}

// connEOFAfterClose: the peer reads the bytes written before Close, even
// those still in flight, then io.EOF on every Read.
func connEOFAfterClose(c *connCheck) {
	msg := []byte("last words")
	got := c.e1.sendThenClose(c.e2, msg, "Close", c.e1.close)
	connSame(c, got, msg, "what c2 reads after c1 wrote and closed")
	c.e2.expectEOF("again, after io.EOF")
}

// connCloseUnblocksPeerRead: Close ends the peer's pending Read with 0,
// io.EOF, and the peer's Writes then fail with a broken pipe.
func connCloseUnblocksPeerRead(c *connCheck) {
	rd := c.e2.goRead(make([]byte, 1024))
	var err error
	c.promptly("c1.Close, with a Read of c2 pending", func() { err = c.e1.close() })
	if err != nil {
		c.t.Fatalf("c1.Close: %v; want nil", err)
	}
	r, ok := connWithin(c, rd, connPromptTime, "c2.Read pending when c1 closed")
	if !ok {
		c.t.FailNow()
	}
	if r.n != 0 || r.err != io.EOF {
		c.t.Fatalf("c2.Read pending when c1 closed returned %d, %v; want 0, io.EOF", r.n, r.err)
	}
	var n int
	c.promptly("c2.Write after c1 closed", func() { n, err = c.e2.write([]byte("anyone?")) })
	if n != 0 || !connIsBroken(err) {
		c.t.Fatalf("c2.Write after c1 closed returned %d, %v; want 0 and %s", n, err, connBroken)
	}
}

// connCloseUnblocksPeerWrite: Close ends a Write of the peer blocked on a
// full connection at once, with its count and a broken pipe.
func connCloseUnblocksPeerWrite(c *connCheck) {
	wr := c.e2.startBigWrite(c.e1)
	var err error
	c.promptly("c1.Close, with a Write of c2 blocked", func() { err = c.e1.close() })
	if err != nil {
		c.t.Fatalf("c1.Close: %v; want nil", err)
	}
	w, ok := connWithin(c, wr, connPromptTime, "c2.Write blocked when c1 closed")
	if ok && (w.n >= connBigWrite || !connIsBroken(w.err)) {
		c.t.Fatalf("c2.Write of %d bytes blocked when c1 closed returned %d, %v; want its count and %s",
			connBigWrite, w.n, w.err, connBroken)
	}
}

// connUseAfterClose: after Close, which returns nil, every method that can
// fail fails at once with an error matching net.ErrClosed or os.ErrClosed,
// or for the deadline setters of a connection without deadlines
// os.ErrNoDeadline; a second Close returns nil or such an error.
func connUseAfterClose(c *connCheck) {
	e := c.e1
	noDeadlines := errors.Is(e.conn.SetReadDeadline(time.Time{}), os.ErrNoDeadline)
	var err error
	c.promptly("c1.Close", func() { err = e.close() })
	if err != nil {
		c.t.Fatalf("c1.Close: %v; want nil", err)
	}
	type call struct {
		name   string
		f      func() (int, error)
		setter bool
	}
	noCount := func(f func() error) func() (int, error) { return func() (int, error) { return 0, f() } }
	future := time.Now().Add(time.Hour)
	calls := []call{
		{"Read", func() (int, error) { return e.read(make([]byte, 16)) }, false},
		{"Write", func() (int, error) { return e.write([]byte("late")) }, false},
		{"SetDeadline", noCount(func() error { return e.conn.SetDeadline(future) }), true},
		{"SetReadDeadline", noCount(func() error { return e.conn.SetReadDeadline(future) }), true},
		{"SetWriteDeadline", noCount(func() error { return e.conn.SetWriteDeadline(future) }), true},
	}
	if cr, ok := e.conn.(connCloseReader); ok {
		calls = append(calls, call{"CloseRead", noCount(cr.CloseRead), false})
	}
	if cw, ok := e.conn.(connCloseWriter); ok {
		calls = append(calls, call{"CloseWrite", noCount(cw.CloseWrite), false})
	}
	for _, k := range calls {
		var n int
		c.promptly("c1."+k.name+" after Close", func() { n, err = k.f() })
		if k.setter && noDeadlines && errors.Is(err, os.ErrNoDeadline) {
			continue
		}
		if n != 0 || !connIsClosed(err) {
			c.t.Errorf("c1.%s after Close returned %d, %v; want 0 and %s", k.name, n, err, connClosed)
		}
	}
	c.promptly("a second c1.Close", func() { err = e.close() })
	if err != nil && !connIsClosed(err) {
		c.t.Errorf("a second c1.Close returned %v; want nil or %s", err, connClosed)
	}
}

// connCloseWrite: after CloseWrite, the peer reads the bytes written before,
// even those still in flight, then io.EOF; c1 still reads what the peer
// writes, its own Writes fail, and its Close returns nil.
func connCloseWrite(c *connCheck) {
	closeWrite := c.needCloseWrite()
	msg := []byte("request")
	got := c.e1.sendThenClose(c.e2, msg, "CloseWrite", closeWrite)
	connSame(c, got, msg, "what c2 reads after c1 wrote and called CloseWrite")
	c.e2.expectEOF("again, after io.EOF")
	c.e2.send(c.e1, []byte("reply"), "a reply from c2 after c1.CloseWrite")
	var n int
	var err error
	c.promptly("c1.Write after c1.CloseWrite", func() { n, err = c.e1.write([]byte("more")) })
	if n != 0 || err == nil {
		c.t.Fatalf("c1.Write after c1.CloseWrite returned %d, %v; want 0 and an error", n, err)
	}
	c.promptly("c1.Close after c1.CloseWrite", func() { err = c.e1.close() })
	if err != nil {
		c.t.Fatalf("c1.Close after c1.CloseWrite: %v; want nil, as it closes the read direction", err)
	}
}

// connCloseRead: CloseRead ends a pending Read of the same end at once, with
// 0 and an error (io.EOF, or the error of a closed end), as every Read after;
// the end still writes, and its Close returns nil.
func connCloseRead(c *connCheck) {
	closeRead := c.needCloseRead()
	rd := c.e1.goRead(make([]byte, 1024))
	var err error
	c.promptly("c1.CloseRead, with a Read of c1 pending", func() { err = closeRead() })
	if err != nil {
		c.t.Fatalf("c1.CloseRead: %v; want nil", err)
	}
	r, ok := connWithin(c, rd, connPromptTime, "c1.Read pending when c1.CloseRead was called")
	if !ok {
		c.t.FailNow()
	}
	if r.n != 0 || r.err == nil {
		c.t.Fatalf("c1.Read pending when c1.CloseRead was called returned %d, %v; want 0 and an error", r.n, r.err)
	}
	var n int
	c.promptly("c1.Read after c1.CloseRead", func() { n, err = c.e1.read(make([]byte, 16)) })
	if n != 0 || err == nil {
		c.t.Fatalf("c1.Read after c1.CloseRead returned %d, %v; want 0 and an error", n, err)
	}
	c.e1.send(c.e2, []byte("still here"), "a message from c1 after c1.CloseRead")
	c.promptly("c1.Close after c1.CloseRead", func() { err = c.e1.close() })
	if err != nil {
		c.t.Fatalf("c1.Close after c1.CloseRead: %v; want nil, as it closes the write direction", err)
	}
}

// connCloseReadBreaksPeer: CloseRead ends a Write of the peer blocked on a
// full connection at once, with its count and a broken pipe, and the peer's
// later Writes fail so too, as closing a pipe's read end does.
func connCloseReadBreaksPeer(c *connCheck) {
	closeRead := c.needCloseRead()
	switch c.e1.conn.(type) {
	case *net.UnixConn, *net.TCPConn:
		c.t.Skipf("c1 is a %T, whose CloseRead is shutdown(SHUT_RD), which does not wake a peer's Write waiting "+
			"for room: a Unix socket on Linux fails only the peer's later Writes, and TCP does not tell the peer", c.e1.conn)
	}
	wr := c.e2.startBigWrite(c.e1)
	var err error
	c.promptly("c1.CloseRead, with a Write of c2 blocked", func() { err = closeRead() })
	if err != nil {
		c.t.Fatalf("c1.CloseRead: %v; want nil", err)
	}
	w, ok := connWithin(c, wr, connPromptTime, "c2.Write blocked when c1.CloseRead was called")
	if !ok {
		c.t.FailNow()
	}
	if w.n >= connBigWrite || !connIsBroken(w.err) {
		c.t.Fatalf("c2.Write of %d bytes blocked when c1.CloseRead was called returned %d, %v; want its count and %s",
			connBigWrite, w.n, w.err, connBroken)
	}
	var n int
	c.promptly("c2.Write after c1.CloseRead", func() { n, err = c.e2.write([]byte("anyone?")) })
	if n != 0 || !connIsBroken(err) {
		c.t.Fatalf("c2.Write after c1.CloseRead returned %d, %v; want 0 and %s", n, err, connBroken)
	}
}
