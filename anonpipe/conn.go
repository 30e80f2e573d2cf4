package anonpipe

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync/atomic"
	"time"
)

// Conn is a two-way byte stream over two pipes, one each way: a net.Conn
// between a parent and its child, from [Cmd.Conn] and [OpenConn], or in
// one process, from [ConnPipe]. Its methods are safe for concurrent use;
// those of a zero Conn fail with an error matching os.ErrInvalid.
//
// Reads and writes are those of a [Reader] and a [Writer]. Read returns
// io.EOF once the peer has closed its writing half (Close, CloseWrite) or
// exited, after the bytes it wrote; Write fails with an error matching
// [ErrBrokenPipe] once the peer has closed its reading half or exited.
// Other errors, but those of ReadFrom and WriteTo, are *net.OpError values,
// as from the net package's Conns, around the end's error, so that
// errors.Is still matches ErrBrokenPipe, os.ErrDeadlineExceeded and
// os.ErrNoDeadline; once closed, they match os.ErrClosed and net.ErrClosed.
//
// A Conn has no message boundaries and does no buffering of its own.
type Conn struct {
	r      Reader
	w      Writer
	addr   addr
	closed atomic.Bool // Close was called
}

// connNetwork is the Network of a Conn's addresses.
const connNetwork = "anonpipe"

// addr is a Conn's address: the handle string of the child's ends, which
// names the connection on both sides, as net.Pipe's "pipe" does.
type addr string

func (a addr) Network() string { return connNetwork }
func (a addr) String() string  { return string(a) }

func newConn(r *Reader, w *Writer, name string) *Conn {
	return &Conn{r: *r, w: *w, addr: addr(name)}
}

// ConnPipe returns two Conns connected to each other within this process:
// what a writes, b reads, and the other way round. Neither is inherited by
// child processes. Both addresses are "pipe". [WithBufferSize] applies to
// both pipes, [WithBusyPoll] to both Conns' reads. The caller must close
// both Conns. On error nothing is left open.
func ConnPipe(opts ...Option) (a, b *Conn, err error) {
	c, err := newConfig("ConnPipe", opts, true, true)
	if err != nil {
		return nil, nil, err
	}
	r1, w1, err := makePipe(c)
	if err != nil {
		return nil, nil, err
	}
	r2, w2, err := makePipe(c)
	if err != nil {
		r1.Close()
		w1.Close()
		return nil, nil, err
	}
	return newConn(r1, w2, "pipe"), newConn(r2, w1, "pipe"), nil
}

// connPipes makes the pipes of Cmd.Conn: the parent's Conn, and the child's
// read and write ends.
func connPipes(c config) (conn *Conn, childR, childW *os.File, err error) {
	toChild := c
	toChild.busyPoll = 0 // only the parent's Reader polls
	r1, w1, err := makePipe(toChild)
	if err != nil {
		return nil, nil, nil, err
	}
	r2, w2, err := makePipe(c)
	if err != nil {
		r1.Close()
		w1.Close()
		return nil, nil, nil, err
	}
	return newConn(r2, w1, ""), r1.f, w2.f, nil
}

// OpenConn returns the Conn a parent passed to this process, given its
// handle string: from [Cmd.Conn], or from another parent, the handle of a
// read end and that of a write end, separated by one comma ("3,4").
//
// Each handle must be in the form [OpenReader] takes and name an end of the
// right direction, and the two must differ; otherwise OpenConn returns an
// error matching [ErrInvalidHandle], naming the handle string and the
// reason, and leaves both handles as they were. Should opening the write
// end fail once both have passed their checks (the process out of
// resources), the read end's handle is closed.
//
// The Conn owns both handles, with what [OpenReader] and [OpenWriter] say
// of them: deadlines, and a Close that ends a pending Read, only where the
// ends have them. Its addresses' String is handle. Of the Options, only
// [WithBusyPoll] applies.
func OpenConn(handle string, opts ...Option) (*Conn, error) {
	c, err := newConfig("OpenConn", opts, false, true)
	if err != nil {
		return nil, err
	}
	rh, wh, ok := strings.Cut(handle, ",")
	switch {
	case !ok:
		return nil, invalidHandle(handle, errors.New("not two handles separated by a comma"))
	case strings.Contains(wh, ","):
		return nil, invalidHandle(handle, errors.New("more than two handles"))
	}
	// The form of both, then what each names, then opening either.
	if _, err := parseHandle(rh, handleBits); err != nil {
		return nil, connHandleError(handle, "read", rh, err)
	}
	if _, err := parseHandle(wh, handleBits); err != nil {
		return nil, connHandleError(handle, "write", wh, err)
	}
	if rh == wh { // both canonical, so equal numbers are equal strings
		return nil, invalidHandle(handle, errors.New("the read and write handles are the same"))
	}
	if _, err := checkHandle(rh, false); err != nil {
		return nil, connHandleError(handle, "read", rh, err)
	}
	if _, err := checkHandle(wh, true); err != nil {
		return nil, connHandleError(handle, "write", wh, err)
	}
	rf, rrelease, err := open(rh, false)
	if err != nil {
		return nil, connHandleError(handle, "read", rh, err)
	}
	r := Reader{f: rf, io: newEndIO(rf, false), busy: newBusyPoller(rf, c.busyPoll), release: rrelease}
	wf, wrelease, err := open(wh, true)
	if err != nil {
		r.Close()
		return nil, connHandleError(handle, "write", wh, err)
	}
	return &Conn{
		r:    r,
		w:    Writer{f: wf, io: newEndIO(wf, true), release: wrelease},
		addr: addr(handle),
	}, nil
}

// connHandleError reports the error err of one handle, part, of an OpenConn
// handle string: invalidHandle's errors name part alone, so their reason is
// given again under the whole string. Other errors (unsupported systems)
// pass as they are.
func connHandleError(handle, which, part string, err error) error {
	if !errors.Is(err, ErrInvalidHandle) {
		return err
	}
	reason := err
	if u, ok := err.(interface{ Unwrap() []error }); ok {
		if es := u.Unwrap(); len(es) == 2 && es[0] == ErrInvalidHandle {
			reason = es[1]
		}
	}
	return invalidHandle(handle, fmt.Errorf("the %s handle %q: %w", which, part, reason))
}

// Read reads up to len(p) bytes, returning as soon as some are available,
// as [Reader.Read] does. It returns 0, io.EOF once the peer has closed its
// writing half or exited and every byte it wrote has been read; after
// CloseRead or Close, and for a Read pending then, an error matching
// os.ErrClosed.
func (c *Conn) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if err != nil && err != io.EOF {
		err = c.opError("read", err)
	}
	return n, err
}

// Write writes all of p, blocking while the pipe is full, as [Writer.Write]
// does, and returns len(p), nil or the bytes written before an error. Once
// the peer has closed its reading half or exited, it returns an error
// matching [ErrBrokenPipe]; after CloseWrite or Close, and for a Write
// pending then, an error matching os.ErrClosed.
func (c *Conn) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	if err != nil {
		err = c.opError("write", err)
	}
	return n, err
}

// Close closes both halves, as CloseRead and CloseWrite do; a pending Read
// or Write returns an error matching os.ErrClosed. Closing again returns an
// error matching os.ErrClosed; after CloseRead and CloseWrite, Close
// returns nil the first time.
func (c *Conn) Close() error {
	if c.closed.Swap(true) {
		return c.opError("close", c.r.Close()) // closed by the first Close
	}
	errW, errR := c.w.Close(), c.r.Close()
	if errors.Is(errW, os.ErrClosed) {
		errW = nil // by CloseWrite
	}
	if errors.Is(errR, os.ErrClosed) {
		errR = nil
	}
	if err := errors.Join(errW, errR); err != nil {
		return c.opError("close", err)
	}
	return nil
}

// CloseWrite closes the writing half: a pending Write returns an error
// matching os.ErrClosed, and the peer reads io.EOF after the bytes already
// written. Reads go on. Closing it again returns an error matching
// os.ErrClosed.
func (c *Conn) CloseWrite() error {
	if err := c.w.Close(); err != nil {
		return c.opError("close", err)
	}
	return nil
}

// CloseRead closes the reading half: a pending Read returns an error
// matching os.ErrClosed, bytes not yet read are lost, and the peer's writes
// fail with [ErrBrokenPipe]. Writes go on. Closing it again returns an
// error matching os.ErrClosed.
func (c *Conn) CloseRead() error {
	if err := c.r.Close(); err != nil {
		return c.opError("close", err)
	}
	return nil
}

// LocalAddr returns the connection's address, whose Network is "anonpipe"
// and whose String is the handle string of the child's ends, on both sides
// (for ConnPipe, "pipe").
func (c *Conn) LocalAddr() net.Addr { return c.addr }

// RemoteAddr returns the same address as LocalAddr.
func (c *Conn) RemoteAddr() net.Addr { return c.addr }

// SetDeadline sets the read and write deadlines, as SetReadDeadline and
// SetWriteDeadline do, and returns the first error.
func (c *Conn) SetDeadline(t time.Time) error {
	errR := c.SetReadDeadline(t)
	errW := c.SetWriteDeadline(t)
	if errR != nil {
		return errR
	}
	return errW
}

// SetReadDeadline sets the time after which a pending or future Read fails
// with an error matching os.ErrDeadlineExceeded, as
// [Reader.SetReadDeadline] does; the zero time clears it. Where the end has
// no deadlines (see [OpenReader]), it returns an error matching
// os.ErrNoDeadline and changes nothing.
func (c *Conn) SetReadDeadline(t time.Time) error {
	if err := c.r.SetReadDeadline(t); err != nil {
		return c.opError("set", err)
	}
	return nil
}

// SetWriteDeadline sets the time after which a pending or future Write
// fails with an error matching os.ErrDeadlineExceeded, having written what
// fit, as [Writer.SetWriteDeadline] does; the zero time clears it. Where the
// end has no deadlines, it fails as SetReadDeadline does.
func (c *Conn) SetWriteDeadline(t time.Time) error {
	if err := c.w.SetWriteDeadline(t); err != nil {
		return c.opError("set", err)
	}
	return nil
}

// ReadFrom copies from src to the peer until io.EOF, for io.Copy, as
// [Writer.ReadFrom] does, moving the bytes inside the kernel where it can;
// src may also be a Conn. Its errors are those of Writer.ReadFrom.
func (c *Conn) ReadFrom(src io.Reader) (int64, error) {
	if sc, ok := src.(*Conn); ok {
		src = &sc.r
	}
	return c.w.ReadFrom(src)
}

// WriteTo copies from the peer to w until io.EOF, for io.Copy, as
// [Reader.WriteTo] does, moving the bytes inside the kernel where it can;
// w may also be a Conn. Its errors are those of Reader.WriteTo.
func (c *Conn) WriteTo(w io.Writer) (int64, error) {
	if wc, ok := w.(*Conn); ok {
		w = &wc.w
	}
	return c.r.WriteTo(w)
}

// opError reports err as the net package's Conns report theirs: code
// written for a net.Conn looks for a net.Error (Timeout) and net.ErrClosed.
func (c *Conn) opError(op string, err error) error {
	if errors.Is(err, os.ErrClosed) {
		err = &closedError{err}
	}
	return &net.OpError{Op: op, Net: connNetwork, Addr: c.addr, Err: err}
}

// closedError is the error of a closed Conn: it keeps the end's error,
// which matches os.ErrClosed, and matches net.ErrClosed too.
type closedError struct{ err error }

func (e *closedError) Error() string        { return e.err.Error() }
func (e *closedError) Unwrap() error        { return e.err }
func (e *closedError) Is(target error) bool { return target == net.ErrClosed }
