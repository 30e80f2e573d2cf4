//go:build darwin || dragonfly || freebsd || netbsd || openbsd

package anonpipe

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"syscall"
	"time"

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
	var timer *time.Timer
	for wait := 50 * time.Microsecond; ; wait = min(2*wait, 5*time.Millisecond) {
		var empty bool
		if err := rc.Control(func(fd uintptr) { empty, serr = drainProbe(int(fd), kq, plan) }); err != nil {
			return errClosed("drain", f)
		}
		if serr != nil {
			return &os.PathError{Op: "drain", Path: f.Name(), Err: serr}
		}
		if empty {
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

// drainPlanFor picks how to watch fd's unread bytes on this kernel.
func drainPlanFor(fd int) (drainPlan, error) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return drainPlan{}, os.NewSyscallError("fstat", err)
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFIFO:
		// pipe(2) pipes leave st_dev zero on macOS (pipe_stat), NetBSD and
		// DragonFly; a named pipe reports its file system's device, and its
		// buffer lives elsewhere (in fifofs sockets on all three).
		anonymous := st.Dev == 0
		switch {
		case runtime.GOOS == "darwin" && anonymous:
			// xnu's pipe_stat, given the write end (which owns no buffer),
			// reports the read end's byte count as st_size.
			return drainPlan{how: drainPipeSize}, nil
		case runtime.GOOS == "netbsd" && anonymous:
			// NetBSD's pipe_ioctl answers FIONWRITE with the read end's
			// byte count.
			return drainPlan{how: drainPipeQueue}, nil
		case runtime.GOOS == "dragonfly" && anonymous:
			// DragonFly's pipe_create sizes both directions' buffers from
			// kern.pipe.size and pipe_write never resizes them, so this
			// end's own buffer (pipe_stat's st_blksize) is as large as the
			// one filt_pipewrite reports free space in.
			return drainPlan{how: drainPipeSpace, size: int64(st.Blksize)}, nil
		case runtime.GOOS == "freebsd" || runtime.GOOS == "openbsd":
			// filt_pipewrite reports free space, but the buffer it is
			// free in grows with large writes (and shrinks under memory
			// pressure on FreeBSD), and nothing tells the write end its
			// size: an empty 16 KiB buffer looks like a 64 KiB one
			// holding 48 KiB.
			return drainPlan{why: "a " + runtime.GOOS + " pipe's write end cannot see how much of the buffer is unread", probe: true}, nil
		}
		return drainPlan{why: "cannot see how much of a named pipe is unread", probe: true}, nil
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
		switch {
		case runtime.GOOS == "openbsd":
			// OpenBSD's uipc_send and uipc_rcvd copy the peer's receive
			// count into the sender's so_snd.sb_cc, as TCP keeps its own
			// unacknowledged bytes there, so free space reaches SO_SNDBUF
			// only when nothing is left.
			return drainPlan{how: drainSocketSpace}, nil
		case runtime.GOOS == "darwin" && local:
			// xnu's uipc_send lowers the sender's sb_hiwat by what it
			// queues at the peer, which sogetoptlock adds back (unp_cc)
			// when asked for SO_SNDBUF.
			return drainPlan{how: drainSocketSpace}, nil
		case !local && (runtime.GOOS == "darwin" || runtime.GOOS == "freebsd" || runtime.GOOS == "netbsd"):
			return drainPlan{how: drainSocketQueue}, nil
		case local:
			// The sender's buffer stays empty (FIONWRITE is always 0):
			// uipc_send queues at the peer, and FreeBSD (SB_STOP),
			// NetBSD (sb_hiwat) and DragonFly (SSB_STOP) give the sender
			// no count of it.
			return drainPlan{why: "a " + runtime.GOOS + " Unix-domain socket does not tell its sender what the peer has not read", probe: true}, nil
		}
		return drainPlan{why: "counting a " + runtime.GOOS + " socket's unsent bytes is not implemented", probe: true}, nil
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
		n, err := unix.IoctlGetInt(fd, drainFIONWRITE())
		if err != nil {
			return false, os.NewSyscallError("ioctl", err)
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
		var n int
		var err error
		if runtime.GOOS == "darwin" {
			n, err = unix.GetsockoptInt(fd, unix.SOL_SOCKET, drainSO_NWRITE)
			err = os.NewSyscallError("getsockopt", err)
		} else {
			n, err = unix.IoctlGetInt(fd, drainFIONWRITE())
			err = os.NewSyscallError("ioctl", err)
		}
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

// drainSO_NWRITE is SO_NWRITE from macOS's <sys/socket.h>.
const drainSO_NWRITE = 0x1024

// drainFIONWRITE returns FIONWRITE: _IOR('f', 119, int) on FreeBSD and
// _IOR('f', 121, int) on NetBSD, the two systems that use it here.
func drainFIONWRITE() uint {
	if runtime.GOOS == "netbsd" {
		return 0x40046679
	}
	return 0x40046677
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
