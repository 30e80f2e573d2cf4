package pipetest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// The sub-tests of closing either end.

func testBrokenPipe(c *check) {
	c.closeR()
	for _, size := range []int{1, pageSize, bigWrite} {
		c.fails(fmt.Sprintf("a Write of %d bytes after the reader closed", size), c.goWrite(make([]byte, size)), isBroken, wantBrokenPipe)
	}
	if rf, ok := c.w.(io.ReaderFrom); ok {
		c.fails("ReadFrom after the reader closed", c.goReadFrom(rf), isBroken, wantBrokenPipe)
	}
	if _, ok := c.w.(drainer); ok {
		c.fails("Drain of an empty pipe after the reader closed", c.goDrain(context.Background()), isBroken, wantBrokenPipe)
	}
}

// goReadFrom calls rf.ReadFrom, with a source of a few bytes, as goCall
// does.
func (c *check) goReadFrom(rf io.ReaderFrom) <-chan result {
	return goCall(func() result {
		defer c.track("ReadFrom")()
		return res64(rf.ReadFrom(strings.NewReader("abc")))
	})
}

func testBrokenPipeWakesBlockedWrite(c *check) {
	ch := c.readStart(c.s.big)
	c.closeR()
	r := await(c.subtest, ch, promptTime, fmt.Sprintf("a Write of %d bytes, blocked when the reader closed", bigWrite))
	if r.n < partK || r.n >= bigWrite || !isBroken(r.err) {
		c.t.Fatalf("a Write of %d bytes, blocked when the reader closed after reading %d of them, returned %d, %v; "+
			"want the count it wrote (at least %d, fewer than %d) and an error: %s", bigWrite, partK, r.n, r.err, partK, bigWrite, wantBrokenPipe)
	}
}

func testUseAfterClose(c *check) {
	_, rdl := c.r.(readDeadliner)
	_, wdl := c.w.(writeDeadliner)
	// Asked while the ends are open: after Close the question fails.
	rNone, wNone := rdl && !c.readDeadlines(), wdl && !c.writeDeadlines()
	c.closeW()
	for _, p := range [][]byte{[]byte("x"), nil, {}} {
		c.fails(fmt.Sprintf("Write(%#v) on a closed write end", p), c.goWrite(p), isClosed, wantClosed)
	}
	if wdl {
		c.closedDeadline("SetWriteDeadline on a closed write end", c.w, wNone, c.w.(writeDeadliner).SetWriteDeadline)
	}
	if rf, ok := c.w.(io.ReaderFrom); ok {
		c.fails("ReadFrom on a closed write end", c.goReadFrom(rf), isClosed, wantClosed)
	}
	if _, ok := c.w.(drainer); ok {
		c.fails("Drain on a closed write end", c.goDrain(context.Background()), isClosed, wantClosed)
	}
	c.closeR()
	for _, p := range [][]byte{make([]byte, 1), nil, {}} {
		c.fails(fmt.Sprintf("Read into %#v on a closed read end", p), c.goRead(p), isClosed, wantClosed)
	}
	if rdl {
		c.closedDeadline("SetReadDeadline on a closed read end", c.r, rNone, c.r.(readDeadliner).SetReadDeadline)
	}
	if wt, ok := c.r.(io.WriterTo); ok {
		c.fails("WriteTo on a closed read end", goCall(func() result {
			defer c.track("WriteTo")()
			return res64(wt.WriteTo(io.Discard))
		}), isClosed, wantClosed)
	}
}

// closedDeadline checks that set, the deadline setter of end called after
// end was closed, fails with an error matching os.ErrClosed, or
// os.ErrNoDeadline if the end had no deadlines while open (noDeadline), or
// the very error a closed *os.File's setters return if end is one: an
// internal error, not matching os.ErrClosed, which a closed file of its own
// pins down, so that an end returning any other error, even one that reads
// the same, still fails.
func (c *check) closedDeadline(what string, end any, noDeadline bool, set func(time.Time) error) {
	c.t.Helper()
	want := wantClosed
	if noDeadline {
		want += " (or, as the end has no deadlines, os.ErrNoDeadline)"
	}
	var fileErr error
	if _, ok := end.(*os.File); ok {
		if r, w, err := os.Pipe(); err == nil {
			w.Close()
			r.Close()
			fileErr = r.SetReadDeadline(time.Time{})
			want += fmt.Sprintf(" (or, as the end is an *os.File, %q)", fileErr)
		}
	}
	for _, d := range []struct {
		name string
		t    time.Time
	}{
		{"a deadline ahead", time.Now().Add(longTime)},
		{"a deadline past", time.Now().Add(-time.Second)},
		{"the zero time", time.Time{}},
	} {
		err := set(d.t)
		if !isClosed(err) && !(noDeadline && errors.Is(err, os.ErrNoDeadline)) && !(fileErr != nil && errors.Is(err, fileErr)) {
			c.t.Errorf("%s, with %s, returned %v; %s", what, d.name, err, want)
		}
	}
}

func testCloseUnblocksRead(c *check) {
	ch := c.goRead(make([]byte, 1))
	c.closeR()
	r := await(c.subtest, ch, promptTime, "a Read pending on an empty pipe when its end was closed")
	if r.n != 0 || !isClosed(r.err) {
		c.t.Fatalf("a Read pending on an empty pipe when its end was closed returned %d, %v; %s", r.n, r.err, wantClosed)
	}
}

func testCloseUnblocksWrite(c *check) {
	ch := c.readStart(c.s.big)
	c.closeW()
	r := await(c.subtest, ch, promptTime, fmt.Sprintf("a Write of %d bytes, blocked when its end was closed", bigWrite))
	if r.n < partK || r.n >= bigWrite || !isClosed(r.err) {
		c.t.Fatalf("a Write of %d bytes, blocked when its end was closed after the reader read %d of them, returned %d, %v; "+
			"want the count it wrote (at least %d, fewer than %d) and an error matching os.ErrClosed", bigWrite, partK, r.n, r.err, partK, bigWrite)
	}
	c.same(c.readAll("the rest of a Write cut short by Close"), c.s.big[partK:r.n], fmt.Sprintf("the rest of a Write cut short by Close when it had written %d bytes", r.n))
}

func testCloseTwice(c *check) {
	const want = "want nil or an error matching os.ErrClosed"
	c.closeR()
	if err := c.tryClose("read end", c.r.Close); err != nil && !isClosed(err) {
		c.t.Errorf("a second Close of the read end returned %v; %s", err, want)
	}
	// The second Close did nothing else: the writer is still open and sees
	// a broken pipe.
	c.fails("a Write after the reader closed twice", c.goWrite([]byte("x")), isBroken,
		wantBrokenPipe+": closing the reader again must not touch the writer")
	c.closeW()
	if err := c.tryClose("write end", c.w.Close); err != nil && !isClosed(err) {
		c.t.Errorf("a second Close of the write end returned %v; %s", err, want)
	}
	c.fails("a Read after both ends closed twice", c.goRead(make([]byte, 1)), isClosed, wantClosed)
}

func testCloseRace(c *check) {
	var (
		errs  errList
		mu    sync.Mutex
		nils  = map[string]int{}
		start = make(chan struct{})
		wg    sync.WaitGroup
	)
	// race calls f, after start, until it returns false or 1000 times.
	race := func(f func() bool) {
		goWG(&wg, func() {
			<-start
			for i := 0; i < 1000 && f(); i++ {
			}
		})
	}
	for range 2 {
		rbuf, wbuf := make([]byte, 64), make([]byte, 64)
		race(func() bool {
			n, err := c.read(rbuf)
			if err != nil && (n != 0 || (err != io.EOF && !isClosed(err))) {
				errs.add("a Read racing with Close returned %d, %v; want bytes, io.EOF or an error matching os.ErrClosed", n, err)
			}
			return err == nil
		})
		race(func() bool {
			_, err := c.write(wbuf)
			if err != nil && !isClosed(err) && !isBroken(err) {
				errs.add("a Write racing with Close returned %v; want nil, a broken pipe or an error matching os.ErrClosed", err)
			}
			return err == nil
		})
	}
	for end, close := range map[string]func() error{"read end": c.r.Close, "write end": c.w.Close} {
		for range 2 {
			race(func() bool {
				switch err := c.tryClose(end, close); {
				case err == nil:
					mu.Lock()
					nils[end]++
					mu.Unlock()
				case !isClosed(err):
					errs.add("a Close of the %s racing with Read, Write and another Close returned %v; want nil or an error matching os.ErrClosed", end, err)
				}
				return false
			})
		}
	}
	close(start)
	wg.Wait()
	errs.report(c)
	for _, end := range []string{"read end", "write end"} {
		if nils[end] == 0 {
			c.t.Errorf("neither of two concurrent Closes of the %s returned nil; want the first to succeed", end)
		}
	}
}
