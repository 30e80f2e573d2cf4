package pipetest

import (
	"context"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"sync"
	"time"

	"github.com/anonpipe/anonpipe/anonpipe"
)

const (
	// pageSize is the size of a page, and so of a pipe buffer's slot, and
	// PIPE_BUF on Linux: a Write of at most this many bytes is atomic.
	pageSize = 4096
	// defaultCapacity is the capacity of a Linux pipe that nobody resized.
	defaultCapacity = 65536
	// A pipe that anonpipe made and WithBufferSize did not size grows to
	// streamSlots pages once an end has moved growAfter bytes.
	growAfter   = 1 << 20
	streamSlots = 512 << 10 / pageSize
	// copySize is the size of the buffer that WriteTo and ReadFrom move
	// bytes through, as io.Copy's would be.
	copySize = 32 << 10
)

// Pipe returns the ends of a new in-memory pipe. They behave as those of
// [anonpipe.Pipe] on Linux, but have no File method. Pipe panics if an
// Option is nil. It starts no goroutine and holds no system resource, so
// ends left open leak nothing.
func Pipe(opts ...Option) (r *Reader, w *Writer) {
	c := config{capacity: defaultCapacity, readErrAt: math.MaxInt64, writeErrAt: math.MaxInt64,
		hangAt: math.MaxInt64, closeAt: math.MaxInt64}
	for _, o := range opts {
		if o == nil {
			panic("pipetest: nil Option")
		}
		o(&c)
	}
	// A Linux pipe has a power-of-two number of slots, one page each: round
	// up as F_SETPIPE_SZ does.
	slots := 1
	for slots*pageSize < c.capacity {
		slots <<= 1
	}
	p := &pipe{
		cfg:      c,
		slots:    slots,
		rsem:     make(chan struct{}, 1),
		wsem:     make(chan struct{}, 1),
		readable: make(chan struct{}, 1),
		writable: make(chan struct{}, 1),
		rdone:    make(chan struct{}),
		wdone:    make(chan struct{}),
		// Enough for small Writes; put grows them as needed.
		buf:   make([]byte, pageSize),
		pages: make([]int, min(slots, defaultCapacity/pageSize)),
	}
	p.rdl.c = make(chan struct{})
	p.wdl.c = make(chan struct{})
	if c.random {
		p.rng = rand.New(rand.NewPCG(c.seed, c.seed^0x9e3779b97f4a7c15))
	}
	if c.closeAt == 0 {
		p.closeReader()
	}
	return &Reader{p}, &Writer{p}
}

// Reader is the read end of a pipe made by [Pipe]. It behaves as an
// [*anonpipe.Reader]; concurrent Reads take turns.
type Reader struct{ p *pipe }

// Writer is the write end of a pipe made by [Pipe]. It behaves as an
// [*anonpipe.Writer]; concurrent Writes take turns, so their bytes never
// interleave.
type Writer struct{ p *pipe }

// pipe is the state that a Reader and a Writer share.
type pipe struct {
	cfg   config // set by Pipe, then read only
	slots int    // how many pages the pipe holds; set by Pipe, then grown under mu

	// rsem and wsem serialise the Reads (and WriteTo's chunks) and the
	// Writes (and ReadFrom's chunks), as an *os.File's locks do; a token in
	// the channel is a held lock. Close and deadlines interrupt waiting for
	// them.
	rsem, wsem chan struct{}
	// readable and writable wake the Read or Write that holds rsem or wsem
	// and waits for bytes or room; with the semaphores there is at most one
	// such waiter on each. Close and deadlines reach it through rdone, wdone
	// and the deadlines' channels instead.
	readable, writable chan struct{}
	// rdone and wdone are closed when the read and write end are closed.
	rdone, wdone chan struct{}

	mu   sync.Mutex
	buf  []byte // ring of unread bytes, grown up to slots pages as needed
	head int    // index in buf of the oldest unread byte
	n    int    // number of unread bytes
	// pages holds the unread bytes of each page in use, as a ring, oldest
	// at pfirst, that grows up to slots entries as needed; the bytes
	// themselves are in buf, in the same order.
	pages            []int
	pfirst, pn       int // the oldest page in use, and how many are
	lastEnd          int // bytes written into the newest page, read or not
	rclosed, wclosed bool
	rwait, wwait     bool          // a Read waits on readable, a Write on writable
	drained          chan struct{} // made by a waiting Drain, closed once nothing is unread
	rdl, wdl         deadline
	nread            int64 // bytes read so far, for the faults of Reads

	// Guarded by rsem.
	rng    *rand.Rand
	rtimer *time.Timer
	// Guarded by wsem.
	nwritten int64
}

// deadline is the state of one end's deadline, guarded by pipe.mu.
type deadline struct {
	c      chan struct{} // closed once the deadline has passed; never nil
	passed bool
	timer  *time.Timer
	gen    uint64 // counts changes, so that a stale timer does nothing
}

// Read reads up to len(p) bytes, returning as soon as there are some, or
// 0, io.EOF once the writer is closed and the pipe is empty; one of no bytes
// returns 0, nil at once unless r is closed. Once r is closed or its deadline passes, Reads,
// pending or not, fail with an error matching os.ErrClosed or
// os.ErrDeadlineExceeded.
func (r *Reader) Read(p []byte) (int, error) {
	pp := r.p
	if len(p) == 0 {
		return 0, zeroLength(pp.rdone, "read")
	}
	if err := pp.acquire(pp.rsem, pp.rdone, &pp.rdl, "read"); err != nil {
		return 0, err
	}
	n, err := pp.read(p)
	<-pp.rsem
	return n, err
}

// WriteTo copies the pipe to w until EOF, and returns the number of bytes w
// took and the first error other than io.EOF. It reads as Read does; other
// Reads proceed while it waits in w.Write, where Close and the deadline do
// not reach it.
func (r *Reader) WriteTo(w io.Writer) (int64, error) {
	p := r.p
	buf := make([]byte, copySize)
	var total int64
	for {
		if err := p.acquire(p.rsem, p.rdone, &p.rdl, "read"); err != nil {
			return total, err
		}
		n, err := p.read(buf)
		<-p.rsem
		if n > 0 {
			m, werr := w.Write(buf[:n])
			if m < 0 || m > n {
				m = 0
				if werr == nil {
					werr = io.ErrShortWrite
				}
			}
			total += int64(m)
			if werr != nil {
				return total, werr
			}
			if m != n {
				return total, io.ErrShortWrite
			}
		}
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
}

// Close closes the read end and discards the unread bytes: pending Reads
// fail with an error matching os.ErrClosed, and Writes and Drains with one
// matching [anonpipe.ErrBrokenPipe]. A second Close returns an error
// matching os.ErrClosed.
func (r *Reader) Close() error {
	p := r.p
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.rclosed {
		return pathError("close", os.ErrClosed)
	}
	p.closeReader()
	return nil
}

// SetReadDeadline sets the time after which Reads, pending or not, fail
// with an error matching os.ErrDeadlineExceeded; a past time fails them even
// with bytes ready, and the zero time clears it. It fails with os.ErrClosed
// once r is closed.
func (r *Reader) SetReadDeadline(t time.Time) error {
	p := r.p
	return p.setDeadline(&p.rdl, t, &p.rclosed, "SetReadDeadline")
}

// Write writes all of p, waiting while the pipe is full, and returns len(p),
// nil or the count written before an error. Writes of up to 4096 bytes are
// atomic; one of no bytes returns 0, nil at once unless w is closed. Once
// the reader is closed,
// w is closed or the deadline passes, Writes, pending or not, fail with an
// error matching [anonpipe.ErrBrokenPipe] (and syscall.EPIPE), os.ErrClosed
// or os.ErrDeadlineExceeded. Write does not keep p.
func (w *Writer) Write(p []byte) (int, error) {
	pp := w.p
	if len(p) == 0 {
		return 0, zeroLength(pp.wdone, "write")
	}
	if err := pp.acquire(pp.wsem, pp.wdone, &pp.wdl, "write"); err != nil {
		return 0, err
	}
	n, err := pp.write(p)
	<-pp.wsem
	return n, err
}

// ReadFrom copies src into the pipe until src returns io.EOF, and returns
// the number of bytes copied and the first other error. It writes as Write
// does; other Writes proceed while it waits in src.Read, where Close and the
// deadline do not reach it.
func (w *Writer) ReadFrom(src io.Reader) (int64, error) {
	p := w.p
	buf := make([]byte, copySize)
	var total int64
	for {
		n, rerr := src.Read(buf)
		if n < 0 || n > len(buf) {
			return total, io.ErrNoProgress
		}
		if n > 0 {
			if err := p.acquire(p.wsem, p.wdone, &p.wdl, "write"); err != nil {
				return total, err
			}
			m, err := p.write(buf[:n])
			<-p.wsem
			total += int64(m)
			if err != nil {
				return total, err
			}
		}
		if rerr == io.EOF {
			return total, nil
		}
		if rerr != nil {
			return total, rerr
		}
	}
}

// Close closes the write end: the reader gets the bytes in the pipe, then
// io.EOF. Pending Writes and Drains fail with an error matching
// os.ErrClosed, as does a second Close.
func (w *Writer) Close() error {
	p := w.p
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.wclosed {
		return pathError("close", os.ErrClosed)
	}
	p.wclosed = true
	close(p.wdone)
	p.wdl.stop()
	p.checkDrained()
	return nil
}

// SetWriteDeadline sets the time after which Writes, pending or not, fail
// with an error matching os.ErrDeadlineExceeded, having written what fit; a
// past time fails them even with room, and the zero time clears it. It does
// not bound Drain. It fails with os.ErrClosed once w is closed.
func (w *Writer) SetWriteDeadline(t time.Time) error {
	p := w.p
	return p.setDeadline(&p.wdl, t, &p.wclosed, "SetWriteDeadline")
}

// Drain waits until the reader has read every byte written so far, and
// returns nil. It returns ctx.Err() if ctx ends first, and an error matching
// [anonpipe.ErrBrokenPipe] once the reader is closed, or os.ErrClosed once w
// is, also while it waits.
func (w *Writer) Drain(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	p := w.p
	p.mu.Lock()
	for {
		switch {
		case p.wclosed:
			p.mu.Unlock()
			return pathError("drain", os.ErrClosed)
		case p.rclosed:
			p.mu.Unlock()
			return brokenPipe("drain")
		case p.n == 0:
			p.mu.Unlock()
			return nil
		}
		// Only a Drain that waits allocates.
		if p.drained == nil {
			p.drained = make(chan struct{})
		}
		c := p.drained
		p.mu.Unlock()
		select {
		case <-c:
		case <-p.wdone:
		case <-p.rdone:
		case <-ctx.Done():
			return ctx.Err()
		}
		p.mu.Lock()
	}
}

// zeroLength is the result of a Read or Write of no bytes on the end whose
// Close closes done.
func zeroLength(done chan struct{}, op string) error {
	select {
	case <-done:
		return pathError(op, os.ErrClosed)
	default:
		return nil
	}
}

// acquire takes the semaphore sem of an end, unless the end is closed
// (done) or its deadline d passes first.
func (p *pipe) acquire(sem, done chan struct{}, d *deadline, op string) error {
	select {
	case sem <- struct{}{}:
		return nil
	default:
	}
	p.mu.Lock()
	dc := d.c
	p.mu.Unlock()
	select {
	case sem <- struct{}{}:
		return nil
	case <-done:
		return pathError(op, os.ErrClosed)
	case <-dc:
		return pathError(op, os.ErrDeadlineExceeded)
	}
}

// closeReader closes the read end, for Reader.Close or WithReadClose, and
// lets the unread bytes go, with the memory that held them. p.mu is held
// (or p is not shared yet).
func (p *pipe) closeReader() {
	p.rclosed = true
	close(p.rdone)
	p.buf, p.pages = nil, nil
	p.head, p.n = 0, 0
	p.pfirst, p.pn = 0, 0
	p.rdl.stop()
}

// setDeadline sets deadline d of an end that closed reports closed. A
// deadline in the future arms a timer that closes d.c; the channel is
// replaced only when it was closed, so that the steady state allocates
// nothing but the timer.
func (p *pipe) setDeadline(d *deadline, t time.Time, closed *bool, op string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if *closed {
		return pathError(op, os.ErrClosed)
	}
	d.stop()
	if d.passed {
		d.c = make(chan struct{})
		d.passed = false
	}
	if t.IsZero() {
		return nil
	}
	wait := time.Until(t)
	if wait <= 0 {
		d.passed = true
		close(d.c)
		return nil
	}
	gen := d.gen
	d.timer = time.AfterFunc(wait, func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		if d.gen == gen && !d.passed {
			d.passed = true
			close(d.c)
		}
	})
	return nil
}

// stop disarms the deadline's timer; a timer already firing does nothing.
// pipe.mu is held.
func (d *deadline) stop() {
	if d.timer != nil {
		d.timer.Stop()
		d.timer = nil
	}
	d.gen++
}

// pathError returns an error like an *os.File's.
func pathError(op string, err error) error {
	return &os.PathError{Op: op, Path: "pipetest", Err: err}
}

// brokenPipeError is the error of a Write or Drain without a reader. Like
// anonpipe's, it matches anonpipe.ErrBrokenPipe and wraps the system's
// error, here an *os.PathError holding syscall.EPIPE.
type brokenPipeError struct{ err error }

func (e *brokenPipeError) Error() string        { return e.err.Error() }
func (e *brokenPipeError) Unwrap() error        { return e.err }
func (e *brokenPipeError) Is(target error) bool { return target == anonpipe.ErrBrokenPipe }

func brokenPipe(op string) error {
	return &brokenPipeError{pathError(op, epipe())}
}
