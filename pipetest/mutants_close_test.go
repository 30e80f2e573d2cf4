package pipetest_test

import (
	"context"
	"errors"
	"fmt"
	"github.com/anonpipe/anonpipe/anonpipe"
	"io"
	"os"
	"sync/atomic"
	"time"
)

// The mutants of closing either end; see mutant.
func closeMutants() []mutant {
	return []mutant{
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
