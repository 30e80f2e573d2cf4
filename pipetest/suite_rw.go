package pipetest

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// The sub-tests of reading and writing.

func testReadReturnsWhatIsThere(c *check) {
	msg := []byte("abc")
	ch := c.send(msg, false)
	buf := make([]byte, 100)
	what := fmt.Sprintf("after a Write of %q, a Read into 100 bytes", msg)
	if r := c.prompt(what, c.goRead(buf)); r.n != len(msg) || r.err != nil || string(buf[:r.n]) != "abc" {
		c.t.Fatalf("%s returned %v (%q); want 3, nil: a Read returns the bytes there, without waiting to fill its buffer",
			what, r, buf[:r.n])
	}
	c.sent(ch, msg)
}

func testZeroLengthRead(c *check) {
	if r := c.prompt("Read(nil) on an empty pipe", c.goRead(nil)); r.n != 0 || r.err != nil {
		c.t.Errorf("Read(nil) on an empty pipe returned %v; want 0, nil", r)
	}
	// The writer closes after the byte, so that a byte taken shows as one
	// missing rather than a Read waiting for it.
	ch := c.send([]byte("x"), true)
	if r := c.prompt("Read of an empty slice with a byte waiting", c.goRead([]byte{})); r.n != 0 || r.err != nil {
		c.t.Errorf("a Read of an empty slice with a byte waiting returned %v; want 0, nil", r)
	}
	c.same(c.readAll("the byte after a zero-length Read"), []byte("x"), "the byte after a zero-length Read (which must take nothing)")
	c.sent(ch, []byte("x"))
}

func testZeroLengthWrite(c *check) {
	c.buffered() // before the zero-length Writes, so that it reads back only its own bytes
	for _, p := range [][]byte{nil, {}} {
		if r := c.prompt(fmt.Sprintf("Write(%#v) with nobody reading", p), c.goWrite(p)); r.n != 0 || r.err != nil {
			c.t.Errorf("Write(%#v) returned %v; want 0, nil", p, r)
		}
	}
	msg := []byte("after")
	ch := c.send(msg, true)
	c.same(c.readAll("what follows zero-length Writes"), msg, "what follows zero-length Writes, which must add nothing")
	c.sent(ch, msg)
}

func testWriteBlocksWhenFull(c *check) {
	big := c.s.big
	if !c.writeDeadlines() {
		// Watch Writes in a goroutine, until they make no progress for
		// windowTime.
		const chunk = 64 << 10
		var written atomic.Int64
		ch := goCall(func() result {
			for total := 0; total < len(big); {
				n, err := c.write(big[total:min(total+chunk, len(big))])
				total += n
				written.Store(int64(total))
				if err != nil {
					return res(total, err)
				}
			}
			return res(len(big), nil)
		})
		for last := int64(-1); last != written.Load(); {
			last = written.Load()
			if r, ok := blocked(ch, windowTime); !ok {
				c.t.Fatalf("with nobody reading, Writes of %d bytes in all, %d at a time, returned %d, %v; want them to block "+
					"once the pipe is full (the write end has no deadlines, so TestPipe watches them in a goroutine)",
					len(big), chunk, r.n, r.err)
			}
		}
		c.same(c.readFull(len(big), "what blocked Writes wrote as the reader freed space"), big, "what blocked Writes wrote as the reader freed space")
		if r := <-ch; r.err != nil {
			c.t.Fatalf("Writes of %d bytes in all that the reader read returned %d, %v; want all, nil", len(big), r.n, r.err)
		}
		return
	}

	c.setWriteDeadline(time.Now().Add(fillTime))
	full, err := c.write(big)
	if !isTimeout(err) {
		c.t.Fatalf("with nobody reading, a Write of %d bytes, with a deadline %v ahead, returned %d, %v; "+
			"want it to block once the pipe is full, and so fewer bytes and a deadline error", len(big), fillTime, full, err)
	}
	c.setWriteDeadline(time.Now().Add(tick))
	if n, err := c.write([]byte{1}); n != 0 || !isTimeout(err) {
		c.t.Errorf("once a Write blocked on a pipe holding %d bytes, a 1-byte Write with a deadline returned %d, %v; "+
			"want 0 and a deadline error: writes block while the pipe is full", full, n, err)
	}
	c.setWriteDeadline(time.Time{})
	c.same(c.readFull(full, "the bytes that filled the pipe"), big[:full], "the bytes that filled the pipe")
	if full == 0 {
		c.t.Logf("the pipe holds no bytes with nobody reading: it is synchronous")
		return
	}
	// Reading everything freed the space: the same Write fits again.
	c.setWriteDeadline(time.Now().Add(longTime))
	if n, err := c.write(big[:full]); n != full || err != nil {
		c.t.Fatalf("after reading the %d bytes that filled the pipe, a Write of as many returned %d, %v; "+
			"want %d, nil: reading frees space", full, n, err, full)
	}
	c.setWriteDeadline(time.Time{})
	c.same(c.readFull(full, "the bytes written into the freed space"), big[:full], "the bytes written into the freed space")
}

// cutShort cuts a Write blocked after the reader read partK of its bytes
// short, with a deadline in the past, or by closing the write end if it has
// no deadlines, and returns the Write's result, which must be the count of
// bytes it wrote and an error. deadline reports which it used.
func (c *check) cutShort(ch <-chan result) (r result, deadline bool) {
	c.t.Helper()
	how := "its deadline passed"
	if deadline = c.writeDeadlines(); deadline {
		c.setWriteDeadline(time.Now())
	} else {
		how = "its end was closed"
		c.closeW()
	}
	r = <-ch
	switch {
	case r.err == nil:
		c.t.Fatalf("a Write of %d bytes, blocked when %s, returned %d, nil; want fewer bytes and an error", bigWrite, how, r.n)
	case r.n < partK || r.n >= bigWrite:
		c.t.Fatalf("a Write of %d bytes, blocked when %s after the reader read %d of its bytes, returned %d, %v; "+
			"want the count of bytes it wrote, at least %d and fewer than %d", bigWrite, how, partK, r.n, r.err, partK, bigWrite)
	}
	if deadline {
		c.setWriteDeadline(time.Time{})
	}
	return r, deadline
}

func testPartialWrite(c *check) {
	r, deadline := c.cutShort(c.readStart(c.s.big))
	// The count is exact: the reader gets those bytes and no more.
	if deadline {
		c.closeW()
	}
	c.same(c.readAll("the rest of a Write cut short"), c.s.big[partK:r.n], fmt.Sprintf("the rest of a Write cut short when it had written %d bytes", r.n))
}

// record returns record i of writer w, size bytes long.
func record(size, w, i int) []byte {
	b := make([]byte, size)
	binary.BigEndian.PutUint16(b, uint16(w))
	binary.BigEndian.PutUint32(b[2:], uint32(i))
	for j := 6; j < size; j++ {
		b[j] = byte(w*131 + i*7 + j)
	}
	return b
}

func testAtomicWrites(c *check, size int) {
	const writers, records, readers = 4, 50, 2
	var (
		errs errList
		mu   sync.Mutex
		seen [writers][records]int
		wg   sync.WaitGroup
		rwg  sync.WaitGroup
	)
	for w := range writers {
		goWG(&wg, func() {
			for i := range records {
				if n, err := c.write(record(size, w, i)); err != nil {
					errs.add("writer %d: Write of record %d returned %d, %v", w, i, n, err)
					return
				}
			}
		})
	}
	for rd := range readers {
		goWG(&rwg, func() {
			last := [writers]int{-1, -1, -1, -1}
			buf := make([]byte, size)
			for {
				n, err := c.read(buf)
				if err == io.EOF && n == 0 {
					return
				}
				if err != nil {
					errs.add("reader %d: Read returned %d, %v", rd, n, err)
					return
				}
				w, i := int(binary.BigEndian.Uint16(buf)), int(binary.BigEndian.Uint32(buf[2:]))
				switch {
				case n != size:
					errs.add("reader %d: a Read of %d bytes returned %d: a %d-byte write was split (or merged with another)", rd, size, n, size)
				case w >= writers || i >= records || !bytes.Equal(buf, record(size, w, i)):
					errs.add("reader %d: a Read returned a %d-byte record mixed with other writes", rd, size)
				case i <= last[w]:
					errs.add("reader %d: got record %d of writer %d after its record %d", rd, i, w, last[w])
				default:
					last[w] = i
					mu.Lock()
					seen[w][i]++
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	c.closeW()
	rwg.Wait()
	for w := range seen {
		for i, k := range seen[w] {
			if k != 1 {
				errs.add("record %d of writer %d was read %d times; want once", i, w, k)
			}
		}
	}
	errs.report(c)
}

// errList collects the first few failures of concurrent goroutines, for
// the sub-test to report once they are done.
type errList struct {
	mu   sync.Mutex
	errs []string
}

func (l *errList) add(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.errs) < 5 {
		l.errs = append(l.errs, fmt.Sprintf(format, args...))
	}
}

func (l *errList) report(c *check) {
	for _, e := range l.errs {
		c.t.Error(e)
	}
}

// goWG runs f in a new goroutine counted by wg.
func goWG(wg *sync.WaitGroup, f func()) {
	wg.Add(1)
	go func() {
		defer wg.Done()
		f()
	}()
}

func testEOFAfterWriterCloses(c *check) {
	first := []byte("last ")
	ch := c.send(first, false)
	c.same(c.readFull(len(first), "a first Write"), first, "a first Write")
	c.sent(ch, first)

	// The writer is open: an empty pipe is not at EOF yet.
	var waiting <-chan result
	wbuf := make([]byte, 64)
	if c.readDeadlines() {
		c.setReadDeadline(time.Now().Add(tick))
		if n, err := c.read(wbuf); !isTimeout(err) {
			c.t.Fatalf("with the writer open, a Read of an empty pipe, with a deadline %v ahead, returned %d, %v; "+
				"want it to wait (until the deadline): EOF comes only once the writer is closed", tick, n, err)
		}
		c.setReadDeadline(time.Time{})
	} else {
		waiting = c.goRead(wbuf)
		if r, ok := blocked(waiting, windowTime); !ok {
			c.t.Fatalf("with the writer open, a Read of an empty pipe returned %d, %v within %v; "+
				"want it to wait: EOF comes only once the writer is closed", r.n, r.err, windowTime)
		}
	}

	// Bytes written before the writer closes still arrive, then EOF.
	last := []byte("words")
	ch = c.send(last, true)
	var got []byte
	if waiting != nil {
		r := <-waiting
		if r.err != nil {
			c.t.Fatalf("a Read pending when the writer wrote %q and closed returned %d, %v; want the bytes", last, r.n, r.err)
		}
		got = wbuf[:r.n]
	}
	got = append(got, c.readAll("the bytes written before the writer closed")...)
	c.same(got, last, "the bytes written before the writer closed")
	c.sent(ch, last)
	for i := range 3 {
		if n, err := c.read(make([]byte, 10)); n != 0 || err != io.EOF {
			c.t.Fatalf("Read number %d after EOF returned %d, %v; want 0, io.EOF, repeatably", i+1, n, err)
		}
	}
}
