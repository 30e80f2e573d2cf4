package pipetest

import (
	"context"
	"fmt"
	"io"
	"time"
)

// The sub-tests of deadlines and Drain.

func testReadDeadline(c *check) {
	c.need(c.readDeadlines(), c.r, "SetReadDeadline(time.Time) error method that does not return os.ErrNoDeadline")
	c.buffered() // before the deadlines get in its way
	buf := make([]byte, 64)

	// A deadline in the future passes.
	c.setReadDeadline(time.Now().Add(tick))
	what := fmt.Sprintf("a Read of an empty pipe with a deadline %v ahead", tick)
	if r := await(c.subtest, c.goRead(buf), tick+promptTime, what); r.n != 0 || !isTimeout(r.err) {
		c.t.Fatalf("%s returned %d, %v; %s", what, r.n, r.err, wantTimeout)
	}

	// A deadline in the past fails at once, even with bytes ready: the
	// second byte of a Write whose first one was read.
	c.setReadDeadline(time.Time{})
	msg := []byte("xy")
	ch := c.send(msg, false)
	c.same(c.readFull(1, "the first byte of a Write"), msg[:1], "the first byte of a Write")
	c.setReadDeadline(time.Now().Add(-time.Second))
	if r := c.prompt("a Read with a deadline in the past", c.goRead(buf)); r.n != 0 || !isTimeout(r.err) {
		c.t.Fatalf("a Read with a deadline in the past, with a byte ready, returned %v; want 0 at once and %s", r, timeoutError)
	}

	// The zero time clears it.
	c.setReadDeadline(time.Time{})
	c.same(c.readFull(1, "after clearing the read deadline"), msg[1:], "the byte read after clearing the read deadline")
	c.sent(ch, msg)

	// A deadline set while a Read is blocked ends it, whether in the
	// future or the past.
	for _, d := range []time.Duration{tick, -time.Second} {
		ch := c.goRead(buf)
		c.setReadDeadline(time.Now().Add(d))
		what := fmt.Sprintf("a Read blocked on an empty pipe when its deadline was set %v from now", d)
		if r := await(c.subtest, ch, max(d, 0)+promptTime, what); r.n != 0 || !isTimeout(r.err) {
			c.t.Fatalf("%s returned %d, %v; %s", what, r.n, r.err, wantTimeout)
		}
		c.setReadDeadline(time.Time{})
	}

	// Timeouts lose nothing.
	ch = c.send([]byte("z"), false)
	c.same(c.readFull(1, "after read deadlines passed"), []byte("z"), "a byte read after read deadlines passed")
	c.sent(ch, []byte("z"))
}

func testWriteDeadline(c *check) {
	c.need(c.writeDeadlines(), c.w, "SetWriteDeadline(time.Time) error method that does not return os.ErrNoDeadline")
	c.buffered() // before the deadlines get in its way

	// A deadline in the past fails at once, even with room.
	c.setWriteDeadline(time.Now().Add(-time.Second))
	if r := c.prompt("a Write with a deadline in the past", c.goWrite([]byte("x"))); r.n != 0 || !isTimeout(r.err) {
		c.t.Fatalf("a Write with a deadline in the past returned %v; want 0 at once and %s", r, timeoutError)
	}

	// The zero time clears it.
	c.setWriteDeadline(time.Time{})
	ch := c.send([]byte("x"), false)
	c.same(c.readFull(1, "a byte written after clearing the write deadline"), []byte("x"), "a byte written after clearing the write deadline")
	c.sent(ch, []byte("x"))

	// A deadline in the future passes, after the Write wrote what fit.
	big := c.s.big
	c.setWriteDeadline(time.Now().Add(tick))
	what := fmt.Sprintf("with nobody reading, a Write of %d bytes with a deadline %v ahead", len(big), tick)
	r := await(c.subtest, c.goWrite(big), tick+promptTime, what)
	if r.n >= len(big) || !isTimeout(r.err) {
		c.t.Fatalf("%s returned %d, %v; want fewer bytes and %s", what, r.n, r.err, timeoutError)
	}
	c.setWriteDeadline(time.Time{})
	c.same(c.readFull(r.n, "what a Write wrote before its deadline"), big[:r.n], "what a Write wrote before its deadline")

	// A deadline set while a Write is blocked ends it, whether in the
	// future or the past.
	for _, d := range []time.Duration{tick, -time.Second} {
		ch := c.readStart(big)
		c.setWriteDeadline(time.Now().Add(d))
		what := fmt.Sprintf("a Write of %d bytes, blocked after the reader took %d, when its deadline was set %v from now", len(big), partK, d)
		r := await(c.subtest, ch, max(d, 0)+promptTime, what)
		if r.n < partK || r.n >= len(big) || !isTimeout(r.err) {
			c.t.Fatalf("%s returned %d, %v; want the count it wrote (at least %d, fewer than %d) and %s",
				what, r.n, r.err, partK, len(big), timeoutError)
		}
		c.setWriteDeadline(time.Time{})
		c.same(c.readFull(r.n-partK, "the rest of a Write cut short by its deadline"), big[partK:r.n], "the rest of a Write cut short by its deadline")
	}
}

func testDeadlinesIndependent(c *check) {
	c.need(c.readDeadlines(), c.r, "SetReadDeadline(time.Time) error method that does not return os.ErrNoDeadline")
	c.need(c.writeDeadlines(), c.w, "SetWriteDeadline(time.Time) error method that does not return os.ErrNoDeadline")
	c.buffered() // before the deadlines get in its way

	// A read deadline does not bound writes.
	c.setReadDeadline(time.Now().Add(-time.Second))
	ch := c.send([]byte("x"), false)
	c.setReadDeadline(time.Time{})
	c.same(c.readFull(1, "a byte written while the read deadline had passed"), []byte("x"), "a byte written while the read deadline had passed")
	c.sent(ch, []byte("x"))

	// A write deadline does not bound reads: a Read waits for EOF.
	c.setWriteDeadline(time.Now().Add(-time.Second))
	rch := c.goRead(make([]byte, 1))
	c.closeW()
	if r := <-rch; r.n != 0 || r.err != io.EOF {
		c.t.Fatalf("a Read, while the write deadline had passed, returned %d, %v when the writer closed; want 0, io.EOF", r.n, r.err)
	}
}

func testDrain(c *check) {
	_, ok := c.w.(drainer)
	c.need(ok, c.w, "Drain(context.Context) error method")
	bg := context.Background()
	if r := c.prompt("Drain of an empty pipe", c.goDrain(bg)); r.err != nil {
		c.t.Fatalf("Drain of an empty pipe returned %v; want nil", r.err)
	}
	if !c.buffered() {
		c.t.Logf("the pipe holds no bytes with nobody reading: Drain waiting for unread bytes not checked")
		return
	}

	// With bytes unread, Drain waits: here until its context ends.
	msg := []byte("0123456789")
	c.sent(c.send(msg, false), msg)
	ctx, cancel := context.WithTimeout(bg, tick)
	err := c.drain(ctx)
	cancel()
	if err != context.DeadlineExceeded {
		c.t.Fatalf("Drain with %d bytes unread and a context ending %v later returned %v; want context.DeadlineExceeded", len(msg), tick, err)
	}

	// It returns once the reader has read them.
	ch := c.goDrain(bg)
	c.same(c.readFull(len(msg), "bytes to drain"), msg, "bytes to drain")
	if err = await(c.subtest, ch, promptTime, "Drain, when the reader read everything").err; err != nil {
		c.t.Fatalf("Drain returned %v when the reader read everything; want nil", err)
	}

	// A context cancelled while Drain waits ends it.
	c.sent(c.send([]byte("x"), false), []byte("x"))
	ctx, cancel = context.WithCancel(bg)
	ch = c.goDrain(ctx)
	cancel()
	if err = await(c.subtest, ch, promptTime, "Drain with a byte unread, when its context was cancelled").err; err != context.Canceled {
		c.t.Fatalf("Drain with a byte unread returned %v when its context was cancelled; want context.Canceled", err)
	}

	// Closing the writer ends a Drain waiting on it.
	ch = c.goDrain(bg)
	c.closeW()
	if err = await(c.subtest, ch, promptTime, "Drain with a byte unread, when the writer closed").err; !isClosed(err) {
		c.t.Fatalf("Drain with a byte unread returned %v when the writer closed; %s", err, wantClosed)
	}
}
