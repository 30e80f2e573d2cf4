package anonpipe

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// streamSize is what a pipe grows to (see growth), 8 times the default:
// it takes a user 128 pipes of this size to reach the default
// pipe-user-pages-soft (64 MiB), and measured about as fast as 1 MiB, the
// most an unprivileged process may ask for (BENCHMARKS.md).
const streamSize = 512 << 10

// newGrowth returns the growth of end f of a pipe anonpipe made, or nil if
// WithBufferSize sized it.
func newGrowth(f *os.File, c config) *growth {
	if c.bufferSize > 0 {
		return nil
	}
	return &growth{grow: func() { growPipe(f) }}
}

// growPipe enlarges f's pipe to streamSize unless it is that large already,
// as the other end may have made it. A refusal leaves the pipe as it was:
// past pipe-user-pages-soft, or pipe-max-size if lower, only a privileged
// process may grow a pipe, and streaming works at any size.
func growPipe(f *os.File) {
	rc, err := f.SyscallConn()
	if err != nil {
		return
	}
	rc.Control(func(fd uintptr) {
		if n, err := unix.FcntlInt(fd, unix.F_GETPIPE_SZ, 0); err == nil && n < streamSize {
			unix.FcntlInt(fd, unix.F_SETPIPE_SZ, streamSize)
		}
	})
}

func setBufferSize(f *os.File, n int) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		_, serr = unix.FcntlInt(fd, unix.F_SETPIPE_SZ, n)
	}); err != nil {
		return err
	}
	if serr != nil {
		return os.NewSyscallError("fcntl(F_SETPIPE_SZ)", serr)
	}
	return nil
}

// rawConnError reports an os.File RawConn's failure as the File's own
// methods would: a deadline, or else a closed file.
func rawConnError(op, name string, err error) error {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return &os.PathError{Op: op, Path: name, Err: os.ErrDeadlineExceeded}
	}
	return &os.PathError{Op: op, Path: name, Err: os.ErrClosed}
}
