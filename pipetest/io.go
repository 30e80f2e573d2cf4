package pipetest

import (
	"io"
	"os"
	"time"
)

// The pipe counts its room as Linux's pipe_write and pipe_read do
// (fs/pipe.c). Its buffer is a ring of slots, each holding one page of up
// to 4096 bytes. A Write whose length is not a whole number of pages first
// puts the bytes beyond its whole pages (all of it, if it is shorter than a
// page) into the newest page, if the pipe is not empty and that page has
// room for all of them after the bytes written into it, read or not; the
// rest goes into fresh pages, a slot each, and the Write waits for a slot
// once all are in use. A Read frees a slot only when it reads the page's
// last byte. So a pipe can be full with far fewer unread bytes than its
// capacity, and a Write of at most a page goes in whole or not at all,
// which makes it atomic. macOS and the BSDs count bytes instead; the fake
// follows Linux, which FuzzDifferential checks against a real pipe.

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
		if p.nread >= f.readErrAt {
			p.mu.Unlock()
			return 0, f.readErr
		}
		hung := p.nread >= f.hangAt
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

	// A Read stops short of the next fault.
	k := int(min(int64(min(len(b), p.n)), min(f.hangAt, f.readErrAt, f.closeAt)-p.nread))
	if f.readLimit > 0 {
		k = min(k, f.readLimit)
	}
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
	if p.nread >= f.closeAt {
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
	if left := f.writeErrAt - p.nwritten; left <= 0 {
		if err := zeroLength(p.wdone, "write"); err != nil {
			return 0, err
		}
		return 0, f.writeErr
	} else if int64(len(b)) > left {
		b, injected = b[:left], f.writeErr
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
	p.streamed(p.nwritten+int64(n), int64(n))
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
		p.buf = grow(p.buf, p.head, p.n, need, p.slots*pageSize)
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
	if c := len(b) % pageSize; merge && c != 0 && p.pn > 0 && p.lastEnd+c <= pageSize {
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
		k := min(pageSize, len(b)-n)
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

// streamed grows the pipe as anonpipe's Linux pipes grow, once an end has
// moved growAfter bytes, unless WithCapacity sized it: total is what the
// Writer has written, the last k included. (The Reader's count, which
// anonpipe also watches, never passes the Writer's.) p.mu is held.
func (p *pipe) streamed(total, k int64) {
	if p.cfg.sized || total < growAfter || total-k >= growAfter {
		return
	}
	p.slots = streamSlots
}
