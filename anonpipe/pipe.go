package anonpipe

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"time"
)

// ErrBrokenPipe matches, with errors.Is, the error of a write or Drain once
// every read end of the pipe is closed; the system's error stays wrapped.
// Writes return it rather than raise SIGPIPE, which Go raises only on
// descriptors 1 and 2, where no end ever is.
var ErrBrokenPipe = errors.New("anonpipe: broken pipe")

// ErrInvalidHandle matches, with errors.Is, the error of [OpenReader] and
// [OpenWriter] for a handle string that is not a plain decimal number or
// does not name an open pipe end of the right direction. The error's text
// names the handle and the reason.
var ErrInvalidHandle = errors.New("anonpipe: invalid handle")

// Option configures the pipes made by [Pipe], [Cmd.ToChild],
// [Cmd.FromChild], [Cmd.Conn] or [ConnPipe], or the Reader of [OpenReader]
// or [OpenConn]. A call given an Option that does not apply to it, or a nil
// Option, fails and makes nothing.
type Option func(*config)

type config struct {
	bufferSize int
	busyPoll   time.Duration
	err        error
	// childReads and childWrites say which end, if any, a child gets
	// (Cmd.ToChild, Cmd.FromChild): on Windows that end is synchronous.
	childReads, childWrites bool
}

// WithBufferSize asks for a pipe buffer of at least n bytes. Linux rounds n
// up to a power-of-two number of pages, and refuses more than
// /proc/sys/fs/pipe-max-size to an unprivileged process; Windows takes n as
// the pipe's quota (64 KiB without the option); elsewhere the option has no
// effect. An n outside 1 to 2^31-1 makes the call fail.
//
// Without the option, a Linux pipe starts at the kernel's default size and
// grows to 512 KiB, where the system allows it, once 1 MiB has gone through
// one of this process's ends of it: a stream then wakes its reader and
// writer less often. A pipe given a size keeps it.
func WithBufferSize(n int) Option {
	// No system takes more than 2^31-1, and Linux would see n cut to 32 bits.
	if n <= 0 || n > math.MaxInt32 {
		return func(c *config) {
			c.err = fmt.Errorf("anonpipe: WithBufferSize(%d): size must be between 1 and %d", n, math.MaxInt32)
		}
	}
	return func(c *config) { c.bufferSize = n }
}

// newConfig applies opts, given to op, and refuses any that cannot apply
// there: WithBufferSize where op makes no pipe, WithBusyPoll where op
// returns no Reader.
func newConfig(op string, opts []Option, makesPipe, returnsReader bool) (config, error) {
	var c config
	for _, o := range opts {
		if o == nil {
			return c, errors.New("anonpipe: nil Option")
		}
		o(&c)
	}
	switch {
	case c.err != nil:
		return c, c.err
	case c.bufferSize > 0 && !makesPipe:
		return c, fmt.Errorf("anonpipe: %s: WithBufferSize applies only to a pipe this process makes", op)
	case c.busyPoll > 0 && !returnsReader:
		return c, fmt.Errorf("anonpipe: %s: WithBusyPoll applies only to a Reader", op)
	}
	return c, nil
}

// makePipe is Pipe with its options read.
func makePipe(c config) (*Reader, *Writer, error) {
	r, w, err := newPipe(c)
	if err == nil {
		r.busy = newBusyPoller(r.f, c.busyPoll)
	}
	return r, w, err
}

// Pipe returns a connected pair of ends: bytes written to w can be read from
// r. Neither end is inherited by child processes (for that, see
// [Cmd.ToChild] and [Cmd.FromChild]). The caller must close both ends. On
// error nothing is left open.
func Pipe(opts ...Option) (r *Reader, w *Writer, err error) {
	c, err := newConfig("Pipe", opts, true, true)
	if err != nil {
		return nil, nil, err
	}
	return makePipe(c)
}

// Reader is the read end of a pipe. Its methods are safe for concurrent use.
type Reader struct {
	f       *os.File
	io      endIO       // if not nil, does what f alone would not: see endIO
	busy    *busyPoller // WithBusyPoll
	grow    *growth     // if not nil, grows a pipe anonpipe made
	release func()      // after Close: see open
}

// endIO does the I/O of an end whose *os.File alone would not behave as
// documented: on Windows, one adopted in synchronous mode, which the poller
// cannot serve, and a Writer, whose writes must be cut to the pipe's size.
// setDeadline sets the read deadline of a Reader, the write deadline of a
// Writer.
type endIO interface {
	io.ReadWriteCloser
	setDeadline(t time.Time) error
}

// Read reads up to len(p) bytes, returning as soon as some are available.
// It returns 0, io.EOF once every write end is closed and the pipe is empty,
// and 0, nil at once for an empty p. After Close, and for a Read pending
// when Close is called, it returns an error matching os.ErrClosed.
func (r *Reader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		// A zero-byte ReadFile on a Windows pipe waits for data.
		return 0, checkOpen("read", r.f)
	}
	var n int
	var err error
	switch {
	case r.busy != nil:
		n, err = r.busy.read(p)
	case r.io != nil:
		n, err = r.io.Read(p)
	default:
		n, err = r.f.Read(p)
	}
	r.grow.add(int64(n))
	return n, err
}

// Close closes the read end; a pending Read returns an error matching
// os.ErrClosed. Once every read end is closed, writes fail with
// [ErrBrokenPipe]. Closing again returns an error matching os.ErrClosed.
func (r *Reader) Close() error {
	return closeEnd(r.f, r.io, r.release)
}

// SetReadDeadline sets the time after which a pending or future Read fails
// with an error matching os.ErrDeadlineExceeded; a deadline in the past
// makes Read fail at once, even when data is ready. The zero time clears
// it. For a Unix end in blocking mode (see [OpenReader] and [Reader.File]),
// it returns an error matching os.ErrNoDeadline and changes nothing.
func (r *Reader) SetReadDeadline(t time.Time) error {
	if r.io != nil {
		return deadlineError("SetReadDeadline", r.f, r.io.setDeadline(t))
	}
	return deadlineError("SetReadDeadline", r.f, r.f.SetReadDeadline(t))
}

// File returns the *os.File behind r, for APIs that need one, such as
// exec.Cmd.Stdin; closing either closes both. Its Fd method, which os/exec
// calls to hand the file to a child, puts a Unix descriptor in blocking
// mode, and takes a Windows overlapped handle off the poller: from then on
// r's deadlines no longer interrupt a pending Read, nor on Unix does Close.
// On Windows the ends of [Pipe] and the parent's ends from [Cmd.ToChild]
// and [Cmd.FromChild] are overlapped, which a program that uses plain
// ReadFile and WriteFile cannot use: hand such a program a child's end,
// which is synchronous.
func (r *Reader) File() *os.File {
	return r.f
}

// Writer is the write end of a pipe. Its methods are safe for concurrent use.
type Writer struct {
	f       *os.File
	io      endIO   // if not nil, does what f alone would not: see endIO
	grow    *growth // as for Reader
	release func()  // after Close: see open
}

// Write writes all of p, blocking while the pipe is full, and returns
// len(p), nil or the bytes written before an error, which the reader gets.
// A write of up to PIPE_BUF bytes to a Unix pipe (4096 on Linux, 512 on
// macOS and the BSDs), or of up to the pipe's quota to a Windows one, is
// never interleaved with other writers' bytes.
//
// Once every read end is closed, Write returns an error matching
// [ErrBrokenPipe]; after Close, and for a Write pending when Close is
// called, an error matching os.ErrClosed.
func (w *Writer) Write(p []byte) (int, error) {
	if len(p) == 0 {
		// A zero-byte WriteFile on a Windows pipe reaches the reader as a
		// zero-byte read, which looks like EOF.
		return 0, checkOpen("write", w.f)
	}
	var n int
	var err error
	if w.io != nil {
		n, err = w.io.Write(p)
	} else {
		n, err = w.f.Write(p)
	}
	w.grow.add(int64(n))
	return n, wrapWriteError(err)
}

// Close closes the write end; a pending Write or Drain returns an error
// matching os.ErrClosed. Once every write end is closed, the reader gets
// io.EOF after the bytes still in the pipe. Closing again returns an error
// matching os.ErrClosed.
func (w *Writer) Close() error {
	return closeEnd(w.f, w.io, w.release)
}

// SetWriteDeadline sets the time after which a pending or future Write
// fails with an error matching os.ErrDeadlineExceeded, having written what
// fit; the zero time clears it. It does not bound Drain. Where an end has no
// deadlines it fails as [Reader.SetReadDeadline] does.
func (w *Writer) SetWriteDeadline(t time.Time) error {
	if w.io != nil {
		return deadlineError("SetWriteDeadline", w.f, w.io.setDeadline(t))
	}
	return deadlineError("SetWriteDeadline", w.f, w.f.SetWriteDeadline(t))
}

// Drain waits until the reader has read every byte written so far, like
// .NET's WaitForPipeDrain. It returns nil once the pipe is empty, an error
// matching [ErrBrokenPipe] if every read end is closed, ctx.Err() if ctx
// ends first, and an error matching os.ErrClosed if w is closed.
//
// Drain works on Linux and Windows; on other systems it returns an error
// matching errors.ErrUnsupported. On a Linux TCP socket it returns once the
// peer's kernel has acknowledged every byte, which does not mean that the
// peer has read them.
func (w *Writer) Drain(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return wrapWriteError(drain(ctx, w.f))
}

// File returns the *os.File behind w, with the effects described for
// [Reader.File].
func (w *Writer) File() *os.File {
	return w.f
}

// closeEnd closes f, through x if the end has an endIO; the poller, or x,
// wakes any Read or Write pending on it. Then, once, it releases what the
// end still holds besides f.
func closeEnd(f *os.File, x endIO, release func()) error {
	var err error
	if x != nil {
		err = x.Close()
	} else {
		err = f.Close()
	}
	if err == nil && release != nil {
		release()
	}
	return err
}

// brokenPipeError keeps the operating system's error and its text while
// matching ErrBrokenPipe.
type brokenPipeError struct{ err error }

func (e *brokenPipeError) Error() string        { return e.err.Error() }
func (e *brokenPipeError) Unwrap() error        { return e.err }
func (e *brokenPipeError) Is(target error) bool { return target == ErrBrokenPipe }

func wrapWriteError(err error) error {
	if err == nil || errors.Is(err, ErrBrokenPipe) || !isBrokenPipe(err) {
		return err
	}
	return &brokenPipeError{err}
}

// deadlineError is the error of setting a deadline on f. On a closed file
// os.File returns an internal error that does not match os.ErrClosed, unlike
// its other methods.
func deadlineError(op string, f *os.File, err error) error {
	if f == nil {
		return err // os.ErrInvalid, as from every other method of a zero end
	}
	if err != nil {
		if cerr := checkOpen(op, f); cerr != nil {
			return cerr
		}
	}
	return wrapDeadlineError(err)
}

// checkOpen returns nil, or the error of op on f if f is closed.
func checkOpen(op string, f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	if rc.Control(func(uintptr) {}) != nil {
		return errClosed(op, f)
	}
	return nil
}

// errClosed is the error of an operation on a closed end. A raw connection
// (os.File.SyscallConn) fails on a closed file with an internal error value;
// this reports it the way os.File's own methods do.
func errClosed(op string, f *os.File) error {
	return &os.PathError{Op: op, Path: f.Name(), Err: os.ErrClosed}
}
