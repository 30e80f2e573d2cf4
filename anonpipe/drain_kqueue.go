//go:build darwin || dragonfly || freebsd || netbsd || openbsd

package anonpipe

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// On BSD kernels the bytes written to a pipe wait in the read end's buffer,
// so the write end's FIONREAD and fstat describe the wrong buffer (or none).
// These name what each kernel does show the write end.
const (
	drainUnsupported = iota
	drainPipeSize    // macOS pipe: fstat st_size
	drainPipeQueue   // NetBSD pipe: ioctl FIONWRITE
	drainPipeSpace   // DragonFly pipe: kqueue free space against st_blksize
	drainSocketSpace // kqueue free space against SO_SNDBUF
	drainSocketQueue // non-local socket: bytes unsent or unacknowledged
)

type drainPlan struct {
	how   int
	size  int64  // drainPipeSpace: the buffer's size
	why   string // drainUnsupported: what cannot be measured
	probe bool   // drainUnsupported: kqueue can still tell that no reader is left
}

func drain(ctx context.Context, f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var plan drainPlan
	var serr error
	if err := rc.Control(func(fd uintptr) { plan, serr = drainPlanFor(int(fd)) }); err != nil {
		return errClosed("drain", f)
	}
	if serr != nil {
		return &os.PathError{Op: "drain", Path: f.Name(), Err: serr}
	}
	kq := -1
	if plan.how != drainPipeQueue && (plan.how != drainUnsupported || plan.probe) {
		if kq, err = drainKqueue(); err != nil {
			return &os.PathError{Op: "drain", Path: f.Name(), Err: err}
		}
		defer unix.Close(kq)
	}
	if plan.how == drainUnsupported {
		// Unread bytes cannot be counted here, but a broken pipe is still a
		// broken pipe; any other failure of the check changes nothing.
		var eof bool
		if plan.probe {
			if err := rc.Control(func(fd uintptr) { _, eof, _, _ = drainKevent(kq, int(fd)) }); err != nil {
				return errClosed("drain", f)
			}
		}
		if eof {
			return &os.PathError{Op: "drain", Path: f.Name(), Err: unix.EPIPE}
		}
		return &os.PathError{Op: "drain", Path: f.Name(), Err: fmt.Errorf("%s: %w", plan.why, errors.ErrUnsupported)}
	}
	return pollDrain(ctx, f, func(fd int) (bool, error) { return drainProbe(fd, kq, plan) })
}

// drainPlanFor picks how to watch fd's unread bytes on this kernel.
func drainPlanFor(fd int) (drainPlan, error) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return drainPlan{}, os.NewSyscallError("fstat", err)
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFIFO:
		return pipePlan(&st), nil
	case unix.S_IFSOCK:
		typ, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TYPE)
		if err != nil {
			return drainPlan{}, os.NewSyscallError("getsockopt", err)
		}
		if typ != unix.SOCK_STREAM {
			return drainPlan{why: "not a stream socket", probe: true}, nil
		}
		sa, err := unix.Getsockname(fd)
		if err != nil {
			return drainPlan{}, os.NewSyscallError("getsockname", err)
		}
		_, local := sa.(*unix.SockaddrUnix)
		return socketPlan(local), nil
	}
	return drainPlan{why: "not a pipe or a socket"}, nil
}

// drainProbe reports whether the reader has consumed every byte written to
// fd, or EPIPE once no reader is left.
func drainProbe(fd, kq int, plan drainPlan) (bool, error) {
	// Each count is taken before asking whether the reader is gone, so a
	// count that dropped to zero because the reader left is never mistaken
	// for a drained pipe.
	switch plan.how {
	case drainPipeSize:
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil {
			return false, os.NewSyscallError("fstat", err)
		}
		if _, eof, _, err := drainKevent(kq, fd); err != nil || eof {
			return false, drainEOF(eof, err)
		}
		return st.Size == 0, nil
	case drainPipeQueue:
		n, err := queuedBytes(fd)
		if err != nil {
			return false, err
		}
		// NetBSD's pipe_poll flags a write end whose reader is gone with
		// POLLHUP (POLLERR since the 2023 rewrite).
		pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLOUT}}
		for {
			_, err = unix.Poll(pfd, 0)
			if err != unix.EINTR {
				break
			}
		}
		if err != nil {
			return false, os.NewSyscallError("poll", err)
		}
		if pfd[0].Revents&(unix.POLLHUP|unix.POLLERR) != 0 {
			return false, unix.EPIPE
		}
		return n == 0, nil
	case drainPipeSpace:
		ready, eof, free, err := drainKevent(kq, fd)
		if err != nil || eof {
			return false, drainEOF(eof, err)
		}
		return ready && free >= plan.size, nil
	case drainSocketSpace:
		// Reading SO_SNDBUF on both sides of the event keeps a buffer
		// resized meanwhile (TCP autosizing, setsockopt) from passing.
		before, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF)
		if err != nil {
			return false, os.NewSyscallError("getsockopt", err)
		}
		ready, eof, free, err := drainKevent(kq, fd)
		if err != nil || eof {
			return false, drainEOF(eof, err)
		}
		after, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF)
		if err != nil {
			return false, os.NewSyscallError("getsockopt", err)
		}
		return ready && before == after && free >= int64(after), nil
	case drainSocketQueue:
		// For TCP this counts bytes the peer has not acknowledged, which is
		// as close to "read" as the sender can see (Linux's SIOCOUTQ too).
		n, err := queuedBytes(fd)
		if err != nil {
			return false, err
		}
		if _, eof, _, err := drainKevent(kq, fd); err != nil || eof {
			return false, drainEOF(eof, err)
		}
		return n == 0, nil
	}
	return false, errors.ErrUnsupported
}

func drainEOF(eof bool, err error) error {
	if eof {
		return unix.EPIPE
	}
	return err
}

// drainKevent asks kqueue kq about writing to fd without blocking. ready says
// whether EVFILT_WRITE fired, and free is then the free space it reported;
// eof says no reader is left.
func drainKevent(kq, fd int) (ready, eof bool, free int64, err error) {
	var change, event [1]unix.Kevent_t
	unix.SetKevent(&change[0], fd, unix.EVFILT_WRITE, unix.EV_ADD)
	var zero unix.Timespec
	var n int
	for {
		// EV_ADD on a registered event runs its filter again, so each call
		// sees current counts.
		n, err = unix.Kevent(kq, change[:], event[:], &zero)
		if err != unix.EINTR {
			break
		}
	}
	switch {
	case err == unix.EPIPE:
		return true, true, 0, nil
	case err != nil:
		return false, false, 0, os.NewSyscallError("kevent", err)
	case n == 0:
		return false, false, 0, nil
	case event[0].Flags&unix.EV_ERROR != 0:
		// FreeBSD, DragonFly and older OpenBSD refuse EVFILT_WRITE on a
		// pipe whose read end is closed (pipe_kqfilter returns EPIPE).
		switch errno := syscall.Errno(event[0].Data); errno {
		case unix.EPIPE:
			return true, true, 0, nil
		case 0:
			return false, false, 0, nil
		default:
			return false, false, 0, os.NewSyscallError("kevent", errno)
		}
	}
	return true, event[0].Flags&unix.EV_EOF != 0, int64(event[0].Data), nil
}

func drainKqueue() (int, error) {
	// Under ForkLock with close-on-exec, like the runtime's own descriptors,
	// so a process started meanwhile does not inherit it.
	syscall.ForkLock.RLock()
	kq, err := unix.Kqueue()
	if err == nil {
		unix.CloseOnExec(kq)
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		return -1, os.NewSyscallError("kqueue", err)
	}
	return kq, nil
}
