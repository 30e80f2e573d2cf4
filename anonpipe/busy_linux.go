package anonpipe

import (
	"io"
	"os"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// busyPoller is a Reader's Read under WithBusyPoll. It reads through the
// RawConn, so the poller still provides deadlines, Close and the wait once
// polling gives up.
type busyPoller struct {
	f   *os.File
	rc  syscall.RawConn
	d   time.Duration
	try func(fd uintptr) bool // b.tryRead, bound once so that Read allocates nothing

	mu  sync.Mutex // held by one Read, for the fields below
	p   []byte
	n   int
	err error
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
	b.try = b.tryRead
	return b
}

// read is os.File.Read for a non-empty p.
func (b *busyPoller) read(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.p, b.n, b.err = p, 0, nil
	err := b.rc.Read(b.try)
	b.p = nil
	switch {
	case b.err != nil:
		return 0, &os.PathError{Op: "read", Path: b.f.Name(), Err: b.err}
	case err != nil:
		return 0, rawConnError("read", b.f.Name(), err)
	case b.n == 0:
		return 0, io.EOF
	}
	return b.n, nil
}

// tryRead reads what is there. Finding nothing, it tries again for up to d,
// yielding the processor between tries (perhaps to the very writer it waits
// for), then returns false to let the poller park the goroutine.
func (b *busyPoller) tryRead(fd uintptr) bool {
	var start time.Time // of polling: not read unless the pipe is empty
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
		if start.IsZero() {
			start = time.Now()
		} else if time.Since(start) >= b.d {
			return false
		}
		unix.RawSyscall(unix.SYS_SCHED_YIELD, 0, 0, 0)
	}
}
