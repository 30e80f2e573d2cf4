//go:build unix

package anonpipe

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// open turns the descriptor named by handle into an end without changing
// the descriptor's open file description, which other processes (a shell, a
// sibling in a pipeline) and this process's os.Stdin, os.Stdout and
// os.Stderr may share: O_NONBLOCK belongs to the description, and setting
// it under a holder that expects blocking I/O makes that holder fail with
// EAGAIN. Where the system lets it (reopen), the end gets a description of
// its own, non-blocking and on the poller; otherwise it adopts the
// descriptor in whatever mode it is. Every check is made before anything is
// changed, so a refused handle is left exactly as it was.
func open(handle string, write bool) (f *os.File, release func(), err error) {
	fd, err := checkHandle(handle, write)
	if err != nil {
		return nil, nil, err
	}
	name := "anonpipe:" + handle
	f = reopen(fd, write)
	reopened := f != nil
	if !reopened {
		if f, err = adopt(fd, name); err != nil {
			return nil, nil, invalidHandle(handle, err)
		}
	}
	if fd <= 2 {
		// os.Stdin, os.Stdout, os.Stderr and the runtime's own panic output
		// keep using fd, so it stays open while the end is; closing the
		// end points it at /dev/null, releasing the pipe while keeping the
		// number from being reused by an unrelated file.
		return f, func() { releaseStdio(fd) }, nil
	}
	if reopened {
		unix.Close(fd) // the end owns the handle, and now has its own description
	}
	return f, nil, nil
}

// handleBits is the size of a handle: a descriptor is a non-negative int32.
const handleBits = 31

// checkHandle makes every check of handle and returns its descriptor,
// changing nothing: OpenConn checks both of its handles before it opens,
// and on Linux so closes, either.
func checkHandle(handle string, write bool) (int, error) {
	v, err := parseHandle(handle, handleBits)
	if err != nil {
		return 0, err
	}
	if err := checkEnd(int(v), write); err != nil {
		return 0, invalidHandle(handle, err)
	}
	return int(v), nil
}

// adopt makes an *os.File of fd in the mode it is in: a non-blocking
// descriptor joins the poller, a blocking one is used with blocking calls
// and has no deadlines. A standard descriptor is duplicated first, since
// os.Stdin, os.Stdout or os.Stderr already hold its number (and may have
// registered it with the poller).
func adopt(fd int, name string) (*os.File, error) {
	if fd <= 2 {
		d, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 3)
		if err != nil {
			return nil, os.NewSyscallError("fcntl(F_DUPFD_CLOEXEC)", err)
		}
		fd = d
	} else if _, err := unix.FcntlInt(uintptr(fd), unix.F_SETFD, unix.FD_CLOEXEC); err != nil {
		return nil, os.NewSyscallError("fcntl(F_SETFD)", err)
	}
	return os.NewFile(uintptr(fd), name), nil
}

func releaseStdio(fd int) {
	null, err := unix.Open(os.DevNull, unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		unix.Close(fd)
		return
	}
	unix.Dup2(null, fd)
	unix.Close(null)
}

func checkEnd(fd int, write bool) error {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		if errors.Is(err, unix.EBADF) {
			return errors.New("not an open descriptor")
		}
		return os.NewSyscallError("fstat", err)
	}
	fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
	if err != nil {
		return os.NewSyscallError("fcntl(F_GETFL)", err)
	}
	if oPath != 0 && fl&oPath != 0 {
		return errors.New("an O_PATH descriptor, which can neither read nor write")
	}
	switch uint32(st.Mode) & unix.S_IFMT {
	case unix.S_IFIFO:
	case unix.S_IFSOCK:
		typ, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TYPE)
		if err != nil {
			return os.NewSyscallError("getsockopt(SO_TYPE)", err)
		}
		if typ != unix.SOCK_STREAM {
			return errors.New("a socket that is not a stream socket")
		}
		if on, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ACCEPTCONN); err == nil && on != 0 {
			return errors.New("a listening socket, not a connected stream")
		}
		if _, err := unix.Getpeername(fd); errors.Is(err, unix.ENOTCONN) {
			return errors.New("a socket that is not connected")
		}
		return nil
	default:
		return errors.New("not a pipe: " + fileKind(uint32(st.Mode)))
	}
	switch acc := fl & unix.O_ACCMODE; {
	case write && acc == unix.O_RDONLY:
		return errors.New("the read end of a pipe, not a write end")
	case !write && acc == unix.O_WRONLY:
		return errors.New("the write end of a pipe, not a read end")
	}
	return nil
}

func fileKind(mode uint32) string {
	switch mode & unix.S_IFMT {
	case unix.S_IFREG:
		return "a regular file"
	case unix.S_IFDIR:
		return "a directory"
	case unix.S_IFCHR:
		return "a character device"
	case unix.S_IFBLK:
		return "a block device"
	case unix.S_IFLNK:
		return "a symbolic link"
	}
	return "an unknown file type"
}
