package pipetest

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anonpipe/anonpipe/anonpipe"
)

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

func (e *connEnd) read(p []byte) (int, error) {
	defer e.track(fmt.Sprintf("Read of %d bytes", len(p)))()
	n, err := e.conn.Read(p)
	if n < 0 || n > len(p) {
		e.c.errorf("%s.Read of %d bytes returned %d, %v: a count outside 0..len(p)", e.name, len(p), n, err)
		n = max(0, min(n, len(p)))
	}
	return n, err
}

func (e *connEnd) write(p []byte) (int, error) {
	defer e.track(fmt.Sprintf("Write of %d bytes", len(p)))()
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

func (e *connEnd) goRead(p []byte) <-chan result {
	return goCall(func() result { return res(e.read(p)) })
}

func (e *connEnd) goWrite(p []byte) <-chan result {
	return goCall(func() result { return res(e.write(p)) })
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
	if _, ok := connWithin(c, done, promptTime, what+" did not return at once"); !ok {
		c.t.FailNow()
	}
}

// readFull reads exactly n bytes from e, or stops the sub-test.
func (e *connEnd) readFull(n int, what string) []byte {
	e.c.t.Helper()
	b := make([]byte, n)
	m, err := io.ReadFull(readFunc(e.read), b)
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
	r, ok := connWithin(e.c, ch, promptTime, e.name+".Write of "+what+", read whole by "+to.name)
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
	checkWrite := func(r result) {
		c.t.Helper()
		if r.n != len(p) || r.err != nil {
			c.t.Fatalf("%s.Write of %d bytes returned %d, %v; want %d, nil", e.name, len(p), r.n, r.err, len(p))
		}
	}
	if r, pending := blocked(ch, connBufferedTime); !pending {
		checkWrite(r)
		closeIt()
		return to.readToEOF("bytes written before " + e.name + "." + closeName)
	}
	// Synchronous, or slow: read first.
	got := to.readFull(len(p), "bytes written before "+e.name+"."+closeName)
	r, ok := connWithin(c, ch, promptTime, e.name+".Write, once "+to.name+" read its bytes")
	if !ok {
		c.t.FailNow()
	}
	checkWrite(r)
	closeIt()
	return append(got, to.readToEOF("what follows the bytes written before "+e.name+"."+closeName)...)
}

// startBigWrite starts a Write of big data from e, which the connection
// cannot hold, and has to read the first partK bytes of it. The Write
// is then blocked, its result to come on the returned channel; startBigWrite
// stops the sub-test if it returns before, as nothing has cut it short.
func (e *connEnd) startBigWrite(to *connEnd) <-chan result {
	c := e.c
	c.t.Helper()
	big := c.s.bigData()
	ch := e.goWrite(big)
	got := make(chan result, 1)
	b := make([]byte, partK)
	go func() {
		n, err := io.ReadFull(readFunc(to.read), b)
		got <- res(n, err)
	}()
	select {
	case r := <-got:
		if r.err != nil {
			c.t.Fatalf("%s reading the start of a big Write from %s: got %d of %d bytes, then %v",
				to.name, e.name, r.n, partK, r.err)
		}
		connSame(c, b, big[:partK], "the start of a big Write")
		return ch
	case r := <-ch:
		c.t.Fatalf("with nobody reading, %s.Write of %d bytes returned %d, %v before %s read %d bytes of it; "+
			"want it to block once the connection is full", e.name, len(big), r.n, r.err, to.name, partK)
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
		p := pattern(32<<10, 5)
		for {
			if _, err := e.write(p); err != nil {
				return
			}
		}
	}()
}

// connSame stops the sub-test unless got equals want.
func connSame(c *connCheck, got, want []byte, what string) {
	c.t.Helper()
	if i := differ(got, want); i >= 0 {
		c.t.Fatalf("%s: got %d bytes, want %d; they differ from byte %d on", what, len(got), len(want), i)
	}
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
