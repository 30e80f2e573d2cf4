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

// ErrBrokenPipe matches, with errors.Is, the error of a write or a Drain on a
// pipe whose read end has been closed by every process that held it. The
// operating system's own error stays wrapped and can be reached with
// errors.As or errors.Unwrap.
//
// Writing to a broken pipe never raises SIGPIPE through this package: the
// write returns this error instead.
var ErrBrokenPipe = errors.New("anonpipe: broken pipe")

// ErrInvalidHandle matches, with errors.Is, every error returned by
// [OpenReader] and [OpenWriter] for a handle string that cannot be used: one
// that is not a plain decimal number, names no open descriptor or handle,
// names something other than a pipe, or names an end of the wrong direction.
// The error's text names the handle and the reason.
var ErrInvalidHandle = errors.New("anonpipe: invalid handle")

// Option configures a pipe made by [Pipe], [Cmd.ToChild] or [Cmd.FromChild],
// or the Reader [OpenReader] returns. A call given an Option that does not
// apply to it, or a nil Option, fails and makes nothing.
type Option func(*config)

type config struct {
	bufferSize int
	busyPoll   time.Duration
	err        error
}

// WithBufferSize asks for a pipe buffer of at least n bytes, like the
// bufferSize argument of .NET's AnonymousPipeServerStream.
//
// On Linux the pipe is resized with fcntl(F_SETPIPE_SZ), which rounds n up to
// a power-of-two number of pages; an unprivileged process cannot exceed
// /proc/sys/fs/pipe-max-size, and asking for more makes the pipe's creation
// fail. On Windows n is passed to CreatePipe, which treats it as a hint. On
// other systems the kernel sizes pipes itself and the option has no effect.
// A size of zero or less, or above 2 GiB - 1 (no system takes more, and
// Linux would otherwise see the size cut to 32 bits), makes the pipe's
// creation fail.
func WithBufferSize(n int) Option {
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
// r. Neither end is inherited by child processes; to hand an end to a child
// use [Cmd.ToChild] or [Cmd.FromChild] instead, which make the pipe and pass
// the child's end for you.
//
// The caller must close both ends. Pipe fails if the system is out of
// descriptors, if an Option is invalid, or if [WithBufferSize] asks for more
// than the system lets this process have; no end is left open on error.
func Pipe(opts ...Option) (r *Reader, w *Writer, err error) {
	c, err := newConfig("Pipe", opts, true, true)
	if err != nil {
		return nil, nil, err
	}
	return makePipe(c)
}

// Reader is the read end of a pipe. It implements io.ReadCloser and
// io.WriterTo. Its methods are safe for concurrent use.
type Reader struct {
	f       *os.File
	busy    *busyPoller // WithBusyPoll
	release func()      // after Close: see open
}

// Read reads up to len(p) bytes. It returns as soon as some bytes are
// available, without waiting to fill p. It returns 0, io.EOF once every
// writer is closed and the pipe is empty. A Read of an empty p returns 0,
// nil at once. After Close, Read returns an error matching os.ErrClosed, and
// a Read pending when Close is called returns with that error.
func (r *Reader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		// A zero-byte ReadFile on a Windows pipe waits for data.
		return 0, checkOpen("read", r.f)
	}
	if r.busy != nil {
		return r.busy.read(p)
	}
	return r.f.Read(p)
}

// WriteTo copies from the pipe to w until EOF, and returns the number of
// bytes copied and the first error, other than io.EOF, met on either side.
// It makes io.Copy as fast as a copy between plain *os.File values or faster:
// on Linux it moves the bytes inside the kernel (splice) when w is a
// [Writer], an *os.File that is a pipe, a regular file or /dev/null,
// io.Discard, or a *net.TCPConn or *net.UnixConn. A type of the caller's
// that embeds one of these is written through its own Write, never around
// it.
//
// While the copy waits for the pipe, r's read deadline and Close end it, as
// they end a Read; while it waits for w to take more, w's own deadline
// applies, as it would to a Write on w.
//
// An error of r is what Read would return; one of w is exactly what w.Write
// would return, unwrapped, so exec.Cmd ignores the broken pipe of a child
// that leaves its Stdin unread, as it does with other readers. Only a
// [Writer] as w reports [ErrBrokenPipe].
func (r *Reader) WriteTo(w io.Writer) (int64, error) {
	return r.writeTo(w)
}

// Close closes the read end. A Read pending on it returns an error matching
// os.ErrClosed. Once every read end of the pipe is closed, writes fail with
// [ErrBrokenPipe]. Closing an end that is already closed returns an error
// matching os.ErrClosed and has no other effect.
func (r *Reader) Close() error {
	return closeEnd(r.f, r.release)
}

// SetReadDeadline sets the time after which a pending or future Read fails
// with an error matching os.ErrDeadlineExceeded. A deadline in the past makes
// Read fail at once, even when data is ready. The zero time clears it.
//
// An end that cannot have deadlines returns an error matching
// os.ErrNoDeadline and changes nothing: on Windows, whose anonymous pipes
// are synchronous, and on Unix an end in blocking mode (see [OpenReader]
// and [Reader.File]).
func (r *Reader) SetReadDeadline(t time.Time) error {
	return deadlineError("SetReadDeadline", r.f, r.f.SetReadDeadline(t))
}

// File returns the *os.File behind the Reader; closing either closes both.
// It is for APIs that need one, such as exec.Cmd.Stdin.
//
// Handing the File to another process through os/exec, or calling its Fd
// method, puts the descriptor in blocking mode, so that any program can
// read it with plain blocking calls. From then on the Reader still reads,
// but its deadlines and Close no longer interrupt a pending Read. An end
// from [OpenReader] that kept the mode it came with is handed on in that
// mode. The File's SyscallConn reaches the descriptor without that cost.
func (r *Reader) File() *os.File {
	return r.f
}

// Writer is the write end of a pipe. It implements io.WriteCloser and
// io.ReaderFrom. Its methods are safe for concurrent use.
type Writer struct {
	f       *os.File
	release func() // after Close: see open
}

// Write writes all of p, blocking while the pipe is full. It returns
// len(p), nil, or the number of bytes written before an error. On a pipe, a
// write of up to PIPE_BUF bytes is atomic: it is never interleaved with
// another writer's bytes. PIPE_BUF is 4096 on Linux and 512 on macOS and the
// BSDs; Windows and stream sockets promise no atomic size. A Write of an
// empty p returns 0, nil at once.
//
// If every read end is closed, Write returns an error matching
// [ErrBrokenPipe]. After Close, Write returns an error matching os.ErrClosed,
// and a Write pending when Close is called returns with that error and the
// number of bytes already written.
func (w *Writer) Write(p []byte) (int, error) {
	if len(p) == 0 {
		// A zero-byte WriteFile on a Windows pipe reaches the reader as a
		// zero-byte read, which looks like EOF.
		return 0, checkOpen("write", w.f)
	}
	n, err := write(w.f, p)
	return n, wrapWriteError(err)
}

// ReadFrom copies from src into the pipe until src returns io.EOF, and
// returns the number of bytes copied and the first other error met on
// either side. It makes io.Copy as fast as a copy between plain *os.File
// values or faster: on Linux it moves the bytes inside the kernel (splice)
// when src is a [Reader], an *os.File that is a pipe or a regular file, a
// *net.TCPConn or *net.UnixConn, or an io.LimitedReader of one, as io.CopyN
// makes. A type of the caller's that embeds one of these is read through
// its own Read, never around it.
//
// While the copy waits for room in the pipe, w's write deadline and Close
// end it, as they end a Write; while it waits for src, src's own deadline
// applies, as it would to a Read on src.
//
// An error of w is what Write would return: one matching [ErrBrokenPipe]
// once every read end is closed. An error of src is exactly what src.Read
// would return, never wrapped.
func (w *Writer) ReadFrom(src io.Reader) (int64, error) {
	return w.readFrom(src)
}

// Close closes the write end. Once every write end of the pipe is closed,
// the reader sees io.EOF after the bytes still buffered. A Write or Drain
// pending on w returns an error matching os.ErrClosed. Closing an end that is
// already closed returns an error matching os.ErrClosed and has no other
// effect.
func (w *Writer) Close() error {
	return closeEnd(w.f, w.release)
}

// SetWriteDeadline sets the time after which a pending or future Write
// fails with an error matching os.ErrDeadlineExceeded, after writing what
// fit before it. The zero time clears it. It does not bound Drain, which
// takes a context instead.
//
// An end that cannot have deadlines returns an error matching
// os.ErrNoDeadline and changes nothing: on Windows, whose anonymous pipes
// are synchronous, and on Unix an end in blocking mode (see [OpenWriter]
// and [Writer.File]).
func (w *Writer) SetWriteDeadline(t time.Time) error {
	return deadlineError("SetWriteDeadline", w.f, w.f.SetWriteDeadline(t))
}

// Drain waits until the reader has read every byte written so far, like
// .NET's WaitForPipeDrain, but with a context. It flushes nothing: a Write
// has handed its bytes to the kernel when it returns.
//
// It returns nil once the pipe is empty, an error matching [ErrBrokenPipe] if
// every read end is closed (even if the pipe is empty), ctx.Err() if ctx ends
// first, and an error matching os.ErrClosed if w is closed.
//
// It works on Linux and Windows. On a Linux stream socket it returns once
// the kernel holds nothing of what was sent: for TCP, once the peer's kernel
// has acknowledged every byte, which does not mean the peer has read them.
// On other Unix systems Drain returns an error matching
// errors.ErrUnsupported.
func (w *Writer) Drain(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return wrapWriteError(drain(ctx, w.f))
}

// File returns the *os.File behind the Writer; closing either closes both.
// It is for APIs that need one, such as exec.Cmd.Stdout.
//
// Handing the File to another process through os/exec, or calling its Fd
// method, puts the descriptor in blocking mode, so that any program can
// write it with plain blocking calls. From then on the Writer still writes,
// but its deadlines and Close no longer interrupt a pending Write. An end
// from [OpenWriter] that kept the mode it came with is handed on in that
// mode. The File's SyscallConn reaches the descriptor without that cost.
func (w *Writer) File() *os.File {
	return w.f
}

// closeEnd closes f, then, once, what the end still holds besides it.
func closeEnd(f *os.File, release func()) error {
	err := closeFile(f)
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
