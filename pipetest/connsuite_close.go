package pipetest

import (
	"errors"
	"io"
	"net"
	"os"
	"time"
)

// connEOFAfterClose: the peer reads the bytes written before Close, even
// those still in flight, then io.EOF on every Read.
func connEOFAfterClose(c *connCheck) {
	msg := []byte("last words")
	got := c.e1.sendThenClose(c.e2, msg, "Close", c.e1.close)
	c.same(got, msg, "what c2 reads after c1 wrote and closed")
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
	r := await(c.subtest, rd, promptTime, "c2.Read pending when c1 closed")
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
	if w := await(c.subtest, wr, promptTime, "c2.Write blocked when c1 closed"); w.n >= bigWrite || !connIsBroken(w.err) {
		c.t.Fatalf("c2.Write of %d bytes blocked when c1 closed returned %d, %v; want its count and %s",
			bigWrite, w.n, w.err, connBroken)
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
	c.same(got, msg, "what c2 reads after c1 wrote and called CloseWrite")
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
	r := await(c.subtest, rd, promptTime, "c1.Read pending when c1.CloseRead was called")
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
	w := await(c.subtest, wr, promptTime, "c2.Write blocked when c1.CloseRead was called")
	if w.n >= bigWrite || !connIsBroken(w.err) {
		c.t.Fatalf("c2.Write of %d bytes blocked when c1.CloseRead was called returned %d, %v; want its count and %s",
			bigWrite, w.n, w.err, connBroken)
	}
	var n int
	c.promptly("c2.Write after c1.CloseRead", func() { n, err = c.e2.write([]byte("anyone?")) })
	if n != 0 || !connIsBroken(err) {
		c.t.Fatalf("c2.Write after c1.CloseRead returned %d, %v; want 0 and %s", n, err, connBroken)
	}
}
