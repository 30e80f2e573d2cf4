package pipetest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// How TestPipe's sub-tests make calls on the ends: see subtest.go.

func (c *check) read(p []byte) (int, error)  { return c.checkedRead("", c.r, p) }
func (c *check) write(p []byte) (int, error) { return c.checkedWrite("", c.w, p) }

func (c *check) drain(ctx context.Context) error {
	defer c.track("Drain")()
	return c.w.(drainer).Drain(ctx)
}

// closeR and closeW close an end, or fail the sub-test.
func (c *check) closeR() {
	c.t.Helper()
	if err := c.tryClose("read end", c.r.Close); err != nil {
		c.t.Fatalf("Close of the read end: %v", err)
	}
}

func (c *check) closeW() {
	c.t.Helper()
	if err := c.tryClose("write end", c.w.Close); err != nil {
		c.t.Fatalf("Close of the write end: %v", err)
	}
}

// tryClose calls close, the Close of the end named end, from any
// goroutine, turning a panic into an error.
func (c *check) tryClose(end string, close func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("a panic (%v)", p)
		}
	}()
	defer c.track("Close of the " + end)()
	return close()
}

func (c *check) goRead(p []byte) <-chan result {
	return goCall(func() result { return res(c.read(p)) })
}

func (c *check) goWrite(p []byte) <-chan result {
	return goCall(func() result { return res(c.write(p)) })
}

func (c *check) goDrain(ctx context.Context) <-chan result {
	return goCall(func() result { return res(-1, c.drain(ctx)) })
}

// fails checks that a call returns at once, with no bytes and an error
// that ok accepts, which want describes.
func (c *check) fails(what string, ch <-chan result, ok func(error) bool, want string) {
	c.t.Helper()
	if r := c.prompt(what, ch); r.n > 0 || !ok(r.err) {
		c.t.Errorf("%s returned %v; %s", what, r, want)
	}
}

// send writes p, at most probeSize bytes, and then closes the write end if
// andClose: at once if the pipe buffers that much, so that the bytes are in
// the pipe when send returns, and in a new goroutine otherwise. sent waits
// for the result.
func (c *check) send(p []byte, andClose bool) <-chan result {
	c.t.Helper()
	f := func() result {
		n, err := c.write(p)
		if err == nil && andClose {
			err = c.tryClose("write end", c.w.Close)
		}
		return res(n, err)
	}
	if !c.buffered() {
		return goCall(f)
	}
	ch := make(chan result, 1)
	ch <- f()
	c.sent(ch, p) // failing now spares the caller a wait for bytes that will not come
	ch <- res(len(p), nil)
	return ch
}

// sent fails the sub-test unless the send whose result comes on ch wrote
// all of p.
func (c *check) sent(ch <-chan result, p []byte) {
	c.t.Helper()
	if r := <-ch; r.n != len(p) || r.err != nil {
		c.t.Fatalf("Write of %q (and Close if asked) returned %d, %v; want %d, nil", p, r.n, r.err, len(p))
	}
}

// readStart starts a Write of big, which the pipe cannot hold, reads its
// first partK bytes, and returns the channel the Write's result will come
// on. The Write is then blocked: readStart fails the sub-test if it returns
// first.
func (c *check) readStart(big []byte) <-chan result {
	c.t.Helper()
	ch := c.goWrite(big)
	b := make([]byte, partK)
	got := goCall(func() result {
		n, err := io.ReadFull(readFunc(c.read), b)
		return res(n, err)
	})
	select {
	case r := <-got:
		if r.err != nil {
			c.t.Fatalf("reading the start of a big Write: got %d of %d bytes, then %v", r.n, partK, r.err)
		}
		c.same(b, big[:partK], "the start of a big Write")
	case r := <-ch:
		c.t.Fatalf("with nobody reading, a Write of %d bytes returned %d, %v before the reader read %d bytes of it; "+
			"want it to block once the pipe is full", len(big), r.n, r.err, partK)
	}
	return ch
}

// readFull reads exactly n bytes, or fails the sub-test.
func (c *check) readFull(n int, what string) []byte {
	c.t.Helper()
	b := make([]byte, n)
	if m, err := io.ReadFull(readFunc(c.read), b); err != nil {
		c.t.Fatalf("reading %s: got %d of %d bytes, then %v", what, m, n, err)
	}
	return b
}

// readAll reads to EOF, or fails the sub-test.
func (c *check) readAll(what string) []byte {
	c.t.Helper()
	b, err := io.ReadAll(readFunc(c.read))
	if err != nil {
		c.t.Fatalf("reading %s to EOF: got %d bytes, then %v", what, len(b), err)
	}
	return b
}

type readDeadliner interface {
	SetReadDeadline(time.Time) error
}

type writeDeadliner interface {
	SetWriteDeadline(time.Time) error
}

type drainer interface {
	Drain(context.Context) error
}

// readDeadlines and writeDeadlines report whether an end has deadlines: a
// setter that does not return os.ErrNoDeadline.
func (c *check) readDeadlines() bool {
	d, ok := c.r.(readDeadliner)
	return ok && !errors.Is(d.SetReadDeadline(time.Time{}), os.ErrNoDeadline)
}

func (c *check) writeDeadlines() bool {
	d, ok := c.w.(writeDeadliner)
	return ok && !errors.Is(d.SetWriteDeadline(time.Time{}), os.ErrNoDeadline)
}

// need skips the sub-test unless has, which says whether end has method.
func (c *check) need(has bool, end any, method string) {
	c.t.Helper()
	if !has {
		c.t.Skipf("the end, a %T, has no %s", end, method)
	}
}

func (c *check) setReadDeadline(t time.Time) {
	c.t.Helper()
	if err := c.r.(readDeadliner).SetReadDeadline(t); err != nil {
		c.t.Fatalf("SetReadDeadline(%v): %v", t, err)
	}
}

func (c *check) setWriteDeadline(t time.Time) {
	c.t.Helper()
	if err := c.w.(writeDeadliner).SetWriteDeadline(t); err != nil {
		c.t.Fatalf("SetWriteDeadline(%v): %v", t, err)
	}
}

// buffered reports whether a Write of probeSize bytes to an empty pipe
// completes with nobody reading. TestPipe finds out once, on the pipe of
// the first sub-test that asks, which it leaves empty. Sub-tests write
// small messages before reading them when they can, which shows more (bytes
// are buffered, then the writer closes...), and from a goroutine otherwise.
func (c *check) buffered() bool {
	c.t.Helper()
	s := c.s
	s.mu.Lock()
	probed, buffered := s.probed, s.buffered
	s.mu.Unlock()
	if probed {
		return buffered
	}
	msg := pattern(probeSize, 99)
	what := "the bytes of a Write that finds out whether the pipe buffers anything"
	var r result
	if c.writeDeadlines() {
		c.setWriteDeadline(time.Now().Add(fillTime))
		r.n, r.err = c.write(msg)
		c.setWriteDeadline(time.Time{})
		if r.err != nil && !isTimeout(r.err) {
			c.t.Fatalf("finding out whether the pipe buffers %d bytes: Write with a deadline returned %d, %v", probeSize, r.n, r.err)
		}
		buffered = r.err == nil
		c.same(c.readFull(r.n, what), msg[:r.n], what)
	} else {
		ch := c.goWrite(msg)
		r, buffered = blocked(ch, promptTime)
		buffered = !buffered
		c.same(c.readFull(probeSize, what), msg, what) // which completes the Write if it is pending
		if !buffered {
			r = <-ch
		}
		if r.n != probeSize || r.err != nil {
			c.t.Fatalf("finding out whether the pipe buffers %d bytes: Write returned %d, %v", probeSize, r.n, r.err)
		}
	}
	s.mu.Lock()
	s.probed, s.buffered = true, buffered
	s.mu.Unlock()
	if !buffered {
		c.t.Logf("the pipe does not take a %d-byte Write with nobody reading: testing it as a synchronous pipe", probeSize)
	}
	return buffered
}
