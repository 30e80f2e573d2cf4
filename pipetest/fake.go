package pipetest

import (
	"context"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"sync"
	"time"

	"github.com/anonpipe/anonpipe/anonpipe"
)

const (
	// pipeBuf is PIPE_BUF on Linux: a write of at most this many bytes is
	// atomic. It is also the size of a page, and so of a pipe buffer.
	pipeBuf = 4096
	// defaultCapacity is the capacity of a Linux pipe that nobody resized.
	defaultCapacity = 65536
	// copySize is the size of the buffer that WriteTo and ReadFrom move
	// bytes through, as io.Copy's.
	copySize = 32 << 10
	// errPath is the Path of the *os.PathError values the fake returns.
	errPath = "pipetest"
	// maxCapacity is the largest capacity WithCapacity takes: the largest
	// anonpipe.WithBufferSize takes, which Linux rounds up to 2 GiB, the
	// most its pipes hold. Where an int has 32 bits, the rounded 2 GiB is
	// no int, and the limit is 1 GiB.
	maxCapacity = min(math.MaxInt32, math.MaxInt>>1+1)
)

// Option configures a pipe made by [Pipe]: its capacity ([WithCapacity]),
// or a way it misbehaves as a child process can ([WithReadLimit],
// [WithReadRandom], [WithReadError], [WithWriteError], [WithReadHang],
// [WithReadClose], [WithReadLatency]). Options apply in order; of two that set
// the same thing, the last wins.
type Option func(*config)

type config struct {
	capacity int

	readLimit  int // 0: no limit
	random     bool
	seed       uint64
	readErr    error
	readErrAt  int64
	writeErr   error
	writeErrAt int64
	hang       bool
	hangAt     int64
	crash      bool
	crashAt    int64
	latency    time.Duration
}

// WithCapacity sets how many bytes the pipe holds: n rounded up to a
// power-of-two number of 4096-byte pages, as Linux's fcntl(F_SETPIPE_SZ)
// rounds it (1 gives 4096, 5000 gives 8192). The default is 65536. As on
// Linux, the pipe counts its room in pages: a Write that does not fill whole
// pages may take a page of its own, so 16 Writes of 3000 bytes fill the
// default pipe, and a Read frees a page only once it has read all of it.
// The pipe's memory follows the bytes it holds, not n.
//
// WithCapacity panics if n is less than 1 or more than 2147483647 (the most
// [anonpipe.WithBufferSize] takes; 1 GiB where an int has 32 bits).
func WithCapacity(n int) Option {
	if n < 1 {
		panic(fmt.Sprintf("pipetest: WithCapacity(%d): capacity must be at least 1", n))
	}
	if n > maxCapacity {
		panic(fmt.Sprintf("pipetest: WithCapacity(%d): more than %d bytes, the most anonpipe.WithBufferSize takes",
			n, maxCapacity))
	}
	return func(c *config) { c.capacity = n }
}

// Pipe returns the two ends of a new in-memory pipe: bytes written to w can
// be read from r. The ends behave like those of a Linux pipe made with
// [anonpipe.Pipe], deadlines, Close, broken pipe and all, and pass
// [TestPipe]; they are meant to stand for a child process in unit tests of
// code that talks to one. Options set the capacity and inject faults.
//
// Pipe starts no goroutine and holds no operating-system resource, so
// dropping both ends without closing them leaks nothing; closing them is
// still the way to release a goroutine blocked on them. Pipe panics if an
// Option is nil.
func Pipe(opts ...Option) (r *Reader, w *Writer) {
	c := config{capacity: defaultCapacity}
	for _, o := range opts {
		if o == nil {
			panic("pipetest: nil Option")
		}
		o(&c)
	}
	// A Linux pipe has a power-of-two number of slots, one page each: round
	// up as F_SETPIPE_SZ does. No pipe holds less than a page.
	slots := 1
	for slots*pipeBuf < c.capacity {
		slots <<= 1
	}
	p := &pipe{
		cfg:      c,
		size:     slots * pipeBuf,
		slots:    slots,
		rsem:     make(chan struct{}, 1),
		wsem:     make(chan struct{}, 1),
		readable: make(chan struct{}, 1),
		writable: make(chan struct{}, 1),
		rdone:    make(chan struct{}),
		wdone:    make(chan struct{}),
		// Enough for small pipes and Writes; put grows it as needed.
		buf:   make([]byte, pipeBuf),
		pages: make([]int, min(slots, defaultCapacity/pipeBuf)),
	}
	p.rdl.c = make(chan struct{})
	p.wdl.c = make(chan struct{})
	if c.random {
		p.rng = rand.New(rand.NewPCG(c.seed, c.seed^0x9e3779b97f4a7c15))
	}
	if c.crash && c.crashAt == 0 {
		p.closeReader()
	}
	return &Reader{p}, &Writer{p}
}

// Reader is the read end of a pipe made by [Pipe]. It has the methods of an
// [*anonpipe.Reader] except File, with the same behaviour, and implements
// io.ReadCloser and io.WriterTo. Its methods are safe for concurrent use:
// concurrent Reads take turns, as on an *os.File, and a WriteTo takes its
// turn for each chunk it reads, not for the whole copy.
type Reader struct{ p *pipe }

// Writer is the write end of a pipe made by [Pipe]. It has the methods of an
// [*anonpipe.Writer] except File, with the same behaviour, and implements
// io.WriteCloser and io.ReaderFrom. Its methods are safe for concurrent use:
// concurrent Writes take turns, as on an *os.File, so their bytes are never
// interleaved, and a ReadFrom takes its turn for each chunk it writes, not
// for the whole copy.
type Writer struct{ p *pipe }

// pipe is the state that a Reader and a Writer share.
type pipe struct {
	cfg config // set by Pipe, then read only

	// rsem and wsem serialise the Reads (and WriteTo's chunks) and the
	// Writes (and ReadFrom's chunks), as an *os.File's locks do; a token in
	// the channel is a held lock. Close and deadlines interrupt waiting for
	// them.
	rsem, wsem chan struct{}
	// readable and writable carry a wake-up to the Read or Write that holds
	// rsem or wsem and waits for bytes or space; with the semaphores there
	// is at most one such waiter on each. Close and deadlines reach it
	// through rdone, wdone and the deadlines' channels instead.
	readable, writable chan struct{}
	// rdone and wdone are closed when the read and write end are closed.
	rdone, wdone chan struct{}

	mu    sync.Mutex
	size  int    // the capacity in bytes; set by Pipe
	buf   []byte // ring of unread bytes, grown up to size as needed
	head  int    // index in buf of the oldest unread byte
	n     int    // number of unread bytes in buf
	slots int    // the number of pages the pipe holds; set by Pipe
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
	nread            int64 // bytes read so far, for the reader's faults

	// rscratch and wscratch are the buffers of WriteTo and ReadFrom, which
	// take them out while they copy, so that concurrent copies, which hold
	// no semaphore between chunks, never share one. Guarded by mu.
	rscratch, wscratch []byte

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

// Read reads up to len(p) bytes. It returns as soon as some bytes are
// available, without waiting to fill p. It returns 0, io.EOF once the writer
// is closed and the pipe is empty, and again on every later call. A Read of
// an empty p returns 0, nil at once, or an error matching os.ErrClosed if r
// is closed. After Close, Read returns an error matching os.ErrClosed, and a
// Read pending when Close is called returns with that error. Faults set by
// options change what Read returns; see each option.
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

// WriteTo copies from the pipe to w until EOF, and returns the number of
// bytes copied and the first error, other than io.EOF, met on either side:
// a short write to w is io.ErrShortWrite. It makes io.Copy read the pipe
// through a buffer of its own, which it reuses. Like an *os.File's, it reads
// as a Read does, one chunk at a time, and holds the read end only while it
// takes a chunk: while it waits in w.Write, Reads by other goroutines
// proceed. A Close of r, or its read deadline, ends WriteTo unless it is
// blocked in w.Write. No byte read from the pipe is lost unless w fails to
// take it.
func (r *Reader) WriteTo(w io.Writer) (int64, error) {
	p := r.p
	buf := p.takeScratch(&p.rscratch)
	defer p.putScratch(&p.rscratch, buf)
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

// Close closes the read end. A Read or WriteTo pending on it returns an
// error matching os.ErrClosed. The bytes still unread are discarded, and
// every Write and Drain after that, or pending then, fails with an error
// matching [anonpipe.ErrBrokenPipe]. Closing an end that is already closed
// returns an error matching os.ErrClosed and has no other effect.
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

// SetReadDeadline sets the time after which a pending or future Read fails
// with an error matching os.ErrDeadlineExceeded, for which os.IsTimeout
// reports true. A deadline in the past makes Read fail at once, even when
// bytes are ready. The zero time clears it. It returns an error matching
// os.ErrClosed if r is closed, and nil otherwise.
func (r *Reader) SetReadDeadline(t time.Time) error {
	p := r.p
	return p.setDeadline(&p.rdl, t, &p.rclosed, "SetReadDeadline")
}

// Write writes all of p, blocking while the pipe has no room for it
// ([WithCapacity] says how the pipe counts its room). It returns len(p), nil,
// or the number of bytes written before an error, never fewer bytes with a
// nil error. A write of up to 4096 bytes (PIPE_BUF on Linux) is atomic: see
// [WithCapacity]. A Write of an empty p returns 0, nil at once,
// or an error matching os.ErrClosed if w is closed.
//
// If the reader is closed, Write returns an error matching
// [anonpipe.ErrBrokenPipe] (and syscall.EPIPE), and a Write blocked then
// returns that error with the number of bytes written before. After Close,
// Write returns an error matching os.ErrClosed, and a Write pending when
// Close is called returns with that error and the number of bytes already
// written; the reader never sees the rest. When the write deadline passes,
// Write returns the number of bytes written and an error matching
// os.ErrDeadlineExceeded. p is not referenced after Write returns.
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

// ReadFrom copies from src into the pipe until src returns io.EOF, and
// returns the number of bytes copied and the first other error met on either
// side. It makes io.Copy write to the pipe through a buffer of its own,
// which it reuses, in Writes of what each src.Read returned, at most 32 KiB.
// Like an *os.File's, it holds the write end only while it puts a chunk in
// the pipe: while it waits in src.Read, Writes by other goroutines proceed,
// and their bytes go between its chunks. Close, the write deadline and a
// broken pipe end ReadFrom at its next Write, but not while it waits in
// src.Read.
func (w *Writer) ReadFrom(src io.Reader) (int64, error) {
	p := w.p
	buf := p.takeScratch(&p.wscratch)
	defer p.putScratch(&p.wscratch, buf)
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

// Close closes the write end. The reader gets the bytes still buffered, then
// io.EOF. A Write, ReadFrom or Drain pending on w returns an error matching
// os.ErrClosed. Closing an end that is already closed returns an error
// matching os.ErrClosed and has no other effect.
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

// SetWriteDeadline sets the time after which a pending or future Write
// fails with an error matching os.ErrDeadlineExceeded, after writing what fit
// before it; os.IsTimeout reports true for the error. A deadline in the past
// makes Write fail at once, even when there is room. The zero time clears
// it. It does not bound Drain, which takes a context instead. It returns an
// error matching os.ErrClosed if w is closed, and nil otherwise.
func (w *Writer) SetWriteDeadline(t time.Time) error {
	p := w.p
	return p.setDeadline(&p.wdl, t, &p.wclosed, "SetWriteDeadline")
}

// Drain waits until the reader has consumed every byte written so far. A
// Write still in progress in another goroutine counts with the bytes it has
// put in the pipe.
//
// It returns nil once the pipe is empty, an error matching
// [anonpipe.ErrBrokenPipe] if the reader is closed (even if the pipe is
// empty), ctx.Err() if ctx is done first, or already when Drain is called,
// and an error matching os.ErrClosed if w is closed, also when that happens
// while Drain waits. The write deadline does not bound Drain. Drain
// allocates when it has to wait.
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

// takeScratch takes the copy buffer that *slot keeps, or makes one if
// another copy has it or none was made yet.
func (p *pipe) takeScratch(slot *[]byte) []byte {
	p.mu.Lock()
	b := *slot
	*slot = nil
	p.mu.Unlock()
	if b == nil {
		b = make([]byte, copySize)
	}
	return b
}

// putScratch gives the copy buffer b back to *slot, for the next copy.
func (p *pipe) putScratch(slot *[]byte, b []byte) {
	p.mu.Lock()
	*slot = b
	p.mu.Unlock()
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

// read is Read without the semaphore, which the caller holds, and with
// len(b) > 0.
func (p *pipe) read(b []byte) (int, error) {
	f := &p.cfg
	if f.latency > 0 {
		if err := p.pause(); err != nil {
			return 0, err
		}
	}
	p.mu.Lock()
	for {
		if p.rclosed {
			p.mu.Unlock()
			return 0, pathError("read", os.ErrClosed)
		}
		if p.rdl.passed {
			p.mu.Unlock()
			return 0, pathError("read", os.ErrDeadlineExceeded)
		}
		if f.readErr != nil && p.nread >= f.readErrAt {
			p.mu.Unlock()
			return 0, f.readErr
		}
		hung := f.hang && p.nread >= f.hangAt
		if !hung {
			if p.n > 0 {
				break
			}
			if p.wclosed {
				p.mu.Unlock()
				return 0, io.EOF
			}
		}
		// A hung reader ignores the writer: only Close and the deadline end
		// its wait.
		wake, wdone := p.readable, p.wdone
		if hung {
			wake, wdone = nil, nil
		} else {
			p.rwait = true
		}
		dc := p.rdl.c
		p.mu.Unlock()
		select {
		case <-wake:
		case <-wdone:
		case <-p.rdone:
		case <-dc:
		}
		p.mu.Lock()
	}

	k := len(b)
	if f.readLimit > 0 {
		k = min(k, f.readLimit)
	}
	if f.hang {
		k = int(min(int64(k), f.hangAt-p.nread))
	}
	if f.readErr != nil {
		k = int(min(int64(k), f.readErrAt-p.nread))
	}
	if f.crash {
		k = int(min(int64(k), f.crashAt-p.nread))
	}
	k = min(k, p.n)
	if p.rng != nil {
		k = 1 + p.rng.IntN(k)
	}
	c := copy(b[:k], p.buf[p.head:])
	copy(b[c:k], p.buf)
	p.head += k
	if p.head >= len(p.buf) {
		p.head -= len(p.buf)
	}
	p.n -= k
	if p.n == 0 {
		p.head = 0
	}
	if p.release(k) {
		p.wakeWriter()
	}
	p.nread += int64(k)
	p.checkDrained()
	if f.crash && p.nread >= f.crashAt {
		p.closeReader()
	}
	p.mu.Unlock()
	return k, nil
}

// write is Write without the semaphore, which the caller holds, and with
// len(b) > 0.
func (p *pipe) write(b []byte) (int, error) {
	f := &p.cfg
	var injected error // the injected error, if b reaches it
	if f.writeErr != nil {
		left := f.writeErrAt - p.nwritten
		if left <= 0 {
			if err := zeroLength(p.wdone, "write"); err != nil {
				return 0, err
			}
			return 0, f.writeErr
		}
		if int64(len(b)) > left {
			b, injected = b[:left], f.writeErr
		}
	}

	merge := true // try merging into the newest page, once
	n := 0
	var err error
	p.mu.Lock()
	for {
		if p.wclosed {
			err = pathError("write", os.ErrClosed)
			break
		}
		// A passed deadline wins over a broken pipe, as the poller checks
		// it before trying the write.
		if p.wdl.passed {
			err = pathError("write", os.ErrDeadlineExceeded)
			break
		}
		if p.rclosed {
			err = brokenPipe("write")
			break
		}
		n = p.putPages(b, n, merge)
		merge = false
		if n == len(b) {
			break
		}
		p.wwait = true
		dc := p.wdl.c
		p.mu.Unlock()
		select {
		case <-p.writable:
		case <-p.wdone:
		case <-p.rdone:
		case <-dc:
		}
		p.mu.Lock()
	}
	p.mu.Unlock()
	p.nwritten += int64(n)
	if err == nil && injected != nil {
		err = injected
	}
	return n, err
}

// put appends b to the ring buffer, growing it if the capacity leaves room
// for b and the buffer does not. p.mu is held.
func (p *pipe) put(b []byte) {
	if need := p.n + len(b); need > len(p.buf) {
		p.buf = grow(p.buf, p.head, p.n, need, p.size)
		p.head = 0
	}
	tail := p.head + p.n
	if tail >= len(p.buf) {
		tail -= len(p.buf)
	}
	c := copy(p.buf[tail:], b)
	copy(p.buf, b[c:])
	p.n += len(b)
	p.wakeReader()
}

// putPages puts in the pipe what fits of b[n:], of which b[:n] is already
// in, and returns the count of b's bytes in then, as Linux's pipe_write
// does. Only when merge is set, at the start of a Write, the bytes beyond
// b's whole pages (all of b, when shorter than a page) go first, into the
// newest page, if the pipe is not empty and that page has room for all of
// them; the rest goes into fresh pages, a slot each, while slots are free.
// A Write of at most a page thus goes in whole or not at all. A Write that
// waited for a slot goes on without merging, as the write(2) an *os.File
// retries then could not merge either: what is left is whole pages, or the
// newest page is the Write's own, full, or as full as when the merge did not
// fit, or the pipe is empty. p.mu is held.
func (p *pipe) putPages(b []byte, n int, merge bool) int {
	if c := len(b) % pipeBuf; merge && c != 0 && p.pn > 0 && p.lastEnd+c <= pipeBuf {
		p.put(b[:c])
		last := (p.pfirst + p.pn - 1) % len(p.pages)
		p.pages[last] += c
		p.lastEnd += c
		n = c
	}
	for n < len(b) && p.pn < p.slots {
		if p.pn == len(p.pages) {
			p.pages = grow(p.pages, p.pfirst, p.pn, p.pn+1, p.slots)
			p.pfirst = 0
		}
		k := min(pipeBuf, len(b)-n)
		p.put(b[n : n+k])
		p.pages[(p.pfirst+p.pn)%len(p.pages)] = k
		p.pn++
		p.lastEnd = k
		n += k
	}
	return n
}

// grow returns a ring of at least need and at most limit elements that
// holds, from its start, the n elements of ring r that begin at index head.
// It doubles the ring's length at least, so that a pipe filled and emptied
// again and again soon stops allocating.
func grow[T any](r []T, head, n, need, limit int) []T {
	size := min(max(need, 2*len(r)), limit)
	out := make([]T, size)
	c := copy(out[:n], r[head:])
	copy(out[c:n], r)
	return out
}

// release accounts for k bytes read from the oldest pages, and reports
// whether that freed a slot: as on Linux, only a page read to its end does.
// p.mu is held.
func (p *pipe) release(k int) bool {
	freed := false
	for k > 0 {
		c := min(k, p.pages[p.pfirst])
		p.pages[p.pfirst] -= c
		k -= c
		if p.pages[p.pfirst] == 0 {
			p.pfirst = (p.pfirst + 1) % len(p.pages)
			p.pn--
			freed = true
		}
	}
	return freed
}

// wakeReader wakes the Read waiting for bytes, if any. p.mu is held.
func (p *pipe) wakeReader() {
	if p.rwait {
		p.rwait = false
		select {
		case p.readable <- struct{}{}:
		default:
		}
	}
}

// wakeWriter wakes the Write waiting for room, if any. p.mu is held.
func (p *pipe) wakeWriter() {
	if p.wwait {
		p.wwait = false
		select {
		case p.writable <- struct{}{}:
		default:
		}
	}
}

// checkDrained releases the Drains waiting if nothing is unread. p.mu is
// held.
func (p *pipe) checkDrained() {
	if p.drained != nil && p.n == 0 {
		close(p.drained)
		p.drained = nil
	}
}

// closeReader closes the read end, for Reader.Close or a crash, and lets
// the unread bytes go, with the memory that held them. p.mu is held (or p is
// not shared yet).
func (p *pipe) closeReader() {
	p.rclosed = true
	close(p.rdone)
	p.buf, p.pages = nil, nil
	p.head, p.n = 0, 0
	p.pfirst, p.pn = 0, 0
	p.rdl.stop()
}

// pause waits for the injected latency, unless the reader is closed or its
// deadline passes first. p.rsem is held.
func (p *pipe) pause() error {
	if p.rtimer == nil {
		p.rtimer = time.NewTimer(p.cfg.latency)
	} else {
		p.rtimer.Reset(p.cfg.latency)
	}
	p.mu.Lock()
	dc := p.rdl.c
	p.mu.Unlock()
	var err error
	select {
	case <-p.rtimer.C:
		return nil
	case <-p.rdone:
		err = pathError("read", os.ErrClosed)
	case <-dc:
		err = pathError("read", os.ErrDeadlineExceeded)
	}
	// With the timers of go1.22 (this module's language version), a timer
	// that fired meanwhile leaves a value in its channel, which the next
	// Reset would not clear.
	if !p.rtimer.Stop() {
		select {
		case <-p.rtimer.C:
		default:
		}
	}
	return err
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

func pathError(op string, err error) error {
	return &os.PathError{Op: op, Path: errPath, Err: err}
}

// brokenPipeError is the error of a write or Drain without a reader. Like
// anonpipe's, it matches anonpipe.ErrBrokenPipe and wraps the system's error,
// here an *os.PathError holding syscall.EPIPE.
type brokenPipeError struct{ err error }

func (e *brokenPipeError) Error() string        { return e.err.Error() }
func (e *brokenPipeError) Unwrap() error        { return e.err }
func (e *brokenPipeError) Is(target error) bool { return target == anonpipe.ErrBrokenPipe }

func brokenPipe(op string) error {
	return &brokenPipeError{pathError(op, epipe())}
}
