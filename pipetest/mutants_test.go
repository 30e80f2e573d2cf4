package pipetest_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anonpipe/anonpipe/anonpipe"
	"github.com/anonpipe/anonpipe/pipetest"
	"github.com/matryer/is"
)

// A mutant is a pipe that breaks one behaviour TestPipe documents, and
// otherwise behaves as the fake it wraps. TestSuiteCatchesMutants shows that
// TestPipe fails each one, in the sub-test for that behaviour, for that
// reason: a check that no mutant fails would not be a check.
type mutant struct {
	name   string // the sub-test of TestSuiteCatchesMutants
	breaks string // what the mutant does wrong
	caught string // the sub-test of TestPipe that must fail it
	says   string // part of that sub-test's failure message
	// noDeadlines makes the ends' deadline setters return os.ErrNoDeadline,
	// for TestPipe's paths for ends without deadlines.
	noDeadlines bool
	// mutate replaces methods of m, a new pipe, keeping any state they
	// share in its closures.
	mutate func(m *mutantPipe)
}

// mutantRuns is how many runs of the test binary TestSuiteCatchesMutants
// has going at once: they spend most of their time waiting on pipes and
// timers.
const mutantRuns = 4

// mtick is the deadline a mutant uses to wait for bytes without waiting
// long.
const mtick = 20 * time.Millisecond

func TestSuiteCatchesMutants(t *testing.T) {
	rows := mutants()
	if os.Getenv(catchEnv) == "mutants" {
		for _, m := range rows {
			t.Run(m.name, func(t *testing.T) { pipetest.TestPipe(t, m.makePipe) })
		}
		return
	}
	if testing.Short() {
		t.Skip("runs the test binary again")
	}
	t.Parallel()
	// Each row starts a run of the test binary, which runs its mutant and
	// only the sub-test that must catch it, mutantRuns at a time, and then
	// waits for it as a parallel sub-test: the runs of all the rows that
	// -run selects overlap, whatever -parallel is.
	sem := make(chan struct{}, mutantRuns)
	for _, m := range rows {
		t.Run(m.name, func(t *testing.T) {
			t.Cleanup(func() {
				if t.Failed() {
					t.Logf("the mutant: %s", m.breaks)
				}
			})
			sel := []string{"^" + strings.Split(t.Name(), "/")[0] + "$", "^" + m.name + "$"}
			for _, part := range strings.Split(m.caught, "/") {
				sel = append(sel, "^"+regexp.QuoteMeta(part)+"$")
			}
			var run catchRun
			done := make(chan struct{})
			go func() {
				defer close(done)
				sem <- struct{}{}
				defer func() { <-sem }()
				run = catch(t.Name(), "mutants", "-test.run="+strings.Join(sel, "/"), "-test.timeout=1m")
			}()
			t.Parallel()
			<-done
			out := checkCatch(t, run)
			is := is.New(t)
			test := t.Name() + "/" + m.caught
			is.Equal(verdict(out, test), test+" FAIL") // the sub-test of the behaviour the mutant breaks fails it
			is.True(strings.Contains(out, m.says))     // and says why
		})
	}
}

// mutantPipe is a pipe of the fake whose methods a mutant can replace: a
// method whose field is nil calls the fake's.
type mutantPipe struct {
	r *pipetest.Reader
	w *pipetest.Writer
	// rClosed and wClosed are closed once Close of that end has returned.
	rClosed, wClosed chan struct{}
	rOnce, wOnce     sync.Once

	read             func(p []byte) (int, error)
	write            func(p []byte) (int, error)
	closeR, closeW   func() error
	setReadDeadline  func(t time.Time) error
	setWriteDeadline func(t time.Time) error
	writeTo          func(dst io.Writer) (int64, error)
	readFrom         func(src io.Reader) (int64, error)
	drain            func(ctx context.Context) error
}

func (mu mutant) makePipe() (io.ReadCloser, io.WriteCloser, func(), error) {
	r, w := pipetest.Pipe()
	m := &mutantPipe{r: r, w: w, rClosed: make(chan struct{}), wClosed: make(chan struct{})}
	if mu.noDeadlines {
		m.setReadDeadline = func(time.Time) error { return noDeadline("SetReadDeadline") }
		m.setWriteDeadline = func(time.Time) error { return noDeadline("SetWriteDeadline") }
	}
	mu.mutate(m)
	return mutantReader{m}, mutantWriter{m}, nil, nil
}

func noDeadline(op string) error {
	return &os.PathError{Op: op, Path: "mutant", Err: os.ErrNoDeadline}
}

type mutantReader struct{ m *mutantPipe }

func (r mutantReader) Read(p []byte) (int, error) {
	if r.m.read != nil {
		return r.m.read(p)
	}
	return r.m.r.Read(p)
}

func (r mutantReader) Close() error {
	defer r.m.rOnce.Do(func() { close(r.m.rClosed) })
	if r.m.closeR != nil {
		return r.m.closeR()
	}
	return r.m.r.Close()
}

func (r mutantReader) SetReadDeadline(t time.Time) error {
	if r.m.setReadDeadline != nil {
		return r.m.setReadDeadline(t)
	}
	return r.m.r.SetReadDeadline(t)
}

func (r mutantReader) WriteTo(dst io.Writer) (int64, error) {
	if r.m.writeTo != nil {
		return r.m.writeTo(dst)
	}
	return r.m.r.WriteTo(dst)
}

type mutantWriter struct{ m *mutantPipe }

func (w mutantWriter) Write(p []byte) (int, error) {
	if w.m.write != nil {
		return w.m.write(p)
	}
	return w.m.w.Write(p)
}

func (w mutantWriter) Close() error {
	defer w.m.wOnce.Do(func() { close(w.m.wClosed) })
	if w.m.closeW != nil {
		return w.m.closeW()
	}
	return w.m.w.Close()
}

func (w mutantWriter) SetWriteDeadline(t time.Time) error {
	if w.m.setWriteDeadline != nil {
		return w.m.setWriteDeadline(t)
	}
	return w.m.w.SetWriteDeadline(t)
}

func (w mutantWriter) ReadFrom(src io.Reader) (int64, error) {
	if w.m.readFrom != nil {
		return w.m.readFrom(src)
	}
	return w.m.w.ReadFrom(src)
}

func (w mutantWriter) Drain(ctx context.Context) error {
	if w.m.drain != nil {
		return w.m.drain(ctx)
	}
	return w.m.w.Drain(ctx)
}

func isClosed(err error) bool  { return errors.Is(err, os.ErrClosed) }
func isBroken(err error) bool  { return errors.Is(err, anonpipe.ErrBrokenPipe) }
func isTimeout(err error) bool { return errors.Is(err, os.ErrDeadlineExceeded) }

func closedError(op string) error {
	return &os.PathError{Op: op, Path: "mutant", Err: os.ErrClosed}
}

func timeoutError(op string) error {
	return &os.PathError{Op: op, Path: "mutant", Err: os.ErrDeadlineExceeded}
}

// counted makes m count the bytes written and read, for mutants that act on
// whether the pipe holds unread bytes.
func counted(m *mutantPipe) (written, read *atomic.Int64) {
	written, read = new(atomic.Int64), new(atomic.Int64)
	m.write = func(p []byte) (int, error) {
		n, err := m.w.Write(p)
		written.Add(int64(n))
		return n, err
	}
	m.read = func(p []byte) (int, error) {
		n, err := m.r.Read(p)
		read.Add(int64(n))
		return n, err
	}
	return written, read
}

// splitWrites makes m write each Write of more than lo and at most hi bytes
// in two halves, letting the reader read the first before it writes the
// second.
func splitWrites(m *mutantPipe, lo, hi int) {
	m.write = func(p []byte) (int, error) {
		if len(p) <= lo || len(p) > hi {
			return m.w.Write(p)
		}
		n, err := m.w.Write(p[:len(p)/2])
		if err != nil {
			return n, err
		}
		m.w.Drain(context.Background())
		k, err := m.w.Write(p[len(p)/2:])
		return n + k, err
	}
}

// orderedDeadline makes set, a deadline setter, only record the deadline,
// which apply sets on the end before each call: a deadline set while a call
// is pending does not reach it.
func orderedDeadline(set *func(time.Time) error, apply func(time.Time) error) func() {
	var mu sync.Mutex
	var d time.Time
	*set = func(t time.Time) error {
		mu.Lock()
		defer mu.Unlock()
		d = t
		return nil
	}
	return func() {
		mu.Lock()
		defer mu.Unlock()
		apply(d)
	}
}

func mutants() []mutant {
	return []mutant{
		{
			name:   "ReadWaitsToFillBuffer",
			breaks: "a Read waits until its buffer is full",
			caught: "ReadReturnsWhatIsThere",
			says:   "did not return at once",
			mutate: func(m *mutantPipe) {
				m.read = func(p []byte) (int, error) { return io.ReadFull(m.r, p) }
			},
		},
		{
			name:   "ZeroLengthReadWaits",
			breaks: "a Read of no bytes waits for a byte, and takes it",
			caught: "ZeroLengthRead",
			says:   "Read(nil) on an empty pipe did not return at once",
			mutate: func(m *mutantPipe) {
				m.read = func(p []byte) (int, error) {
					if len(p) == 0 {
						_, err := m.r.Read(make([]byte, 1))
						return 0, err
					}
					return m.r.Read(p)
				}
			},
		},
		{
			name:   "ZeroLengthReadTakesAByte",
			breaks: "a Read of no bytes takes a byte if one comes within 20 ms",
			caught: "ZeroLengthRead",
			says:   "zero-length Read (which must take nothing)",
			mutate: func(m *mutantPipe) {
				m.read = func(p []byte) (int, error) {
					if len(p) == 0 {
						m.r.SetReadDeadline(time.Now().Add(mtick))
						m.r.Read(make([]byte, 1))
						m.r.SetReadDeadline(time.Time{})
						return 0, nil
					}
					return m.r.Read(p)
				}
			},
		},
		{
			name:   "ZeroLengthWriteWritesAByte",
			breaks: "a Write of no bytes writes a zero byte",
			caught: "ZeroLengthWrite",
			says:   "which must add nothing",
			mutate: func(m *mutantPipe) {
				m.write = func(p []byte) (int, error) {
					if len(p) == 0 {
						_, err := m.w.Write([]byte{0})
						return 0, err
					}
					return m.w.Write(p)
				}
			},
		},
		{
			name:   "ZeroLengthWriteWaits",
			breaks: "a Write of no bytes waits for the pipe to close",
			caught: "ZeroLengthWrite",
			says:   "Write([]byte(nil)) with nobody reading did not return at once",
			mutate: func(m *mutantPipe) {
				m.write = func(p []byte) (int, error) {
					if len(p) == 0 {
						<-m.wClosed
						return 0, closedError("write")
					}
					return m.w.Write(p)
				}
			},
		},
		{
			name:   "NeverFull",
			breaks: "a Write never blocks: what does not fit waits in a queue of its own",
			caught: "WriteBlocksWhenFull",
			says:   "want it to block once the pipe is full",
			mutate: neverFull,
		},
		{
			name:        "NeverFullNoDeadlines",
			breaks:      "as NeverFull, on ends without deadlines",
			caught:      "WriteBlocksWhenFull",
			says:        "want them to block once the pipe is full",
			noDeadlines: true,
			mutate:      neverFull,
		},
		{
			name:   "OneByteWriteIgnoresFull",
			breaks: "a 1-byte Write returns at once on a full pipe, its byte going in later",
			caught: "WriteBlocksWhenFull",
			says:   "writes block while the pipe is full",
			mutate: func(m *mutantPipe) {
				m.write = func(p []byte) (int, error) {
					if len(p) != 1 {
						return m.w.Write(p)
					}
					b := []byte{p[0]}
					go m.w.Write(b)
					return 1, nil
				}
			},
		},
		{
			name:   "FullForever",
			breaks: "once a Write found the pipe full, reading does not free it: Writes time out at once",
			caught: "WriteBlocksWhenFull",
			says:   "reading frees space",
			mutate: func(m *mutantPipe) {
				var full atomic.Bool
				m.write = func(p []byte) (int, error) {
					if full.Load() && len(p) > 0 {
						return 0, timeoutError("write")
					}
					n, err := m.w.Write(p)
					if isTimeout(err) {
						full.Store(true)
					}
					return n, err
				}
			},
		},
		{
			name:   "CutShortWriteHidesError",
			breaks: "a Write cut short returns its count without an error",
			caught: "PartialWrite",
			says:   "want fewer bytes and an error",
			mutate: func(m *mutantPipe) {
				m.write = func(p []byte) (int, error) {
					n, err := m.w.Write(p)
					if n > 0 {
						err = nil
					}
					return n, err
				}
			},
		},
		{
			name:   "CutShortWriteReportsZero",
			breaks: "a Write cut short reports 0 bytes written",
			caught: "PartialWrite",
			says:   "want the count of bytes it wrote",
			mutate: cutShortReportsZero,
		},
		{
			name:        "CutShortWriteReportsZeroNoDeadlines",
			breaks:      "as CutShortWriteReportsZero, on ends without deadlines",
			caught:      "PartialWrite",
			says:        "blocked when its end was closed",
			noDeadlines: true,
			mutate:      cutShortReportsZero,
		},
		{
			name:   "CutShortWriteReportsOneMore",
			breaks: "a Write cut short reports a byte more than it wrote",
			caught: "PartialWrite",
			says:   "the rest of a Write cut short",
			mutate: func(m *mutantPipe) {
				m.write = func(p []byte) (int, error) {
					n, err := m.w.Write(p)
					if err != nil && n < len(p) {
						n++
					}
					return n, err
				}
			},
		},
		{
			name:   "SplitsWritesOf4096",
			breaks: "a Write of 2049 to 4096 bytes goes in as two halves, and the reader may read the first alone",
			caught: "AtomicWrites/4096",
			says:   "4096-byte", // a record split, or mixed with another
			mutate: func(m *mutantPipe) { splitWrites(m, 2048, 4096) },
		},
		{
			name:   "SplitsWritesOf1000",
			breaks: "a Write of 513 to 2048 bytes goes in as two halves, and the reader may read the first alone",
			caught: "AtomicWrites/1000",
			says:   "1000-byte", // a record split, or mixed with another
			mutate: func(m *mutantPipe) { splitWrites(m, 512, 2048) },
		},
		{
			name:   "EOFWhileWriterOpen",
			breaks: "a Read of an empty pipe returns io.EOF though the writer is open",
			caught: "EOFAfterWriterCloses",
			says:   "EOF comes only once the writer is closed",
			mutate: eofWhileWriterOpen,
		},
		{
			name:        "EOFWhileWriterOpenNoDeadlines",
			breaks:      "as EOFWhileWriterOpen, on ends without deadlines",
			caught:      "EOFAfterWriterCloses",
			says:        "EOF comes only once the writer is closed",
			noDeadlines: true,
			mutate:      eofWhileWriterOpen,
		},
		{
			name:   "CloseDropsUnreadBytes",
			breaks: "once the writer is closed, Read returns io.EOF with bytes unread",
			caught: "EOFAfterWriterCloses",
			says:   "the bytes written before the writer closed",
			mutate: func(m *mutantPipe) {
				m.read = func(p []byte) (int, error) {
					select {
					case <-m.wClosed:
						return 0, io.EOF
					default:
						return m.r.Read(p)
					}
				}
			},
		},
		{
			name:   "EOFOnlyOnce",
			breaks: "after io.EOF, Reads return 0, nil",
			caught: "EOFAfterWriterCloses",
			says:   "want 0, io.EOF, repeatably",
			mutate: func(m *mutantPipe) {
				var eof atomic.Bool
				m.read = func(p []byte) (int, error) {
					if eof.Load() {
						return 0, nil
					}
					n, err := m.r.Read(p)
					if err == io.EOF {
						eof.Store(true)
					}
					return n, err
				}
			},
		},
		{
			name:   "BrokenPipeIsClosed",
			breaks: "a Write without a reader fails with os.ErrClosed, not a broken pipe",
			caught: "BrokenPipe",
			says:   "a Write of 1 bytes after the reader closed returned 0, write mutant: file already closed",
			mutate: func(m *mutantPipe) {
				m.write = func(p []byte) (int, error) {
					n, err := m.w.Write(p)
					if isBroken(err) {
						err = closedError("write")
					}
					return n, err
				}
			},
		},
		{
			name:   "BrokenPipeWriteWaits",
			breaks: "a Write without a reader waits until the writer closes",
			caught: "BrokenPipe",
			says:   "a Write of 1 bytes after the reader closed did not return at once",
			mutate: func(m *mutantPipe) {
				m.write = func(p []byte) (int, error) {
					n, err := m.w.Write(p)
					if isBroken(err) {
						<-m.wClosed
					}
					return n, err
				}
			},
		},
		{
			name:   "BrokenPipeWriteVanishes",
			breaks: "a Write without a reader reports its bytes written",
			caught: "BrokenPipe",
			says:   "a Write of 1 bytes after the reader closed returned 1, <nil>",
			mutate: func(m *mutantPipe) {
				m.write = func(p []byte) (int, error) {
					n, err := m.w.Write(p)
					if isBroken(err) {
						return len(p), nil
					}
					return n, err
				}
			},
		},
		{
			name:   "BrokenPipeReadFromSucceeds",
			breaks: "ReadFrom without a reader returns nil",
			caught: "BrokenPipe",
			says:   "ReadFrom after the reader closed returned 0, <nil>",
			mutate: func(m *mutantPipe) {
				m.readFrom = func(src io.Reader) (int64, error) {
					n, err := m.w.ReadFrom(src)
					if isBroken(err) {
						err = nil
					}
					return n, err
				}
			},
		},
		{
			name:   "BrokenPipeDrainSucceeds",
			breaks: "Drain without a reader returns nil",
			caught: "BrokenPipe",
			says:   "Drain of an empty pipe after the reader closed returned <nil>",
			mutate: func(m *mutantPipe) {
				m.drain = func(ctx context.Context) error {
					err := m.w.Drain(ctx)
					if isBroken(err) {
						err = nil
					}
					return err
				}
			},
		},
		{
			name:   "BrokenPipeLeavesWriteBlocked",
			breaks: "a Write blocked when the reader closes stays blocked until the writer closes",
			caught: "BrokenPipeWakesBlockedWrite",
			says:   "still pending",
			mutate: func(m *mutantPipe) {
				m.write = func(p []byte) (int, error) {
					n, err := m.w.Write(p)
					if isBroken(err) && n > 0 {
						<-m.wClosed
					}
					return n, err
				}
			},
		},
		{
			name:   "BrokenPipeWriteReportsZero",
			breaks: "a Write blocked when the reader closes reports 0 bytes written",
			caught: "BrokenPipeWakesBlockedWrite",
			says:   "want the count it wrote",
			mutate: func(m *mutantPipe) {
				m.write = func(p []byte) (int, error) {
					n, err := m.w.Write(p)
					if isBroken(err) {
						n = 0
					}
					return n, err
				}
			},
		},
		{
			name:   "ClosedWriteIsBroken",
			breaks: "a Write on a closed write end fails with a broken pipe, not os.ErrClosed",
			caught: "UseAfterClose",
			says:   `Write([]byte{0x78}) on a closed write end returned 0, write: anonpipe: broken pipe`,
			mutate: closedWriteIsBroken,
		},
		{
			name:   "ClosedZeroLengthWriteSucceeds",
			breaks: "a Write of no bytes on a closed write end returns 0, nil",
			caught: "UseAfterClose",
			says:   "Write([]byte(nil)) on a closed write end returned 0, <nil>",
			mutate: func(m *mutantPipe) {
				m.write = func(p []byte) (int, error) {
					if len(p) == 0 {
						return 0, nil
					}
					return m.w.Write(p)
				}
			},
		},
		{
			name:   "ClosedZeroLengthReadSucceeds",
			breaks: "a Read of no bytes on a closed read end returns 0, nil",
			caught: "UseAfterClose",
			says:   "Read into []byte(nil) on a closed read end returned 0, <nil>",
			mutate: func(m *mutantPipe) {
				m.read = func(p []byte) (int, error) {
					if len(p) == 0 {
						return 0, nil
					}
					return m.r.Read(p)
				}
			},
		},
		{
			name:   "ClosedReadIsEOF",
			breaks: "a Read on a closed read end returns io.EOF",
			caught: "UseAfterClose",
			says:   "Read into []byte{0x0} on a closed read end returned 0, EOF",
			mutate: closedReadIsEOF,
		},
		{
			name:   "ClosedSetReadDeadlineFileError",
			breaks: "SetReadDeadline on a closed read end, not an *os.File, returns the very error an *os.File's does",
			caught: "UseAfterClose",
			says:   "SetReadDeadline on a closed read end, with a deadline ahead, returned use of closed file",
			mutate: func(m *mutantPipe) {
				fileErr := closedFileDeadlineError()
				m.setReadDeadline = func(t time.Time) error {
					err := m.r.SetReadDeadline(t)
					if isClosed(err) {
						err = fileErr
					}
					return err
				}
			},
		},
		{
			name:   "ClosedSetWriteDeadlineSucceeds",
			breaks: "SetWriteDeadline on a closed write end returns nil",
			caught: "UseAfterClose",
			says:   "SetWriteDeadline on a closed write end, with a deadline ahead, returned <nil>",
			mutate: func(m *mutantPipe) {
				m.setWriteDeadline = func(t time.Time) error {
					err := m.w.SetWriteDeadline(t)
					if isClosed(err) {
						err = nil
					}
					return err
				}
			},
		},
		{
			name:   "ClosedReadFromSucceeds",
			breaks: "ReadFrom on a closed write end returns nil",
			caught: "UseAfterClose",
			says:   "ReadFrom on a closed write end returned 0, <nil>",
			mutate: func(m *mutantPipe) {
				m.readFrom = func(src io.Reader) (int64, error) {
					n, err := m.w.ReadFrom(src)
					if isClosed(err) {
						err = nil
					}
					return n, err
				}
			},
		},
		{
			name:   "ClosedWriteToSucceeds",
			breaks: "WriteTo on a closed read end returns nil",
			caught: "UseAfterClose",
			says:   "WriteTo on a closed read end returned 0, <nil>",
			mutate: func(m *mutantPipe) {
				m.writeTo = func(dst io.Writer) (int64, error) {
					n, err := m.r.WriteTo(dst)
					if isClosed(err) {
						err = nil
					}
					return n, err
				}
			},
		},
		{
			name:   "ClosedDrainSucceeds",
			breaks: "Drain on a closed write end returns nil",
			caught: "UseAfterClose",
			says:   "Drain on a closed write end returned <nil>",
			mutate: drainClosedIsNil,
		},
		{
			name:   "CloseLeavesReadPending",
			breaks: "a Read pending when its end closes stays pending until the writer closes",
			caught: "CloseUnblocksRead",
			says:   "a Read pending on an empty pipe when its end was closed: still pending",
			mutate: func(m *mutantPipe) {
				m.read = func(p []byte) (int, error) {
					n, err := m.r.Read(p)
					if isClosed(err) {
						<-m.wClosed
					}
					return n, err
				}
			},
		},
		{
			name:   "CloseEndsReadWithEOF",
			breaks: "a Read pending when its end closes returns io.EOF",
			caught: "CloseUnblocksRead",
			says:   "a Read pending on an empty pipe when its end was closed returned 0, EOF",
			mutate: closedReadIsEOF,
		},
		{
			name:   "CloseLeavesWritePending",
			breaks: "a Write blocked when its end closes stays blocked until the reader closes",
			caught: "CloseUnblocksWrite",
			says:   "still pending",
			mutate: func(m *mutantPipe) {
				m.write = func(p []byte) (int, error) {
					n, err := m.w.Write(p)
					if isClosed(err) && n > 0 {
						<-m.rClosed
					}
					return n, err
				}
			},
		},
		{
			name:   "CloseEndsWriteWithBrokenPipe",
			breaks: "a Write blocked when its end closes fails with a broken pipe, not os.ErrClosed",
			caught: "CloseUnblocksWrite",
			says:   "anonpipe: broken pipe; want the count it wrote",
			mutate: closedWriteIsBroken,
		},
		{
			name:   "CloseEndsWriteReportingZero",
			breaks: "a Write blocked when its end closes reports 0 bytes written",
			caught: "CloseUnblocksWrite",
			says:   "want the count it wrote",
			mutate: func(m *mutantPipe) {
				m.write = func(p []byte) (int, error) {
					n, err := m.w.Write(p)
					if isClosed(err) {
						n = 0
					}
					return n, err
				}
			},
		},
		{
			name:   "SecondCloseFails",
			breaks: "a second Close of the read end returns an error not matching os.ErrClosed",
			caught: "CloseTwice",
			says:   "a second Close of the read end returned already closed",
			mutate: func(m *mutantPipe) {
				var closes atomic.Int32
				m.closeR = func() error {
					if closes.Add(1) > 1 {
						return errors.New("already closed")
					}
					return m.r.Close()
				}
			},
		},
		{
			name:   "SecondCloseClosesWriter",
			breaks: "a second Close of the read end closes the write end",
			caught: "CloseTwice",
			says:   "closing the reader again must not touch the writer",
			mutate: func(m *mutantPipe) {
				var closes atomic.Int32
				m.closeR = func() error {
					if closes.Add(1) > 1 {
						m.w.Close()
					}
					return m.r.Close()
				}
			},
		},
		{
			name:   "SecondClosePanics",
			breaks: "a second Close of the write end panics",
			caught: "CloseTwice",
			says:   "a second Close of the write end returned a panic (close of closed pipe)",
			mutate: func(m *mutantPipe) {
				var closes atomic.Int32
				m.closeW = func() error {
					// The second Close only: TestPipe closes the ends
					// again when the sub-test ends.
					if closes.Add(1) == 2 {
						panic("close of closed pipe")
					}
					return m.w.Close()
				}
			},
		},
		{
			name:   "CloseNeverSucceeds",
			breaks: "Close of the read end reports os.ErrClosed even when it closed it",
			caught: "CloseRace",
			says:   "neither of two concurrent Closes of the read end returned nil",
			mutate: func(m *mutantPipe) {
				m.closeR = func() error {
					if err := m.r.Close(); err != nil {
						return err
					}
					return closedError("close")
				}
			},
		},
		{
			name:   "PastReadDeadlineServesBytes",
			breaks: "a read deadline in the past lets a Read take the bytes ready",
			caught: "ReadDeadline",
			says:   "a Read with a deadline in the past, with a byte ready, returned 1, <nil>",
			mutate: func(m *mutantPipe) {
				m.setReadDeadline = func(t time.Time) error {
					if !t.IsZero() && time.Until(t) < 0 {
						t = time.Now().Add(mtick)
					}
					return m.r.SetReadDeadline(t)
				}
			},
		},
		{
			name:   "ReadDeadlineMissesPendingRead",
			breaks: "a read deadline applies to later Reads only",
			caught: "ReadDeadline",
			says:   "a Read blocked on an empty pipe when its deadline was set 20ms from now: still pending",
			mutate: func(m *mutantPipe) {
				apply := orderedDeadline(&m.setReadDeadline, m.r.SetReadDeadline)
				m.read = func(p []byte) (int, error) {
					apply()
					return m.r.Read(p)
				}
			},
		},
		{
			name:   "FutureReadDeadlineIgnored",
			breaks: "a read deadline in the future is ignored",
			caught: "ReadDeadline",
			says:   "a Read of an empty pipe with a deadline 20ms ahead: still pending",
			mutate: func(m *mutantPipe) {
				m.setReadDeadline = func(t time.Time) error {
					if time.Until(t) > 0 {
						t = time.Time{}
					}
					return m.r.SetReadDeadline(t)
				}
			},
		},
		{
			name:   "ZeroReadDeadlineIgnored",
			breaks: "setting the zero read deadline does not clear the deadline",
			caught: "ReadDeadline",
			says:   "reading the first byte of a Write: got 0 of 1 bytes",
			mutate: func(m *mutantPipe) {
				m.setReadDeadline = func(t time.Time) error {
					if t.IsZero() {
						return nil
					}
					return m.r.SetReadDeadline(t)
				}
			},
		},
		{
			name:   "ReadTimeoutNotDeadlineExceeded",
			breaks: "a Read whose deadline passed returns an error that does not match os.ErrDeadlineExceeded",
			caught: "ReadDeadline",
			says:   "returned 0, i/o timeout; want an error matching os.ErrDeadlineExceeded",
			mutate: func(m *mutantPipe) {
				m.read = func(p []byte) (int, error) {
					n, err := m.r.Read(p)
					if isTimeout(err) {
						err = errors.New("i/o timeout")
					}
					return n, err
				}
			},
		},
		{
			name:   "ReadTimeoutNotIsTimeout",
			breaks: "a Read whose deadline passed returns an error for which os.IsTimeout is false",
			caught: "ReadDeadline",
			says:   "returned 0, read: i/o timeout; want an error matching os.ErrDeadlineExceeded, for which os.IsTimeout is true",
			mutate: func(m *mutantPipe) {
				m.read = func(p []byte) (int, error) {
					n, err := m.r.Read(p)
					if isTimeout(err) {
						err = fmt.Errorf("read: %w", os.ErrDeadlineExceeded)
					}
					return n, err
				}
			},
		},
		{
			name:   "PastWriteDeadlineWritesAnyway",
			breaks: "a write deadline in the past lets a Write with room write",
			caught: "WriteDeadline",
			says:   "a Write with a deadline in the past returned 1, <nil>",
			mutate: func(m *mutantPipe) {
				m.setWriteDeadline = func(t time.Time) error {
					if !t.IsZero() && time.Until(t) < 0 {
						t = time.Now().Add(mtick)
					}
					return m.w.SetWriteDeadline(t)
				}
			},
		},
		{
			name:   "WriteDeadlineMissesPendingWrite",
			breaks: "a write deadline applies to later Writes only",
			caught: "WriteDeadline",
			says:   "when its deadline was set 20ms from now: still pending",
			mutate: func(m *mutantPipe) {
				apply := orderedDeadline(&m.setWriteDeadline, m.w.SetWriteDeadline)
				m.write = func(p []byte) (int, error) {
					apply()
					return m.w.Write(p)
				}
			},
		},
		{
			name:   "FutureWriteDeadlineIgnored",
			breaks: "a write deadline in the future is ignored",
			caught: "WriteDeadline",
			says:   "with a deadline 20ms ahead: still pending",
			mutate: func(m *mutantPipe) {
				m.setWriteDeadline = func(t time.Time) error {
					if time.Until(t) > 0 {
						t = time.Time{}
					}
					return m.w.SetWriteDeadline(t)
				}
			},
		},
		{
			name:   "ZeroWriteDeadlineIgnored",
			breaks: "setting the zero write deadline does not clear the deadline",
			caught: "WriteDeadline",
			says:   `Write of "x" (and Close if asked) returned 0, write pipetest: i/o timeout`,
			mutate: func(m *mutantPipe) {
				m.setWriteDeadline = func(t time.Time) error {
					if t.IsZero() {
						return nil
					}
					return m.w.SetWriteDeadline(t)
				}
			},
		},
		{
			name:   "WriteTimeoutNotDeadlineExceeded",
			breaks: "a Write whose deadline passed returns an error that does not match os.ErrDeadlineExceeded",
			caught: "WriteDeadline",
			says:   "returned 0, i/o timeout; want 0 at once and an error",
			mutate: func(m *mutantPipe) {
				m.write = func(p []byte) (int, error) {
					n, err := m.w.Write(p)
					if isTimeout(err) {
						err = errors.New("i/o timeout")
					}
					return n, err
				}
			},
		},
		{
			name:   "WriteTimeoutNotIsTimeout",
			breaks: "a Write whose deadline passed returns an error for which os.IsTimeout is false",
			caught: "WriteDeadline",
			says:   "returned 0, write: i/o timeout; want 0 at once and an error",
			mutate: func(m *mutantPipe) {
				m.write = func(p []byte) (int, error) {
					n, err := m.w.Write(p)
					if isTimeout(err) {
						err = fmt.Errorf("write: %w", os.ErrDeadlineExceeded)
					}
					return n, err
				}
			},
		},
		{
			name:   "ReadDeadlineBoundsWrites",
			breaks: "SetReadDeadline sets the write deadline too",
			caught: "DeadlinesIndependent",
			says:   `Write of "x" (and Close if asked) returned 0, write pipetest: i/o timeout`,
			mutate: func(m *mutantPipe) {
				m.setReadDeadline = func(t time.Time) error {
					m.w.SetWriteDeadline(t)
					return m.r.SetReadDeadline(t)
				}
			},
		},
		{
			name:   "WriteDeadlineBoundsReads",
			breaks: "SetWriteDeadline sets the read deadline too",
			caught: "DeadlinesIndependent",
			says:   "while the write deadline had passed",
			mutate: func(m *mutantPipe) {
				m.setWriteDeadline = func(t time.Time) error {
					m.r.SetReadDeadline(t)
					return m.w.SetWriteDeadline(t)
				}
			},
		},
		{
			name:   "TimedOutReadFilledLater",
			breaks: "a Read that timed out gets the bytes of the next Read copied into its buffer",
			caught: "BufferNotRetained/Read",
			says:   "the buffer of a Read that timed out, after later Writes",
			mutate: func(m *mutantPipe) {
				var mu sync.Mutex
				var stale []byte
				m.read = func(p []byte) (int, error) {
					n, err := m.r.Read(p)
					mu.Lock()
					defer mu.Unlock()
					if stale != nil {
						copy(stale, p[:n])
						stale = nil
					}
					if isTimeout(err) {
						stale = p
					}
					return n, err
				}
			},
		},
		{
			name:   "WriteKeepsBuffer",
			breaks: "the reader gets bytes from the writer's buffers, not copies of them",
			caught: "BufferNotRetained/Write",
			says:   "what follows a Write whose buffer changed after it returned",
			mutate: keepsBuffer,
		},
		{
			name:        "WriteKeepsBufferNoDeadlines",
			breaks:      "as WriteKeepsBuffer, on ends without deadlines",
			caught:      "BufferNotRetained/Write",
			says:        "what follows a Write whose buffer changed after it returned",
			noDeadlines: true,
			mutate:      keepsBuffer,
		},
		{
			name:   "ShortWriteWithoutError",
			breaks: "a Write of more than 4096 bytes writes 4096 of them and returns nil",
			caught: "RandomMegabyte",
			says:   "a Write that writes less than asked must return an error",
			mutate: func(m *mutantPipe) {
				m.write = func(p []byte) (int, error) {
					return m.w.Write(p[:min(len(p), 4096)])
				}
			},
		},
		{
			name:   "BigWriteLosesLastByte",
			breaks: "a Write of more than 32 KiB loses its last byte",
			caught: "RandomMegabyte",
			says:   "a megabyte written and read in random sizes",
			mutate: func(m *mutantPipe) {
				m.write = func(p []byte) (int, error) {
					if len(p) <= 32<<10 {
						return m.w.Write(p)
					}
					n, err := m.w.Write(p[:len(p)-1])
					if err == nil {
						n++
					}
					return n, err
				}
			},
		},
		{
			name:   "ReadFromDropsBytesWithEOF",
			breaks: "ReadFrom drops the bytes its source returns with io.EOF",
			caught: "ReadFromWriteTo",
			says:   "ReadFrom of 1048576 bytes returned 10",
			mutate: func(m *mutantPipe) {
				m.readFrom = func(src io.Reader) (int64, error) {
					buf := make([]byte, 32<<10)
					var total int64
					for {
						n, err := src.Read(buf)
						if err == io.EOF {
							return total, nil
						}
						k, werr := m.w.Write(buf[:n])
						total += int64(k)
						if werr != nil {
							return total, werr
						}
						if err != nil {
							return total, err
						}
					}
				}
			},
		},
		{
			name:   "WriteToCountsBeforeWriting",
			breaks: "WriteTo counts the bytes it read, not those its destination took",
			caught: "ReadFromWriteTo",
			says:   "WriteTo into a writer that took 1048575 bytes and refused the next returned 1048576",
			mutate: func(m *mutantPipe) {
				m.writeTo = func(dst io.Writer) (int64, error) {
					buf := make([]byte, 32<<10)
					var total int64
					for {
						n, err := m.r.Read(buf)
						total += int64(n)
						if _, werr := dst.Write(buf[:n]); werr != nil {
							return total, werr
						}
						if err == io.EOF {
							return total, nil
						}
						if err != nil {
							return total, err
						}
					}
				}
			},
		},
		{
			name:   "DrainWaitsOnEmptyPipe",
			breaks: "Drain of an empty pipe waits for its context",
			caught: "Drain",
			says:   "Drain of an empty pipe did not return at once",
			mutate: func(m *mutantPipe) {
				m.drain = func(ctx context.Context) error {
					if err := m.w.Drain(ctx); err != nil {
						return err
					}
					select {
					case <-ctx.Done():
						return ctx.Err()
					case <-m.wClosed:
						return closedError("drain")
					}
				}
			},
		},
		{
			name:   "DrainDoesNotWait",
			breaks: "Drain returns nil at once with bytes unread",
			caught: "Drain",
			says:   "a context ending 20ms later returned <nil>",
			mutate: func(m *mutantPipe) {
				m.drain = func(ctx context.Context) error { return nil }
			},
		},
		{
			name:   "DrainMissesReads",
			breaks: "Drain never sees reads: once bytes were written it waits for its context",
			caught: "Drain",
			says:   "Drain, when the reader read everything: still pending",
			mutate: func(m *mutantPipe) {
				// Deciding by the bytes unread when Drain is called would
				// race with the suite's read, which may come first.
				written, _ := counted(m)
				m.drain = func(ctx context.Context) error {
					if written.Load() == 0 {
						return m.w.Drain(ctx)
					}
					select {
					case <-ctx.Done():
						return ctx.Err()
					case <-m.wClosed:
						return closedError("drain")
					}
				}
			},
		},
		{
			name:   "DrainHidesContextEnd",
			breaks: "Drain ended by its context returns nil",
			caught: "Drain",
			says:   "a context ending 20ms later returned <nil>; want context.DeadlineExceeded",
			mutate: func(m *mutantPipe) {
				m.drain = func(ctx context.Context) error {
					err := m.w.Drain(ctx)
					if err != nil && err == ctx.Err() {
						err = nil
					}
					return err
				}
			},
		},
		{
			name:   "DrainEndedByCloseSucceeds",
			breaks: "Drain ended by the writer's Close returns nil",
			caught: "Drain",
			says:   "Drain with a byte unread returned <nil> when the writer closed",
			mutate: drainClosedIsNil,
		},
		{
			name:   "CloseLeavesDrainPending",
			breaks: "a Drain waiting when the writer closes waits on until the reader closes",
			caught: "Drain",
			says:   "Drain with a byte unread, when the writer closed: still pending",
			mutate: func(m *mutantPipe) {
				m.drain = func(ctx context.Context) error {
					err := m.w.Drain(ctx)
					if isClosed(err) {
						<-m.rClosed
					}
					return err
				}
			},
		},
	}
}

func neverFull(m *mutantPipe) {
	var (
		mu     sync.Mutex
		queue  [][]byte
		notify = make(chan struct{}, 1)
		pump   sync.Once
	)
	m.write = func(p []byte) (int, error) {
		pump.Do(func() {
			go func() {
				for {
					mu.Lock()
					if len(queue) == 0 {
						mu.Unlock()
						select {
						case <-notify:
							continue
						case <-m.wClosed:
							return
						}
					}
					b := queue[0]
					queue = queue[1:]
					mu.Unlock()
					if _, err := m.w.Write(b); err != nil {
						return
					}
				}
			}()
		})
		mu.Lock()
		queue = append(queue, append([]byte(nil), p...))
		mu.Unlock()
		select {
		case notify <- struct{}{}:
		default:
		}
		return len(p), nil
	}
}

func cutShortReportsZero(m *mutantPipe) {
	m.write = func(p []byte) (int, error) {
		n, err := m.w.Write(p)
		if err != nil {
			n = 0
		}
		return n, err
	}
}

func eofWhileWriterOpen(m *mutantPipe) {
	written, read := counted(m)
	countedRead := m.read
	m.read = func(p []byte) (int, error) {
		if len(p) > 0 && read.Load() >= written.Load() {
			return 0, io.EOF
		}
		return countedRead(p)
	}
}

func drainClosedIsNil(m *mutantPipe) {
	m.drain = func(ctx context.Context) error {
		err := m.w.Drain(ctx)
		if isClosed(err) {
			err = nil
		}
		return err
	}
}

// keepsBuffer makes the reader of m get the bytes of every Write from its
// buffer as it is when they are read.
func keepsBuffer(m *mutantPipe) {
	type kept struct {
		off int64
		buf []byte
	}
	var (
		mu      sync.Mutex
		bufs    []kept
		wOff    int64
		rOff    int64
		writeMu sync.Mutex // one Write at a time, so that offsets hold
	)
	m.write = func(p []byte) (int, error) {
		writeMu.Lock()
		defer writeMu.Unlock()
		mu.Lock()
		bufs = append(bufs, kept{wOff, p})
		mu.Unlock()
		n, err := m.w.Write(p)
		mu.Lock()
		wOff += int64(n)
		mu.Unlock()
		return n, err
	}
	m.read = func(p []byte) (int, error) {
		n, err := m.r.Read(p)
		mu.Lock()
		defer mu.Unlock()
		for i := range n {
			off := rOff + int64(i)
			for _, k := range bufs {
				if off >= k.off && off-k.off < int64(len(k.buf)) {
					p[i] = k.buf[off-k.off]
				}
			}
		}
		rOff += int64(n)
		return n, err
	}
}

func closedWriteIsBroken(m *mutantPipe) {
	m.write = func(p []byte) (int, error) {
		n, err := m.w.Write(p)
		if isClosed(err) {
			err = fmt.Errorf("write: %w", anonpipe.ErrBrokenPipe)
		}
		return n, err
	}
}

func closedReadIsEOF(m *mutantPipe) {
	m.read = func(p []byte) (int, error) {
		n, err := m.r.Read(p)
		if isClosed(err) {
			err = io.EOF
		}
		return n, err
	}
}

// closedFileDeadlineError returns the error of SetReadDeadline on a closed
// *os.File, or one that reads the same where that matches os.ErrClosed.
func closedFileDeadlineError() error {
	r, w, err := os.Pipe()
	if err == nil {
		w.Close()
		r.Close()
		if err := r.SetReadDeadline(time.Time{}); err != nil && !isClosed(err) {
			return err
		}
	}
	return errors.New("use of closed file")
}
