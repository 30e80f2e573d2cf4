package anonpipe

import (
	"context"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// drain polls, backing off from 50µs to 5ms, the count of bytes written to
// f and not yet read: FIONREAD on a pipe; on a stream socket SIOCOUTQ, which
// counts the bytes the peer's kernel has not acknowledged (for a Unix
// socket, those the peer has not read).
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
	req := uint(unix.TIOCINQ) // FIONREAD
	if st.Mode&unix.S_IFMT == unix.S_IFSOCK {
		req = unix.SIOCOUTQ // a socket's FIONREAD counts what it can read
	}
	var timer *time.Timer
	for wait := 50 * time.Microsecond; ; wait = min(2*wait, 5*time.Millisecond) {
		var unread int
		if err := rc.Control(func(fd uintptr) { unread, serr = pending(int(fd), req) }); err != nil {
			return errClosed("drain", f)
		}
		if serr != nil {
			return &os.PathError{Op: "drain", Path: f.Name(), Err: serr}
		}
		if unread == 0 {
			return nil
		}
		if timer == nil {
			timer = time.NewTimer(wait)
			defer timer.Stop()
		} else {
			timer.Reset(wait)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-timer.C:
		}
	}
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
