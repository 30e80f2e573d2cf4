package anonpipe

import (
	"io"
	"os"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// busyPoller is a Reader's Read under WithBusyPoll. The poller's wait is
// still there behind it, so deadlines and Close keep working.
type busyPoller struct {
	f  *os.File
	rc syscall.RawConn
	d  time.Duration
	// poll is b.poll, bound once so that Read allocates nothing.
	poll func(fd uintptr) bool

	mu   sync.Mutex // guards what follows: one Read at a time uses them
	p    []byte
	n    int
	err  error // the read's own error
	done bool  // this Read has polled for d already
}

func newBusyPoller(f *os.File, d time.Duration) *busyPoller {
	if d <= 0 {
		return nil
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return nil
	}
	b := &busyPoller{f: f, rc: rc, d: d}
	b.poll = b.tryRead
	return b
}

// read is os.File.Read for a non-empty p, polling for up to d before it
// parks.
func (b *busyPoller) read(p []byte) (int, error) {
	b.mu.Lock()
	b.p, b.n, b.err, b.done = p, 0, nil, false
	// RawConn.Read checks the deadline first, as Read does, and parks on
	// the poller whenever tryRead returns false.
	err := b.rc.Read(b.poll)
	n, rerr := b.n, b.err
	b.p = nil
	b.mu.Unlock()
	switch {
	case rerr != nil:
		return 0, &os.PathError{Op: "read", Path: b.f.Name(), Err: rerr}
	case err != nil:
		return 0, rawConnError("read", b.f.Name(), err)
	case n == 0:
		return 0, io.EOF
	}
	return n, nil
}

// tryRead reads what is there; finding nothing, it tries again, yielding
// the processor between tries, until d has passed since it first found
// nothing. Then it lets the poller wait.
func (b *busyPoller) tryRead(fd uintptr) bool {
	var start time.Time
	for {
		n, err := unix.Read(int(fd), b.p)
		switch err {
		case nil:
			b.n = n
			return true
		case unix.EINTR:
			continue
		case unix.EAGAIN:
		default:
			b.err = err
			return true
		}
		if b.done {
			return false
		}
		if now := time.Now(); start.IsZero() {
			start = now
		} else if now.Sub(start) >= b.d {
			b.done = true
			return false
		}
		// Let a thread waiting for this processor run: perhaps the very
		// writer this Read waits for.
		unix.RawSyscall(unix.SYS_SCHED_YIELD, 0, 0, 0)
	}
}
