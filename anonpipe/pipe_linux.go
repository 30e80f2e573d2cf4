package anonpipe

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

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
