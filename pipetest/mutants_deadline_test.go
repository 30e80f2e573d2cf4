package pipetest_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"
)

// The mutants of deadlines and Drain; see mutant.
func deadlineMutants() []mutant {
	return []mutant{
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

func drainClosedIsNil(m *mutantPipe) {
	m.drain = func(ctx context.Context) error {
		err := m.w.Drain(ctx)
		if isClosed(err) {
			err = nil
		}
		return err
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
