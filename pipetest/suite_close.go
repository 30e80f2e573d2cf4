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
		var n int
		var err error
		what := fmt.Sprintf("a Write of %d bytes after the reader closed", size)
		c.promptly(what, func() { n, err = c.write(make([]byte, size)) })
		if n != 0 || !isBroken(err) {
			c.t.Errorf("%s returned %d, %v; want 0 and an error: %s", what, n, err, wantBrokenPipe)
		}
	}
	if rf, ok := c.w.(io.ReaderFrom); ok {
		var n int64
		var err error
		c.promptly("ReadFrom after the reader closed", func() {
			defer c.track("ReadFrom", -1)()
			n, err = rf.ReadFrom(strings.NewReader("abc"))
		})
		if n != 0 || !isBroken(err) {
			c.t.Errorf("ReadFrom after the reader closed returned %d, %v; %s", n, err, wantBrokenPipe)
		}
	}
	if _, ok := c.w.(drainer); ok {
		var err error
		c.promptly("Drain after the reader closed", func() { err = c.drain(context.Background()) })
		if !isBroken(err) {
			c.t.Errorf("Drain of an empty pipe after the reader closed returned %v; %s", err, wantBrokenPipe)
		}
	}
}

func testBrokenPipeWakesBlockedWrite(c *check) {
	ch := c.readStart(c.s.big)
	c.closeR()
	r := await(c, ch, promptTime, fmt.Sprintf("a Write of %d bytes, blocked when the reader closed", bigWrite))
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
	var n int
	var n64 int64
	var err error
	for _, p := range [][]byte{[]byte("x"), nil, {}} {
		what := fmt.Sprintf("Write(%#v) on a closed write end", p)
		c.promptly(what, func() { n, err = c.write(p) })
		if n != 0 || !isClosed(err) {
			c.t.Errorf("%s returned %d, %v; %s", what, n, err, wantClosed)
		}
	}
	if wdl {
		c.closedDeadline("SetWriteDeadline on a closed write end", c.w, wNone, c.w.(writeDeadliner).SetWriteDeadline)
	}
	if rf, ok := c.w.(io.ReaderFrom); ok {
		c.promptly("ReadFrom on a closed write end", func() {
			defer c.track("ReadFrom", -1)()
			n64, err = rf.ReadFrom(strings.NewReader("abc"))
		})
		if n64 != 0 || !isClosed(err) {
			c.t.Errorf("ReadFrom on a closed write end returned %d, %v; %s", n64, err, wantClosed)
		}
	}
	if _, ok := c.w.(drainer); ok {
		c.promptly("Drain on a closed write end", func() { err = c.drain(context.Background()) })
		if !isClosed(err) {
			c.t.Errorf("Drain on a closed write end returned %v; %s", err, wantClosed)
		}
	}
	c.closeR()
	for _, p := range [][]byte{make([]byte, 1), nil, {}} {
		what := fmt.Sprintf("Read into %#v on a closed read end", p)
		c.promptly(what, func() { n, err = c.read(p) })
		if n != 0 || !isClosed(err) {
			c.t.Errorf("%s returned %d, %v; %s", what, n, err, wantClosed)
		}
	}
	if rdl {
		c.closedDeadline("SetReadDeadline on a closed read end", c.r, rNone, c.r.(readDeadliner).SetReadDeadline)
	}
	if wt, ok := c.r.(io.WriterTo); ok {
		c.promptly("WriteTo on a closed read end", func() {
			defer c.track("WriteTo", -1)()
			n64, err = wt.WriteTo(io.Discard)
		})
		if n64 != 0 || !isClosed(err) {
			c.t.Errorf("WriteTo on a closed read end returned %d, %v; %s", n64, err, wantClosed)
		}
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
	r := await(c, ch, promptTime, "a Read pending on an empty pipe when its end was closed")
	if r.n != 0 || !isClosed(r.err) {
		c.t.Fatalf("a Read pending on an empty pipe when its end was closed returned %d, %v; %s", r.n, r.err, wantClosed)
	}
}

func testCloseUnblocksWrite(c *check) {
	ch := c.readStart(c.s.big)
	c.closeW()
	r := await(c, ch, promptTime, fmt.Sprintf("a Write of %d bytes, blocked when its end was closed", bigWrite))
	if r.n < partK || r.n >= bigWrite || !isClosed(r.err) {
		c.t.Fatalf("a Write of %d bytes, blocked when its end was closed after the reader read %d of them, returned %d, %v; "+
			"want the count it wrote (at least %d, fewer than %d) and an error matching os.ErrClosed", bigWrite, partK, r.n, r.err, partK, bigWrite)
	}
	c.same(c.readAll("the rest of a Write cut short by Close"), c.s.big[partK:r.n], fmt.Sprintf("the rest of a Write cut short by Close when it had written %d bytes", r.n))
}

// closeAgain closes an end a second time, which must return nil or an
// error matching os.ErrClosed, and not panic.
func (c *check) closeAgain(end string, close func() error) {
	c.t.Helper()
	var err error
	panicked := func() (p any) {
		defer func() { p = recover() }()
		defer c.track("second Close of the "+end, -1)()
		err = close()
		return nil
	}()
	if panicked != nil {
		c.t.Fatalf("a second Close of the %s panicked: %v", end, panicked)
	}
	if err != nil && !isClosed(err) {
		c.t.Errorf("a second Close of the %s returned %v; want nil or an error matching os.ErrClosed", end, err)
	}
}

func testCloseTwice(c *check) {
	c.closeR()
	c.closeAgain("read end", c.r.Close)
	// The second Close did nothing else: the writer is still open and sees
	// a broken pipe.
	var n int
	var err error
	c.promptly("a Write after the reader closed twice", func() { n, err = c.write([]byte("x")) })
	if n != 0 || !isBroken(err) {
		c.t.Errorf("a Write after the reader closed twice returned %d, %v; %s: closing the reader again must not touch the writer", n, err, wantBrokenPipe)
	}
	c.closeW()
	c.closeAgain("write end", c.w.Close)
	c.promptly("a Read after both ends closed twice", func() { n, err = c.read(make([]byte, 1)) })
	if n != 0 || !isClosed(err) {
		c.t.Errorf("a Read after both ends closed twice returned %d, %v; %s", n, err, wantClosed)
	}
}

func testCloseRace(c *check) {
	const loops = 1000
	var (
		errs  errList
		mu    sync.Mutex
		nils  = map[string]int{}
		start = make(chan struct{})
		wg    sync.WaitGroup
	)
	for range 2 {
		goWG(&wg, func() {
			<-start
			buf := make([]byte, 64)
			for range loops {
				if n, err := c.read(buf); err != nil {
					if n != 0 || (err != io.EOF && !isClosed(err)) {
						errs.add("a Read racing with Close returned %d, %v; want bytes, io.EOF or an error matching os.ErrClosed", n, err)
					}
					return
				}
			}
		})
		goWG(&wg, func() {
			<-start
			buf := make([]byte, 64)
			for range loops {
				if _, err := c.write(buf); err != nil {
					if !isClosed(err) && !isBroken(err) {
						errs.add("a Write racing with Close returned %v; want nil, a broken pipe or an error matching os.ErrClosed", err)
					}
					return
				}
			}
		})
	}
	for _, end := range []struct {
		name  string
		close func() error
	}{{"read end", c.r.Close}, {"write end", c.w.Close}} {
		for range 2 {
			goWG(&wg, func() {
				<-start
				err := func() (err error) {
					defer func() {
						if p := recover(); p != nil {
							err = fmt.Errorf("panic: %v", p)
						}
					}()
					defer c.track("Close of the "+end.name, -1)()
					return end.close()
				}()
				switch {
				case err == nil:
					mu.Lock()
					nils[end.name]++
					mu.Unlock()
				case !isClosed(err):
					errs.add("a Close of the %s racing with Read, Write and another Close returned %v; want nil or an error matching os.ErrClosed", end.name, err)
				}
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
