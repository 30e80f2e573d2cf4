package anonpipe

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
)

// Cmd is an exec.Cmd that can carry anonymous pipes to its child. It embeds
// *exec.Cmd, so an existing command can be wrapped as
// &anonpipe.Cmd{Cmd: existing}.
//
// Start, Wait, Run, Output and CombinedOutput behave as exec.Cmd's, and also
// close the pipes' ends; call them on the Cmd, not on the embedded exec.Cmd,
// which knows nothing of the pipes. A Cmd cannot be reused after Start.
// Close may be called concurrently with any method, a pending Wait say; it
// is incorrect to call the other methods concurrently with each other.
type Cmd struct {
	*exec.Cmd

	// mu guards the fields below, so that Close can run beside any other
	// method. It is held across exec.Cmd.Start, so that Close cannot close
	// an end while Start hands it over, but never across exec.Cmd.Wait,
	// which would make Close wait for the child.
	mu         sync.Mutex
	started    bool
	closed     bool
	childEnds  []childEnd  // held until Start returns
	parentEnds []io.Closer // held until Wait sees the child exit
}

// childEnd is the parent's copy of a child's end, and what the child was
// told of it, which Start checks still holds.
type childEnd struct {
	*os.File
	handle string
	by     string // ToChild or FromChild
}

// Command returns a Cmd to run the named program with the given arguments,
// as exec.Command does.
func Command(name string, arg ...string) *Cmd {
	return &Cmd{Cmd: exec.Command(name, arg...)}
}

// CommandContext is like Command but includes a context, as
// exec.CommandContext does.
func CommandContext(ctx context.Context, name string, arg ...string) *Cmd {
	return &Cmd{Cmd: exec.CommandContext(ctx, name, arg...)}
}

// ToChild makes a pipe to the child. It returns the parent's write end and
// the handle string of the child's read end, for the child to pass to
// [OpenReader]. The child's end goes into ExtraFiles on Unix, the handle
// being its descriptor number in the child, and into
// SysProcAttr.AdditionalInheritedHandles on Windows, the handle being its
// HANDLE value and the end synchronous, for any program's ReadFile; Start
// fails if that entry is moved or removed.
//
// Start closes the parent's copy of the child's end: writes to w fail with
// [ErrBrokenPipe] once the child has closed its end. Wait closes w after the
// child exits, so it is incorrect to call Wait before all writes to w have
// completed. Closing w sends the child EOF.
//
// ToChild fails, attaching nothing, after Start or Close, for an Option
// that is invalid or does not apply, when [Pipe] would fail, and on Windows
// when SysProcAttr.NoInheritHandles is set.
func (c *Cmd) ToChild(opts ...Option) (w *Writer, handle string, err error) {
	_, w, handle, err = c.attachPipe("ToChild", opts, true)
	return w, handle, err
}

// FromChild makes a pipe from the child. It returns the parent's read end
// and the handle string of the child's write end, for the child to pass to
// [OpenWriter]; it passes the handle and fails as [Cmd.ToChild] does.
//
// Start closes the parent's copy of the child's end, so r returns io.EOF
// once the child, and any process it gave its end to, has closed it or
// exited. Wait closes r after the child exits, losing what r has not read:
// it is incorrect to call Wait before all reads from r have completed, and
// for the same reason incorrect to call Run, Output or CombinedOutput when
// using FromChild.
func (c *Cmd) FromChild(opts ...Option) (r *Reader, handle string, err error) {
	r, _, handle, err = c.attachPipe("FromChild", opts, false)
	return r, handle, err
}

// attachPipe makes a pipe for method and attaches its read end (toChild)
// or its write end to the child; the parent keeps the other, returned.
func (c *Cmd) attachPipe(method string, opts []Option, toChild bool) (*Reader, *Writer, string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.canAttach(method); err != nil {
		return nil, nil, "", err
	}
	cfg, err := newConfig(method, opts, true, !toChild)
	if err != nil {
		return nil, nil, "", err
	}
	cfg.childReads, cfg.childWrites = toChild, !toChild
	r, w, err := makePipe(cfg)
	if err != nil {
		return nil, nil, "", err
	}
	child, parent := r.f, io.Closer(w)
	if !toChild {
		child, parent = w.f, r
	}
	handle, err := c.attach(child)
	if err != nil {
		r.Close()
		w.Close()
		return nil, nil, "", err
	}
	c.childEnds = append(c.childEnds, childEnd{child, handle, method})
	c.parentEnds = append(c.parentEnds, parent)
	if toChild {
		return nil, w, handle, nil
	}
	return r, nil, handle, nil
}

// Conn makes a two-way connection to the child: a pipe to it and a pipe
// from it, attached as by [Cmd.ToChild] and [Cmd.FromChild]. It returns the
// parent's Conn and the handle string for the child to pass to [OpenConn]:
// the child's read handle and write handle, separated by a comma ("3,4" on
// Unix, two HANDLE values on Windows).
//
// Start closes the parent's copies of the child's ends: conn's Read
// returns io.EOF, and its Write fails with [ErrBrokenPipe], once the child
// has closed its Conn's halves or exited. Wait closes conn after the child
// exits, losing what conn has not read: it is incorrect to call Wait before
// all reads and writes on conn have completed, and for the same reason
// incorrect to call Run, Output or CombinedOutput when using Conn.
// conn.CloseWrite sends the child EOF.
//
// [WithBufferSize] applies to both pipes, [WithBusyPoll] to conn's reads.
// Conn fails, attaching nothing, where ToChild would.
func (c *Cmd) Conn(opts ...Option) (conn *Conn, handle string, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.canAttach("Conn"); err != nil {
		return nil, "", err
	}
	cfg, err := newConfig("Conn", opts, true, true)
	if err != nil {
		return nil, "", err
	}
	conn, r, w, err := connPipes(cfg)
	if err != nil {
		return nil, "", err
	}
	rh, err := c.attach(r)
	if err != nil {
		conn.Close()
		r.Close()
		w.Close()
		return nil, "", err
	}
	wh, err := c.attach(w)
	if err != nil {
		// attach fails for both ends (NoInheritHandles) or for neither, so
		// this is not reached. If it were, r would stay attached, open (a
		// closed handle's number can be reused) and listed, for Start or
		// Close to close.
		c.childEnds = append(c.childEnds, childEnd{r, rh, "Conn"})
		conn.Close()
		w.Close()
		return nil, "", err
	}
	handle = rh + "," + wh
	conn.addr = addr(handle)
	c.childEnds = append(c.childEnds, childEnd{r, rh, "Conn"}, childEnd{w, wh, "Conn"})
	c.parentEnds = append(c.parentEnds, conn)
	return conn, handle, nil
}

func (c *Cmd) canAttach(method string) error {
	switch {
	case c.Cmd == nil:
		return errors.New("anonpipe: " + method + " on a Cmd with a nil exec.Cmd")
	case c.started || c.Process != nil:
		return errors.New("anonpipe: " + method + " after Start")
	case c.closed:
		return errors.New("anonpipe: " + method + " after Close")
	}
	return nil
}

// Start starts the command, as exec.Cmd.Start does, then closes the parent's
// copies of the child's ends, whether or not the child started; if Start
// fails, it also closes the parent's ends. Start fails without starting the
// child after Close, and if an entry that passes the child an end was
// changed after [Cmd.ToChild] or [Cmd.FromChild]. Called twice, it fails
// without closing anything.
func (c *Cmd) Start() error {
	if c.Cmd == nil {
		return errors.New("anonpipe: Start on a Cmd with a nil exec.Cmd")
	}
	c.mu.Lock()
	if c.started || c.Process != nil {
		c.mu.Unlock()
		return errors.New("anonpipe: already started")
	}
	c.started = true
	var err error
	if c.closed {
		err = errors.New("anonpipe: Start after Close")
	} else if err = c.checkAttached(); err == nil {
		err = c.startChild()
	}
	ends := c.childEnds
	c.childEnds = nil
	var parents []io.Closer
	if err != nil {
		parents = c.parentEnds
		c.parentEnds = nil
	}
	c.mu.Unlock()
	closeAll(ends)
	closeAll(parents)
	return err
}

// Wait waits for the command to exit, as exec.Cmd.Wait does, then closes
// the parent's ends of the pipes, whatever it returns (none if the command
// never started); it does not wait for processes the child gave its ends
// to. A Read or Write pending on those ends returns an error matching
// os.ErrClosed, and unread bytes are lost: it is incorrect to call Wait
// before all reads and writes on them have completed.
//
// If the embedded exec.Cmd started the command, Wait also closes the
// child's ends, which the parent held while the child ran, and returns an
// error saying so joined with exec.Cmd.Wait's.
func (c *Cmd) Wait() error {
	if c.Cmd == nil {
		return errors.New("anonpipe: Wait on a Cmd with a nil exec.Cmd")
	}
	err := c.Cmd.Wait()
	// Process is set once the child started; ProcessState is not when the
	// wait itself failed (ECHILD with SIGCHLD ignored), and the ends must
	// be closed then too.
	if c.Process == nil {
		return err
	}
	c.mu.Lock()
	outside := !c.started
	ends, parents := c.childEnds, c.parentEnds
	c.childEnds, c.parentEnds = nil, nil
	c.mu.Unlock()
	closeAll(ends)
	closeAll(parents)
	if outside {
		return errors.Join(errors.New("anonpipe: Wait: the command was started outside Cmd.Start, "+
			"by the embedded exec.Cmd, so the parent held the child's pipe ends while it ran"), err)
	}
	return err
}

// Run starts the command and waits for it to complete, as exec.Cmd.Run
// does, closing the ends as Start and Wait do. Writes to a [Cmd.ToChild]
// end must be made in another goroutine, and complete before the child
// exits; see [Cmd.FromChild] for why Run is incorrect with it.
func (c *Cmd) Run() error {
	if err := c.Start(); err != nil {
		return err
	}
	return c.Wait()
}

// Output runs the command and returns its standard output, as
// exec.Cmd.Output does. Like Run, it is incorrect when using
// [Cmd.FromChild].
func (c *Cmd) Output() ([]byte, error) {
	if c.Cmd == nil {
		return nil, errors.New("anonpipe: Output on a Cmd with a nil exec.Cmd")
	}
	if c.Stdout != nil {
		return nil, errors.New("exec: Stdout already set")
	}
	var stdout bytes.Buffer
	c.Stdout = &stdout
	var stderr *headTail
	if c.Stderr == nil {
		stderr = &headTail{max: 32 << 10}
		c.Stderr = stderr
	}
	err := c.Run()
	var ee *exec.ExitError
	if stderr != nil && errors.As(err, &ee) {
		ee.Stderr = stderr.Bytes()
	}
	return stdout.Bytes(), err
}

// CombinedOutput runs the command and returns its standard output and
// standard error, as exec.Cmd.CombinedOutput does. Like Run, it is incorrect
// when using [Cmd.FromChild].
func (c *Cmd) CombinedOutput() ([]byte, error) {
	if c.Cmd == nil {
		return nil, errors.New("anonpipe: CombinedOutput on a Cmd with a nil exec.Cmd")
	}
	if c.Stdout != nil {
		return nil, errors.New("exec: Stdout already set")
	}
	if c.Stderr != nil {
		return nil, errors.New("exec: Stderr already set")
	}
	var b bytes.Buffer
	c.Stdout = &b
	c.Stderr = &b
	err := c.Run()
	return b.Bytes(), err
}

// Close closes every end the Cmd still holds: both ends of each pipe before
// Start, the parent's ends until Wait. It neither stops nor waits for the
// child. It skips ends already closed, may be called more than once, and
// waits for a Start under way; ToChild, FromChild and Start fail after it.
func (c *Cmd) Close() error {
	c.mu.Lock()
	c.closed = true
	ends, parents := c.childEnds, c.parentEnds
	c.childEnds, c.parentEnds = nil, nil
	c.mu.Unlock()
	return errors.Join(closeAll(ends), closeAll(parents))
}

func closeAll[T io.Closer](cs []T) error {
	var errs []error
	for _, c := range cs {
		if err := c.Close(); err != nil && !errors.Is(err, os.ErrClosed) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// headTail keeps the first and the last max bytes written to it: the start
// of a failed child's standard error says what it was doing, the end why it
// failed.
type headTail struct {
	max     int
	head    []byte
	tail    []byte // a ring once it holds max bytes; its oldest byte is at pos
	pos     int
	omitted int64 // bytes between head and tail
}

func (h *headTail) Write(p []byte) (int, error) {
	n := len(p)
	take := min(len(p), h.max-len(h.head))
	h.head = append(h.head, p[:take]...)
	p = p[take:]
	for len(p) > 0 {
		if len(h.tail) < h.max {
			k := min(len(p), h.max-len(h.tail))
			h.tail = append(h.tail, p[:k]...)
			p = p[k:]
			continue
		}
		k := copy(h.tail[h.pos:], p)
		h.omitted += int64(k)
		h.pos = (h.pos + k) % h.max
		p = p[k:]
	}
	return n, nil
}

// Bytes returns what was kept, in the form exec.Cmd.Output gives it.
func (h *headTail) Bytes() []byte {
	b := append([]byte(nil), h.head...)
	if h.omitted > 0 {
		b = fmt.Appendf(b, "\n... omitting %d bytes ...\n", h.omitted)
	}
	b = append(b, h.tail[h.pos:]...)
	return append(b, h.tail[:h.pos]...)
}
