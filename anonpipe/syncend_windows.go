package anonpipe

import (
	"errors"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/windows"
)

// syncEnd gives an end in synchronous mode, which a child gets (see
// newPipe) and which the poller cannot serve, what the poller gives an
// overlapped one: a deadline, and a Close that ends pending calls. Both
// cancel the pending calls with CancelIoEx, which ends a synchronous
// ReadFile or WriteFile of this process on the handle, however issued. A
// cancelled call has moved nothing (a read either takes bytes and
// completes, or takes none; a write is made in pieces taken whole or not at
// all, see asyncWriter), so the counts stay exact, and a call cancelled for
// a deadline since moved or cleared is simply made again.
//
// The handle's mode is left as it is, so that another holder of it, such as
// a grandchild given File(), can use it with plain blocking calls.
type syncEnd struct {
	f     *os.File
	op    string // "read" or "write"
	piece int    // for writes: see asyncWriter

	mu       sync.Mutex
	deadline time.Time // zero: none
	timer    *time.Timer
	calls    int  // Read or Write calls under way
	closed   bool // Close was called
}

func newSyncEnd(f *os.File, write bool, piece int) *syncEnd {
	s := &syncEnd{f: f, op: "read", piece: piece}
	if write {
		s.op = "write"
	}
	return s
}

func (s *syncEnd) Read(p []byte) (int, error) {
	return s.call(func() (int, error) { return s.f.Read(p) })
}

func (s *syncEnd) Write(p []byte) (int, error) {
	return writePieces(func(b []byte) (int, error) {
		return s.call(func() (int, error) { return s.f.Write(b) })
	}, p, s.piece)
}

// call makes the call c unless the end is closed or past its deadline, and
// makes it again if it is cancelled otherwise.
func (s *syncEnd) call(c func() (int, error)) (int, error) {
	for {
		s.mu.Lock()
		if err := s.refusal(); err != nil {
			s.mu.Unlock()
			return 0, err
		}
		s.calls++
		s.mu.Unlock()

		n, err := c()

		s.mu.Lock()
		s.calls--
		refusal := s.refusal()
		s.mu.Unlock()
		if n > 0 || !errors.Is(err, windows.ERROR_OPERATION_ABORTED) {
			return n, err
		}
		if refusal != nil {
			return 0, refusal
		}
	}
}

// refusal returns the error of a call made now, or nil if it may be made.
// s.mu must be held.
func (s *syncEnd) refusal() error {
	switch {
	case s.closed:
		return errClosed(s.op, s.f)
	case !s.deadline.IsZero() && !time.Now().Before(s.deadline):
		return &os.PathError{Op: s.op, Path: s.f.Name(), Err: os.ErrDeadlineExceeded}
	}
	return nil
}

func (s *syncEnd) setDeadline(t time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errClosed("SetDeadline", s.f)
	}
	s.deadline = t
	if s.timer != nil {
		s.timer.Stop()
		s.timer = nil
	}
	if !t.IsZero() {
		// Even a deadline already past runs cancelCalls in its own
		// goroutine: it returns only once the calls have.
		s.timer = time.AfterFunc(time.Until(t), s.cancelCalls)
	}
	return nil
}

// Close ends the calls under way, which then return an error matching
// os.ErrClosed, and closes the file.
func (s *syncEnd) Close() error {
	s.mu.Lock()
	s.closed = true
	if s.timer != nil {
		s.timer.Stop()
		s.timer = nil
	}
	s.mu.Unlock()
	s.cancelCalls()
	return s.f.Close()
}

// cancelCalls cancels the calls under way while they must not be (the end
// is closed or past its deadline), and returns once none is left. A cancel
// ends only the ReadFile or WriteFile already made, so a call about to make
// one needs another round. Close closes the file only after this, so that
// f's handle stays usable here.
func (s *syncEnd) cancelCalls() {
	wait := 20 * time.Microsecond
	for {
		s.mu.Lock()
		if s.calls == 0 || s.refusal() == nil {
			s.mu.Unlock()
			return
		}
		s.mu.Unlock()
		cancelIO(s.f)
		time.Sleep(wait)
		wait = min(2*wait, time.Millisecond)
	}
}

// cancelIO cancels every call of this process pending on f's handle.
func cancelIO(f *os.File) {
	rc, err := f.SyscallConn()
	if err != nil {
		return
	}
	rc.Control(func(h uintptr) { windows.CancelIoEx(windows.Handle(h), nil) })
}
