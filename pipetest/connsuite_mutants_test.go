package pipetest_test

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anonpipe/anonpipe/pipetest"
	"github.com/matryer/is"
)

// A connMutant is a connection that breaks one behaviour TestConn checks,
// and otherwise behaves as the Conn it wraps. TestConnSuiteCatchesMutants
// shows that TestConn fails each one, in the sub-test for that behaviour,
// for that reason.
type connMutant struct {
	name   string // the sub-test of TestConnSuiteCatchesMutants
	breaks string // what the mutant does wrong
	caught string // the sub-test of TestConn that must fail it
	says   string // part of that sub-test's failure message
	// mutate replaces methods of m, an end of a new connection; it is
	// called for both ends, each keeping its own state in the closures.
	mutate func(m *mutantConn)
}

// mutantConn is an end of a Conn whose methods a mutant can replace: a
// method whose field is nil calls the Conn's.
type mutantConn struct {
	c *pipetest.Conn

	read, write                                    func(p []byte) (int, error)
	close, closeRead, closeWrite                   func() error
	setDeadline, setReadDeadline, setWriteDeadline func(t time.Time) error
	nilAddrs                                       bool
}

func (m *mutantConn) Read(p []byte) (int, error) {
	if m.read != nil {
		return m.read(p)
	}
	return m.c.Read(p)
}

func (m *mutantConn) Write(p []byte) (int, error) {
	if m.write != nil {
		return m.write(p)
	}
	return m.c.Write(p)
}

func (m *mutantConn) Close() error {
	if m.close != nil {
		return m.close()
	}
	return m.c.Close()
}

func (m *mutantConn) CloseRead() error {
	if m.closeRead != nil {
		return m.closeRead()
	}
	return m.c.CloseRead()
}

func (m *mutantConn) CloseWrite() error {
	if m.closeWrite != nil {
		return m.closeWrite()
	}
	return m.c.CloseWrite()
}

func (m *mutantConn) SetDeadline(t time.Time) error {
	if m.setDeadline != nil {
		return m.setDeadline(t)
	}
	return m.c.SetDeadline(t)
}

func (m *mutantConn) SetReadDeadline(t time.Time) error {
	if m.setReadDeadline != nil {
		return m.setReadDeadline(t)
	}
	return m.c.SetReadDeadline(t)
}

func (m *mutantConn) SetWriteDeadline(t time.Time) error {
	if m.setWriteDeadline != nil {
		return m.setWriteDeadline(t)
	}
	return m.c.SetWriteDeadline(t)
}

func (m *mutantConn) LocalAddr() net.Addr {
	if m.nilAddrs {
		return nil
	}
	return m.c.LocalAddr()
}

func (m *mutantConn) RemoteAddr() net.Addr {
	if m.nilAddrs {
		return nil
	}
	return m.c.RemoteAddr()
}

// makeConn makes a connection of two mutated ends. Its stop closes the
// Conns themselves, which sets free what a mutant's Close would not.
func (mu connMutant) makeConn() (net.Conn, net.Conn, func(), error) {
	a, b := pipetest.ConnPipe()
	ma, mb := &mutantConn{c: a}, &mutantConn{c: b}
	mu.mutate(ma)
	mu.mutate(mb)
	return ma, mb, func() {
		a.Close()
		b.Close()
	}, nil
}

// mutantTimeout is the error of a call that a mutant times out itself.
func mutantTimeout(op string) error {
	return &net.OpError{Op: op, Net: "anonpipe", Err: os.ErrDeadlineExceeded}
}

// storedDeadlines makes m's deadline setters call set, which is told
// whether to set the read deadline, the write deadline or both.
func storedDeadlines(m *mutantConn, set func(read, write bool, t time.Time) error) {
	m.setDeadline = func(t time.Time) error { return set(true, true, t) }
	m.setReadDeadline = func(t time.Time) error { return set(true, false, t) }
	m.setWriteDeadline = func(t time.Time) error { return set(false, true, t) }
}

func connMutants() []connMutant {
	return []connMutant{
		{
			name:   "SwapsHalves",
			breaks: "a Write of 2 bytes or more writes its second half before its first",
			caught: "BasicIO",
			says:   "they differ from byte",
			mutate: func(m *mutantConn) {
				m.write = func(p []byte) (int, error) {
					if len(p) < 2 {
						return m.c.Write(p)
					}
					h := len(p) / 2
					n, err := m.c.Write(p[h:])
					if err != nil {
						return 0, err
					}
					k, err := m.c.Write(p[:h])
					return n + k, err
				}
			},
		},
		{
			name:   "ReadWaitsToFill",
			breaks: "Read waits until it has filled its buffer, not returning the bytes there",
			caught: "PingPong",
			says:   "watchdog: sub-test",
			mutate: func(m *mutantConn) {
				m.read = func(p []byte) (int, error) { return io.ReadFull(m.c, p) }
			},
		},
		{
			name:   "ReadLosesBytes",
			breaks: "every 64th Read that gets bytes while a read deadline is set drops them and reports a timeout",
			caught: "RacyRead",
			says:   "the racing Reads of c1 got",
			mutate: func(m *mutantConn) {
				var armed atomic.Bool
				var reads atomic.Int64
				storedDeadlines(m, func(read, write bool, t time.Time) error {
					if read {
						armed.Store(!t.IsZero())
						if err := m.c.SetReadDeadline(t); err != nil {
							return err
						}
					}
					if write {
						return m.c.SetWriteDeadline(t)
					}
					return nil
				})
				m.read = func(p []byte) (int, error) {
					n, err := m.c.Read(p)
					if n > 0 && armed.Load() && reads.Add(1)%64 == 0 {
						return 0, mutantTimeout("read")
					}
					return n, err
				}
			},
		},
		{
			name:   "WriteLosesBytes",
			breaks: "every 64th Write made while a write deadline is set reports its bytes written and writes none",
			caught: "RacyWrite",
			says:   "the racing Writes of c1 reported",
			mutate: func(m *mutantConn) {
				var armed atomic.Bool
				var writes atomic.Int64
				storedDeadlines(m, func(read, write bool, t time.Time) error {
					if read {
						if err := m.c.SetReadDeadline(t); err != nil {
							return err
						}
					}
					if write {
						armed.Store(!t.IsZero())
						return m.c.SetWriteDeadline(t)
					}
					return nil
				})
				m.write = func(p []byte) (int, error) {
					if armed.Load() && writes.Add(1)%64 == 0 {
						return len(p), nil
					}
					return m.c.Write(p)
				}
			},
		},
		{
			name:   "ReadIgnoresDeadline",
			breaks: "the read deadline is never set",
			caught: "ReadTimeout",
			says:   "c1.Read with its deadline in the past did not return at once",
			mutate: func(m *mutantConn) {
				storedDeadlines(m, func(read, write bool, t time.Time) error {
					if write {
						return m.c.SetWriteDeadline(t)
					}
					return nil
				})
			},
		},
		{
			name:   "WriteDeadlineBoundsReads",
			breaks: "SetWriteDeadline sets the read deadline too",
			caught: "WriteTimeout",
			says:   "c1.Read, with only the write deadline past, while c2 writes, returned 0",
			mutate: func(m *mutantConn) {
				m.setWriteDeadline = m.c.SetDeadline
			},
		},
		{
			name:   "SetDeadlineOnlyReads",
			breaks: "SetDeadline sets the read deadline only",
			caught: "PastTimeout",
			says:   "c1.Write after SetDeadline in the past returned 4, <nil>",
			mutate: func(m *mutantConn) {
				m.setDeadline = m.c.SetReadDeadline
			},
		},
		{
			name:   "DeadlineForLaterCalls",
			breaks: "a deadline applies to the calls made after it is set, not to those under way",
			caught: "PresentTimeout",
			says:   "c1.Read pending when its deadline was set in the past: still pending",
			mutate: func(m *mutantConn) {
				var mu sync.Mutex
				var rd, wd time.Time
				storedDeadlines(m, func(read, write bool, t time.Time) error {
					mu.Lock()
					defer mu.Unlock()
					if read {
						rd = t
					}
					if write {
						wd = t
					}
					return nil
				})
				m.read = func(p []byte) (int, error) {
					mu.Lock()
					err := m.c.SetReadDeadline(rd)
					mu.Unlock()
					if err != nil {
						return 0, err
					}
					return m.c.Read(p)
				}
				m.write = func(p []byte) (int, error) {
					mu.Lock()
					err := m.c.SetWriteDeadline(wd)
					mu.Unlock()
					if err != nil {
						return 0, err
					}
					return m.c.Write(p)
				}
			},
		},
		{
			name:   "DeadlineEarly",
			breaks: "a deadline in the future passes a tenth of the way there",
			caught: "FutureTimeout",
			says:   "before it", // the Read or the Write returned 90 ms early, or both
			mutate: func(m *mutantConn) {
				early := func(t time.Time) time.Time {
					if d := time.Until(t); d > 0 {
						return time.Now().Add(d / 10)
					}
					return t
				}
				storedDeadlines(m, func(read, write bool, t time.Time) error {
					if read {
						if err := m.c.SetReadDeadline(early(t)); err != nil {
							return err
						}
					}
					if write {
						return m.c.SetWriteDeadline(early(t))
					}
					return nil
				})
			},
		},
		{
			name:   "CloseLeavesReadBlocked",
			breaks: "Close closes the write direction, and the read direction only for later Reads",
			caught: "CloseTimeout",
			says:   "c1.Read pending when c1 closed: still pending",
			mutate: func(m *mutantConn) {
				var closed atomic.Bool
				m.close = func() error {
					closed.Store(true)
					return m.c.CloseWrite()
				}
				m.read = func(p []byte) (int, error) {
					if closed.Load() {
						return 0, &net.OpError{Op: "read", Net: "anonpipe", Err: os.ErrClosed}
					}
					return m.c.Read(p)
				}
			},
		},
		{
			name:   "SetterWaitsForRead",
			breaks: "the read deadline setters take a lock that a Read holds while it waits",
			caught: "PresentTimeout",
			says:   "watchdog: sub-test",
			mutate: func(m *mutantConn) {
				var mu sync.Mutex
				m.read = func(p []byte) (int, error) {
					mu.Lock()
					defer mu.Unlock()
					return m.c.Read(p)
				}
				locked := func(set func(time.Time) error) func(time.Time) error {
					return func(t time.Time) error {
						mu.Lock()
						defer mu.Unlock()
						return set(t)
					}
				}
				m.setDeadline = locked(m.c.SetDeadline)
				m.setReadDeadline = locked(m.c.SetReadDeadline)
			},
		},
		{
			name:   "NilAddrs",
			breaks: "LocalAddr and RemoteAddr return nil",
			caught: "ConcurrentMethods",
			says:   "c1.LocalAddr returned nil",
			mutate: func(m *mutantConn) { m.nilAddrs = true },
		},
		{
			name:   "EOFWrapped",
			breaks: "Read returns io.EOF wrapped, not io.EOF itself",
			caught: "EOFAfterClose",
			says:   "want io.EOF",
			mutate: func(m *mutantConn) {
				m.read = func(p []byte) (int, error) {
					n, err := m.c.Read(p)
					if err == io.EOF {
						err = fmt.Errorf("read: %w", err)
					}
					return n, err
				}
			},
		},
		{
			name:   "CloseLeavesPeerReading",
			breaks: "Close closes only the read direction: the peer never gets EOF",
			caught: "CloseUnblocksPeerRead",
			says:   "c2.Read pending when c1 closed: still pending",
			mutate: func(m *mutantConn) {
				m.close = m.c.CloseRead
			},
		},
		{
			name:   "BrokenPipeIsClosed",
			breaks: "a Write to a peer that is gone fails with an error matching os.ErrClosed, not a broken pipe",
			caught: "CloseUnblocksPeerWrite",
			says:   "want its count and an error matching anonpipe.ErrBrokenPipe or syscall.EPIPE",
			mutate: func(m *mutantConn) {
				m.write = func(p []byte) (int, error) {
					n, err := m.c.Write(p)
					if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
						err = &net.OpError{Op: "write", Net: "anonpipe", Err: os.ErrClosed}
					}
					return n, err
				}
			},
		},
		{
			name:   "ReadAfterCloseIsEOF",
			breaks: "a Read after Close returns io.EOF",
			caught: "UseAfterClose",
			says:   "c1.Read after Close returned 0, EOF",
			mutate: func(m *mutantConn) {
				m.read = func(p []byte) (int, error) {
					n, err := m.c.Read(p)
					if errors.Is(err, os.ErrClosed) {
						err = io.EOF
					}
					return n, err
				}
			},
		},
		{
			name:   "CloseWriteClosesBoth",
			breaks: "CloseWrite closes the connection",
			caught: "CloseWrite",
			says:   "a reply from c2 after c1.CloseWrite",
			mutate: func(m *mutantConn) {
				m.closeWrite = m.c.Close
			},
		},
		{
			name:   "CloseReadClosesBoth",
			breaks: "CloseRead closes the connection",
			caught: "CloseRead",
			says:   "a message from c1 after c1.CloseRead",
			mutate: func(m *mutantConn) {
				m.closeRead = m.c.Close
			},
		},
		{
			name:   "CloseReadStaysLocal",
			breaks: "CloseRead makes later Reads return io.EOF and tells the peer nothing",
			caught: "CloseReadBreaksPeer",
			says:   "c2.Write blocked when c1.CloseRead was called: still pending",
			mutate: func(m *mutantConn) {
				var closed atomic.Bool
				m.closeRead = func() error {
					closed.Store(true)
					return nil
				}
				m.read = func(p []byte) (int, error) {
					if closed.Load() {
						return 0, io.EOF
					}
					return m.c.Read(p)
				}
			},
		},
		{
			name:   "TimeoutNotNetError",
			breaks: "a Write's timeout is wrapped by fmt.Errorf, so it is no net.Error",
			caught: "WriteTimeout",
			says:   "is a net.Error with Timeout true",
			mutate: func(m *mutantConn) {
				m.write = func(p []byte) (int, error) {
					n, err := m.c.Write(p)
					if errors.Is(err, os.ErrDeadlineExceeded) {
						err = fmt.Errorf("mutant: %w", err)
					}
					return n, err
				}
			},
		},
	}
}

// connMutantRuns is how many runs of the test binary
// TestConnSuiteCatchesMutants has going at once.
const connMutantRuns = 4

func TestConnSuiteCatchesMutants(t *testing.T) {
	rows := connMutants()
	if os.Getenv(catchEnv) == "conn mutants" {
		for _, m := range rows {
			t.Run(m.name, func(t *testing.T) { pipetest.TestConn(t, m.makeConn) })
		}
		return
	}
	if testing.Short() {
		t.Skip("runs the test binary again")
	}
	t.Parallel()
	// Each row runs the test binary on its mutant and only the sub-test
	// that must catch it, connMutantRuns at a time; the rows wait as
	// parallel sub-tests, so that the runs overlap.
	sem := make(chan struct{}, connMutantRuns)
	for _, m := range rows {
		t.Run(m.name, func(t *testing.T) {
			t.Cleanup(func() {
				if t.Failed() {
					t.Logf("the mutant: %s", m.breaks)
				}
			})
			sel := "-test.run=^" + strings.Split(t.Name(), "/")[0] + "$/^" + m.name + "$/^" + regexp.QuoteMeta(m.caught) + "$"
			// A short timeout makes TestConn's watchdog fire after 2 s for
			// the mutants that hang.
			run := catchInParallel(t, sem, "conn mutants", sel, "-test.timeout=8s")
			t.Cleanup(func() {
				if t.Failed() {
					t.Logf("the run of TestConn on the mutant printed:\n%s", run.out)
				}
			})
			is := is.New(t)
			var ee *exec.ExitError
			is.True(errors.As(run.err, &ee))                 // the run of TestConn on the mutant fails
			is.True(!strings.Contains(run.out, "DATA RACE")) // without a data race
			is.True(!strings.Contains(run.out, "panic:"))    // nor a panic
			test := t.Name() + "/" + m.caught
			is.Equal(verdict(run.out, test), test+" FAIL") // the sub-test of the behaviour the mutant breaks fails it
			is.True(strings.Contains(run.out, m.says))     // and says why
		})
	}
}
