package pipetest

import (
	"bytes"
	"slices"
	"sync"
	"time"
)

// connReadTimeout: a Read with its deadline in the past fails at once with
// a timeout; that deadline does not bound Writes, which go on as long as
// the peer reads.
func connReadTimeout(c *connCheck) {
	c.needDeadlines()
	c.e2.discard()
	c.e1.setReadDeadline(time.Now().Add(-time.Hour))
	var n int
	var err error
	c.promptly("c1.Read with its deadline in the past", func() { n, err = c.e1.read(make([]byte, 1024)) })
	if n != 0 || !connIsTimeout(err) {
		c.t.Fatalf("c1.Read with its deadline in the past returned %d, %v; want 0 and %s", n, err, connTimeout)
	}
	p := pattern(connMiB, 6)
	if n, err := c.e1.write(p); n != len(p) || err != nil {
		c.t.Fatalf("c1.Write of %d bytes, with only the read deadline past, returned %d, %v; want %d, nil",
			len(p), n, err, len(p))
	}
}

// connWriteTimeout: a Write with its deadline in the past fails at once
// with a timeout, and writes nothing; that deadline does not bound Reads.
func connWriteTimeout(c *connCheck) {
	c.needDeadlines()
	c.e2.flood()
	c.e1.setWriteDeadline(time.Now().Add(-time.Hour))
	var n int
	var err error
	c.promptly("c1.Write with its deadline in the past", func() { n, err = c.e1.write(make([]byte, 1024)) })
	if n != 0 || !connIsTimeout(err) {
		c.t.Fatalf("c1.Write with its deadline in the past returned %d, %v; want 0 and %s", n, err, connTimeout)
	}
	c.promptly("c1.Read, with only the write deadline past, while c2 writes", func() { n, err = c.e1.read(make([]byte, 1024)) })
	if n == 0 || err != nil {
		c.t.Fatalf("c1.Read, with only the write deadline past, while c2 writes, returned %d, %v; want bytes, nil", n, err)
	}
}

// connPastTimeout: after SetDeadline with a time in the past, Reads and
// Writes fail at once with a timeout; after SetDeadline with the zero time,
// messages go both ways again.
func connPastTimeout(c *connCheck) {
	c.needDeadlines()
	c.roundTrip("before any deadline")
	c.e1.setDeadline(time.Now().Add(-time.Hour))
	var n int
	var err error
	c.promptly("c1.Write after SetDeadline in the past", func() { n, err = c.e1.write([]byte("lost")) })
	if n != 0 || !connIsTimeout(err) {
		c.t.Fatalf("c1.Write after SetDeadline in the past returned %d, %v; want 0 and %s", n, err, connTimeout)
	}
	c.promptly("c1.Read after SetDeadline in the past", func() { n, err = c.e1.read(make([]byte, 1024)) })
	if n != 0 || !connIsTimeout(err) {
		c.t.Fatalf("c1.Read after SetDeadline in the past returned %d, %v; want 0 and %s", n, err, connTimeout)
	}
	c.e1.setDeadline(time.Time{})
	c.roundTrip("after the deadline was cleared")
}

// connPresentTimeout: deadlines set in the past while a Read and a Write
// are blocked end them at once with a timeout; the Write reports the bytes
// it wrote, which the peer gets, and no more.
func connPresentTimeout(c *connCheck) {
	c.needDeadlines()
	rd := c.e1.goRead(make([]byte, 1024))
	wr := c.e1.startBigWrite(c.e2)
	select {
	case r := <-rd:
		c.t.Fatalf("c1.Read, with no deadline and nothing sent, returned %d, %v", r.n, r.err)
	default:
	}
	c.e1.setReadDeadline(time.Now().Add(-time.Hour))
	c.e1.setWriteDeadline(time.Now().Add(-time.Hour))
	if r := await(c.subtest, rd, promptTime, "c1.Read pending when its deadline was set in the past"); r.n != 0 || !connIsTimeout(r.err) {
		c.t.Errorf("c1.Read pending when its deadline was set in the past returned %d, %v; want 0 and %s", r.n, r.err, connTimeout)
	}
	w := await(c.subtest, wr, promptTime, "c1.Write blocked when its deadline was set in the past")
	if c.t.Failed() {
		c.t.FailNow()
	}
	big := c.s.bigData()
	if w.n < partK || w.n >= len(big) || !connIsTimeout(w.err) {
		c.t.Fatalf("c1.Write of %d bytes, blocked when its deadline was set in the past after c2 read %d of them, "+
			"returned %d, %v; want the count of bytes it wrote, from %d to %d, and %s",
			len(big), partK, w.n, w.err, partK, len(big)-1, connTimeout)
	}
	// c2 gets the bytes the Write reported, and no more.
	c.e1.setDeadline(time.Time{})
	end := []byte("end")
	ch := c.e1.goWrite(end)
	want2 := append(slices.Clone(big[partK:w.n]), end...)
	c.same(c.e2.readFull(len(want2), "the rest of a Write cut short, then a new one"), want2,
		"what c2 reads after the start of a Write cut short: its rest, up to the count it reported, then a new one")
	if r := await(c.subtest, ch, promptTime, "c1.Write of 3 bytes, read by c2"); r.n != len(end) || r.err != nil {
		c.t.Fatalf("c1.Write of %q returned %d, %v; want %d, nil", end, r.n, r.err, len(end))
	}
}

// connFutureTimeout: a deadline 100 ms ahead ends a blocked Read and a
// blocked Write with a timeout, not before it; the Write reports the bytes
// it wrote, which the peer gets, and no more.
func connFutureTimeout(c *connCheck) {
	c.needDeadlines()
	deadline := time.Now().Add(connFutureTime)
	c.e1.setDeadline(deadline)
	rd := c.e1.goRead(make([]byte, 1024))
	wr := c.e1.goWrite(c.s.bigData())
	r := <-rd
	if r.n != 0 || !connIsTimeout(r.err) {
		c.t.Errorf("c1.Read with a deadline %v ahead and nothing sent returned %d, %v; want 0 and %s", connFutureTime, r.n, r.err, connTimeout)
	}
	if r.at.Before(deadline) {
		c.t.Errorf("c1.Read with a deadline %v ahead returned %d, %v %v before it", connFutureTime, r.n, r.err, deadline.Sub(r.at))
	}
	w := <-wr
	if w.at.Before(deadline) {
		c.t.Errorf("c1.Write with a deadline %v ahead and nobody reading returned %d, %v %v before it", connFutureTime, w.n, w.err, deadline.Sub(w.at))
	}
	if c.t.Failed() {
		c.t.FailNow()
	}
	big := c.s.bigData()
	if w.n >= len(big) || !connIsTimeout(w.err) {
		c.t.Fatalf("c1.Write of %d bytes with a deadline %v ahead and nobody reading returned %d, %v; "+
			"want the count of bytes it wrote and a timeout", len(big), connFutureTime, w.n, w.err)
	}
	c.e1.setDeadline(time.Time{})
	c.same(c.e2.readFull(w.n, "the bytes of a Write cut short"), big[:w.n], "what c2 reads of a Write cut short")
	c.roundTrip("after the deadline passed and was cleared")
}

// connCloseTimeout: Close ends a blocked Read and a blocked Write of the
// same end at once, with an error, and returns nil.
func connCloseTimeout(c *connCheck) {
	rd := c.e1.goRead(make([]byte, 1024))
	wr := c.e1.startBigWrite(c.e2)
	var err error
	c.promptly("c1.Close, with a Read and a Write pending", func() { err = c.e1.close() })
	if err != nil {
		c.t.Errorf("c1.Close, with a Read and a Write pending: %v; want nil", err)
	}
	if r, ok := within(c.subtest, rd, promptTime, "c1.Read pending when c1 closed"); ok && (r.n != 0 || r.err == nil) {
		c.t.Errorf("c1.Read pending when c1 closed returned %d, %v; want 0 and an error", r.n, r.err)
	}
	if w, ok := within(c.subtest, wr, promptTime, "c1.Write blocked when c1 closed"); ok && (w.n >= bigWrite || w.err == nil) {
		c.t.Errorf("c1.Write of %d bytes blocked when c1 closed returned %d, %v; want its count and an error", bigWrite, w.n, w.err)
	}
}

// connConcurrentMethods: every method of c1 called from many goroutines at
// once, while c2 echoes, neither races (run it with -race) nor hangs nor
// breaks the connection, which then carries a message there and back; the
// addresses are never nil.
func connConcurrentMethods(c *connCheck) {
	c.needDeadlines()
	c.e2.echo()
	e := c.e1
	var wg sync.WaitGroup
	for range 100 {
		calls := []func(){
			func() { e.read(make([]byte, 1024)) },
			func() { e.write(make([]byte, 1024)) },
			func() { e.conn.SetDeadline(time.Now().Add(10 * time.Millisecond)) },
			func() { e.conn.SetReadDeadline(time.Now().Add(-time.Hour)) },
			func() { e.conn.SetWriteDeadline(time.Now().Add(-time.Hour)) },
			func() {
				if e.conn.LocalAddr() == nil {
					c.errorf("c1.LocalAddr returned nil")
				}
			},
			func() {
				if e.conn.RemoteAddr() == nil {
					c.errorf("c1.RemoteAddr returned nil")
				}
			},
		}
		for _, f := range calls {
			wg.Add(1)
			go func() {
				defer wg.Done()
				f()
			}()
		}
	}
	wg.Wait()
	if c.t.Failed() {
		return
	}
	// The echo sends back what the Writes wrote, zeros: read them up to a
	// marker, then a message must come back whole.
	e.setDeadline(time.Time{})
	ch := e.goWrite([]byte{0xff})
	c.promptly("c1 reading back what it wrote, up to a marker", func() {
		buf := make([]byte, 32<<10)
		for {
			n, err := e.read(buf)
			if i := bytes.IndexByte(buf[:n], 0xff); i >= 0 {
				if i != n-1 {
					c.errorf("c1 read %d bytes after the marker it wrote last", n-1-i)
				}
				return
			}
			if err != nil {
				c.errorf("c1 reading back what it wrote, up to a marker: %v", err)
				return
			}
		}
	})
	if r := <-ch; r.err != nil {
		c.t.Fatalf("c1.Write of a marker: %v", r.err)
	}
	if c.t.Failed() {
		return
	}
	msg := []byte("there and back")
	e.send(e, msg, "a message echoed by c2")
}
