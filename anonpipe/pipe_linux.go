package anonpipe

import (
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
