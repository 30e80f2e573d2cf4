//go:build unix

package anonpipe

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

func newPipe(c config) (*Reader, *Writer, error) {
	// os.Pipe makes both ends close-on-exec (atomically where pipe2 exists,
	// under syscall.ForkLock elsewhere) and registers them with the poller.
	var r, w *os.File
	var err error
	var low []*os.File
	for {
		r, w, err = os.Pipe()
		if err != nil || !onStdio(r) && !onStdio(w) {
			break
		}
		low = append(low, r, w)
	}
	closeFiles(low)
	if err != nil {
		return nil, nil, fmt.Errorf("anonpipe: %w", err)
	}
	if c.bufferSize > 0 {
		if err := setBufferSize(w, c.bufferSize); err != nil {
			r.Close()
			w.Close()
			return nil, nil, fmt.Errorf("anonpipe: WithBufferSize(%d): %w", c.bufferSize, err)
		}
	}
	return &Reader{f: r, grow: newGrowth(r, c)}, &Writer{f: w, grow: newGrowth(w, c)}, nil
}

// onStdio reports whether f is descriptor 0, 1 or 2, where no end is left.
// An end lands there only in a process that closed its standard
// descriptors, as daemons do; then code meaning standard output would write
// into the pipe, and os.File raises SIGPIPE on a broken pipe at 1 and 2,
// as for os.Stdout. Whoever finds one keeps it open and makes the end
// again, which then gets a higher number, and closes it after.
func onStdio(f *os.File) bool {
	rc, err := f.SyscallConn()
	if err != nil {
		return false
	}
	low := false
	rc.Control(func(fd uintptr) { low = fd <= 2 })
	return low
}

func closeFiles(fs []*os.File) {
	for _, f := range fs {
		f.Close()
	}
}

// newEndIO returns nil: a Unix end's *os.File does all it needs.
func newEndIO(*os.File, bool) endIO { return nil }

func isBrokenPipe(err error) bool {
	return errors.Is(err, syscall.EPIPE)
}

// errNoDeadline explains os.ErrNoDeadline from an end in blocking mode: one
// that OpenReader or OpenWriter adopted as it came, or whose File was
// handed to another process.
var errNoDeadline = errors.New("anonpipe: the end is in blocking mode, which anonpipe does not change since other holders of its descriptor may rely on it")

func wrapDeadlineError(err error) error {
	if errors.Is(err, os.ErrNoDeadline) {
		return fmt.Errorf("%w: %w", errNoDeadline, err)
	}
	return err
}
