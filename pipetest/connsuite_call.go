package pipetest

import (
	"errors"
	"io"
	"net"
	"os"
	"time"
)

// connCheck is one sub-test on one connection.
type connCheck struct {
	*subtest
	s      *connSuite
	e1, e2 *connEnd
}

// connEnd is one end of the connection under test, whose calls the check
// tracks for the watchdog's message.
type connEnd struct {
	c    *connCheck
	name string // c1 or c2
	conn net.Conn
}

func (e *connEnd) read(p []byte) (int, error)  { return e.c.checkedRead(e.name+".", e.conn, p) }
func (e *connEnd) write(p []byte) (int, error) { return e.c.checkedWrite(e.name+".", e.conn, p) }

func (e *connEnd) close() error {
	defer e.c.track(e.name + ".Close")()
	return e.conn.Close()
}

func (e *connEnd) goRead(p []byte) <-chan result {
	return goCall(func() result { return res(e.read(p)) })
}

func (e *connEnd) goWrite(p []byte) <-chan result {
	return goCall(func() result { return res(e.write(p)) })
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
	e.c.same(to.readFull(len(p), what), p, what)
	r := await(e.c.subtest, ch, promptTime, e.name+".Write of "+what+", read whole by "+to.name)
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
	r := await(c.subtest, ch, promptTime, e.name+".Write, once "+to.name+" read its bytes")
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
		c.same(b, big[:partK], "the start of a big Write")
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
