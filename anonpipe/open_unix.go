//go:build unix

package anonpipe

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

func open(handle string, write bool) (*os.File, error) {
	v, err := parseHandle(handle, 31)
	if err != nil {
		return nil, err
	}
	fd := int(v)
	if err := checkEnd(fd, write); err != nil {
		return nil, invalidHandle(handle, err)
	}
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_SETFD, unix.FD_CLOEXEC); err != nil {
		return nil, invalidHandle(handle, os.NewSyscallError("fcntl(F_SETFD)", err))
	}
	// os.StartProcess hands descriptors to a child in blocking mode. Making
	// it non-blocking lets os.NewFile register it with the poller, which is
	// what gives deadlines and Close-unblocks-Read.
	if err := unix.SetNonblock(fd, true); err != nil {
		return nil, invalidHandle(handle, os.NewSyscallError("fcntl(F_SETFL)", err))
	}
	return os.NewFile(uintptr(fd), "anonpipe:"+handle), nil
}

func checkEnd(fd int, write bool) error {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		if errors.Is(err, unix.EBADF) {
			return errors.New("not an open descriptor")
		}
		return os.NewSyscallError("fstat", err)
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
	fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
	if err != nil {
		return os.NewSyscallError("fcntl(F_GETFL)", err)
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
