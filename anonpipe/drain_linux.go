package anonpipe

import (
	"context"
	"os"

	"golang.org/x/sys/unix"
)

func drain(ctx context.Context, f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var st unix.Stat_t
	var serr error
	if err := rc.Control(func(fd uintptr) { serr = unix.Fstat(int(fd), &st) }); err != nil {
		return errClosed("drain", f)
	}
	if serr != nil {
		return &os.PathError{Op: "drain", Path: f.Name(), Err: serr}
	}
	// A socket's FIONREAD counts what it can read; what its peer has not
	// read yet is its output queue.
	req := uint(unix.TIOCINQ) // FIONREAD
	if st.Mode&unix.S_IFMT == unix.S_IFSOCK {
		req = unix.SIOCOUTQ
	}
	return pollDrain(ctx, f, func(fd int) (bool, error) {
		unread, err := pending(fd, req)
		return unread == 0, err
	})
}

// pending reports how many bytes written to fd have not been read yet, asking
// with ioctl request req, or EPIPE once no reader is left.
func pending(fd int, req uint) (int, error) {
	// poll reports POLLERR on a pipe's write end whose readers are all gone
	// (POLLHUP on a socket whose peer is gone), which the byte count cannot
	// tell apart from a reader that read everything.
	pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLOUT}}
	for {
		_, err := unix.Poll(pfd, 0)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return 0, os.NewSyscallError("poll", err)
		}
		break
	}
	if pfd[0].Revents&(unix.POLLERR|unix.POLLHUP) != 0 {
		return 0, unix.EPIPE
	}
	n, err := unix.IoctlGetInt(fd, req)
	if err != nil {
		return 0, os.NewSyscallError("ioctl", err)
	}
	return n, nil
}
