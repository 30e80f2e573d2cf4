package pipetest

import (
	"io"
	"sync"
	"testing"
	"time"
)

// MakePipe makes a new, empty pipe for [TestPipe]: ends r and w, and stop,
// which may be nil, to release what else the pipe holds, such as a child
// process. An error fails the sub-test. When the sub-test ends, TestPipe
// closes r and w, then calls stop.
type MakePipe func() (r io.ReadCloser, w io.WriteCloser, stop func(), err error)

// TestPipe checks that mp's pipes behave as Linux pipes through
// [anonpipe.Reader] and [anonpipe.Writer], a sub-test per behaviour:
//
//   - ReadReturnsWhatIsThere, ZeroLengthRead, ZeroLengthWrite: Reads do not
//     wait for more; calls of no bytes move none.
//   - WriteBlocksWhenFull, PartialWrite, AtomicWrites: Writes block when
//     full, report what they wrote, and of up to 4096 bytes are not split.
//   - EOFAfterWriterCloses, BrokenPipe, BrokenPipeWakesBlockedWrite: closing
//     an end gives the other io.EOF or [anonpipe.ErrBrokenPipe].
//   - UseAfterClose, CloseUnblocksRead, CloseUnblocksWrite, CloseTwice,
//     CloseRace: calls on a closed end fail with os.ErrClosed.
//   - ReadDeadline, WriteDeadline, DeadlinesIndependent: a deadline ends its
//     end's calls.
//   - BufferNotRetained, RandomMegabyte, ReadFromWriteTo, Drain: bytes
//     survive any sizes and copies; Drain waits for the reader.
//
// A sub-test skips where the ends lack what it needs: deadlines, Drain,
// ReadFrom or WriteTo. The pipe may hold
// from nothing to under 8 MiB. A sub-test running after 10 s fails, naming
// the pending calls, and its ends are closed; if it still runs, TestPipe
// panics.
func TestPipe(t *testing.T, mp MakePipe) {
	t.Helper()
	if mp == nil {
		t.Fatal("pipetest.TestPipe: nil MakePipe")
	}
	s := &suite{mp: mp, watchdog: watchdogFor(t), big: pattern(bigWrite, 3)}
	s.run(t, "ReadReturnsWhatIsThere", testReadReturnsWhatIsThere)
	s.run(t, "ZeroLengthRead", testZeroLengthRead)
	s.run(t, "ZeroLengthWrite", testZeroLengthWrite)
	s.run(t, "WriteBlocksWhenFull", testWriteBlocksWhenFull)
	s.run(t, "PartialWrite", testPartialWrite)
	t.Run("AtomicWrites", func(t *testing.T) {
		s.run(t, "4096", func(c *check) { testAtomicWrites(c, pageSize) })
		s.run(t, "1000", func(c *check) { testAtomicWrites(c, 1000) })
	})
	s.run(t, "EOFAfterWriterCloses", testEOFAfterWriterCloses)
	s.run(t, "BrokenPipe", testBrokenPipe)
	s.run(t, "BrokenPipeWakesBlockedWrite", testBrokenPipeWakesBlockedWrite)
	s.run(t, "UseAfterClose", testUseAfterClose)
	s.run(t, "CloseUnblocksRead", testCloseUnblocksRead)
	s.run(t, "CloseUnblocksWrite", testCloseUnblocksWrite)
	s.run(t, "CloseTwice", testCloseTwice)
	s.run(t, "CloseRace", testCloseRace)
	s.run(t, "ReadDeadline", testReadDeadline)
	s.run(t, "WriteDeadline", testWriteDeadline)
	s.run(t, "DeadlinesIndependent", testDeadlinesIndependent)
	t.Run("BufferNotRetained", func(t *testing.T) {
		s.run(t, "Read", testReadBufferNotRetained)
		s.run(t, "Write", testWriteBufferNotRetained)
	})
	s.run(t, "RandomMegabyte", testRandomMegabyte)
	s.run(t, "ReadFromWriteTo", testReadFromWriteTo)
	s.run(t, "Drain", testDrain)
}

// Times and sizes of TestPipe alone: the times are how long a call is left
// blocked to see that it stays so.
const (
	// tick is the short deadline of calls that must block until it passes.
	tick = 20 * time.Millisecond
	// fillTime is the deadline of a Write that fills the pipe.
	fillTime = 100 * time.Millisecond
	// windowTime is how long a call must stay blocked when the ends have no
	// deadline to show it.
	windowTime = 200 * time.Millisecond
	// longTime is the deadline of a Write that must complete without help.
	longTime = 5 * time.Second
	// probeSize is the size of the Write that finds out whether a pipe
	// buffers anything; sub-tests write messages of at most this size
	// before they read them when the pipe does.
	probeSize = 16
)

// suite is one run of TestPipe.
type suite struct {
	mp       MakePipe
	watchdog time.Duration
	big      []byte // bigWrite random bytes, which sub-tests must not change

	mu               sync.Mutex
	probed, buffered bool // see check.buffered
}

// check is one sub-test, on one pipe.
type check struct {
	*subtest
	s *suite
	r io.ReadCloser
	w io.WriteCloser
}

// run runs f as the sub-test name of t, on a new pipe, under a watchdog.
func (s *suite) run(t *testing.T, name string, f func(c *check)) {
	t.Run(name, func(t *testing.T) {
		r, w, stop, err := s.mp()
		c := &check{subtest: watch(t, s.watchdog, stop, r, w), s: s, r: r, w: w}
		if err != nil {
			t.Fatalf("MakePipe: %v", err)
		}
		if r == nil || w == nil {
			t.Fatalf("MakePipe returned a nil end (r: %v, w: %v) and no error", r, w)
		}
		f(c)
	})
}
