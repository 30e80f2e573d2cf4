package pipetest

import (
	"io"
	"net"
	"os"
	"sync/atomic"
	"time"
)

// connNetwork is what the addresses of a Conn give as their network: that of
// anonpipe's connections, which a Conn stands for.
const connNetwork = "anonpipe"

// ConnPipe returns the two ends of a new in-memory connection: what is
// written to a is read from b, and what is written to b is read from a. Each
// direction is a pipe made by [Pipe] with opts, with a Pipe's capacity,
// deadlines, atomic writes, EOF and broken pipe. The ends pass [TestConn].
// Unlike net.Pipe, which holds nothing, a Conn lets a test write a request
// before the far end reads it, as a real connection does.
//
// Every option applies to both directions, each counting its own bytes: the
// read faults (WithRead...) to the Reads of a and of b, [WithWriteError] to
// the Writes of each. So WithReadHang(n) makes a
// peer that stops reading, and a's own Reads stop after n bytes too; with
// WithReadClose(n), each end's read direction closes once it has read n
// bytes, as [Conn.CloseRead] does. ConnPipe panics if an option is nil.
func ConnPipe(opts ...Option) (a, b *Conn) {
	abr, abw := Pipe(opts...)
	bar, baw := Pipe(opts...)
	la, lb := connAddr("pipetest:a"), connAddr("pipetest:b")
	return &Conn{r: bar, w: abw, local: la, remote: lb},
		&Conn{r: abr, w: baw, local: lb, remote: la}
}

// Conn is one end of a connection made by [ConnPipe]: a net.Conn that
// reads from one pipe and writes to another, as anonpipe's connections do,
// with CloseRead and CloseWrite. Its methods are safe for concurrent use.
//
// Read and Write behave as those of [Reader] and [Writer]. A Read returns
// io.EOF once the peer has closed, or closed its write direction, and the
// bytes before are read; a Write fails with an error matching
// anonpipe.ErrBrokenPipe once the peer has closed, or closed its read
// direction. Other errors are *net.OpError values, with Net "anonpipe",
// wrapping the pipe's error: they match os.ErrClosed after Close, and on a
// deadline os.ErrDeadlineExceeded, with Timeout true, as a net.Error.
//
// The addresses' Network is "anonpipe", their String "pipetest:a" or
// "pipetest:b"; a's LocalAddr is b's RemoteAddr.
type Conn struct {
	r             *Reader
	w             *Writer
	local, remote connAddr
	closed        atomic.Bool
}

// connAddr is the address of an end of a Conn.
type connAddr string

func (a connAddr) Network() string { return connNetwork }
func (a connAddr) String() string  { return string(a) }

// Read reads up to len(p) bytes that the peer wrote, as [Reader.Read] does.
// It returns what is there without waiting to fill p, and 0, io.EOF once the
// peer has closed its write direction and every byte before is read.
func (c *Conn) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	return n, c.opError("read", err)
}

// Write writes p for the peer to read, as [Writer.Write] does: it blocks
// while the direction is full, and returns fewer than len(p) bytes only with
// an error. After [Conn.CloseWrite] or Close, it fails with an error matching
// os.ErrClosed.
func (c *Conn) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	return n, c.opError("write", err)
}

// Close closes both directions: the peer reads the bytes still in flight to
// it, then io.EOF, and its Writes fail with a broken pipe; the bytes the peer
// wrote and c did not read are lost. A Read or Write pending on c returns an
// error matching os.ErrClosed. Close returns nil, even after CloseRead and
// CloseWrite; a second Close returns an error matching os.ErrClosed.
func (c *Conn) Close() error {
	if !c.closed.CompareAndSwap(false, true) {
		return c.opError("close", &os.PathError{Op: "close", Path: "pipetest", Err: os.ErrClosed})
	}
	// Either end may be closed already, by CloseRead, CloseWrite or
	// WithReadClose: Close reports what happened to c, not to the ends.
	c.r.Close()
	c.w.Close()
	return nil
}

// CloseRead closes the read direction, as closing a pipe's read end does:
// the bytes in flight to c are lost, a Read pending on c and every later Read
// return an error matching os.ErrClosed, and the peer's Writes, a blocked one
// too, fail with an error matching anonpipe.ErrBrokenPipe. c can still
// write. Calling it again, or after Close, returns an error matching
// os.ErrClosed.
func (c *Conn) CloseRead() error {
	if c.closed.Load() {
		return c.Close()
	}
	return c.opError("close", c.r.Close())
}

// CloseWrite closes the write direction, as closing a pipe's write end
// does: the peer reads the bytes in flight, then io.EOF, and c can still
// read what the peer writes. A Write pending on c and every later Write
// return an error matching os.ErrClosed. Calling it again, or after Close,
// returns an error matching os.ErrClosed.
func (c *Conn) CloseWrite() error {
	if c.closed.Load() {
		return c.Close()
	}
	return c.opError("close", c.w.Close())
}

// LocalAddr returns the address of c, whose Network is "anonpipe".
func (c *Conn) LocalAddr() net.Addr { return c.local }

// RemoteAddr returns the address of the peer, whose Network is "anonpipe".
func (c *Conn) RemoteAddr() net.Addr { return c.remote }

// SetDeadline sets the read and write deadlines, as SetReadDeadline and
// SetWriteDeadline do.
func (c *Conn) SetDeadline(t time.Time) error {
	if err := c.SetReadDeadline(t); err != nil {
		return err
	}
	return c.SetWriteDeadline(t)
}

// SetReadDeadline sets the time after which Reads fail with an error
// matching os.ErrDeadlineExceeded, as [Reader.SetReadDeadline] does; a Read
// pending when the deadline passes returns then, and the zero time clears
// it. After CloseRead it does nothing and returns nil; after Close it returns
// an error matching os.ErrClosed.
func (c *Conn) SetReadDeadline(t time.Time) error {
	return c.setError(c.r.SetReadDeadline(t))
}

// SetWriteDeadline sets the time after which Writes fail with an error
// matching os.ErrDeadlineExceeded, as [Writer.SetWriteDeadline] does; a Write
// pending when the deadline passes returns then, with the count of bytes it
// wrote. After CloseWrite it does nothing and returns nil; after Close it
// returns an error matching os.ErrClosed.
func (c *Conn) SetWriteDeadline(t time.Time) error {
	return c.setError(c.w.SetWriteDeadline(t))
}

// setError is the error of a deadline setter whose end returned err. An end
// fails only once closed, which is an error only after Close, as for a
// socket: code that half-closes and then sets a deadline for the rest works.
func (c *Conn) setError(err error) error {
	if err == nil || !c.closed.Load() {
		return nil
	}
	return c.opError("set", err)
}

// opError wraps err as net's connections do, so that err.(net.Error) works
// as callers of a net.Conn expect; io.EOF stays itself.
func (c *Conn) opError(op string, err error) error {
	if err == nil || err == io.EOF {
		return err
	}
	return &net.OpError{Op: op, Net: connNetwork, Source: c.local, Addr: c.remote, Err: err}
}
