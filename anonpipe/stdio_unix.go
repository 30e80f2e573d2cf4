//go:build unix

package anonpipe

import (
	"os"

	"golang.org/x/sys/unix"
)

// onStdio reports whether f is descriptor 1 or 2, where os.File raises
// SIGPIPE on a broken pipe.
func onStdio(f *os.File) bool {
	rc, err := f.SyscallConn()
	if err != nil {
		return false
	}
	stdio := false
	rc.Control(func(fd uintptr) { stdio = fd == 1 || fd == 2 })
	return stdio
}

// writeStdio writes to a Writer opened on descriptor 1 or 2. os.File.Write
// would raise SIGPIPE on EPIPE there, as it does for os.Stdout, so the write
// goes through the raw descriptor instead; the poller still provides
// blocking, deadlines and Close.
func writeStdio(f *os.File, p []byte) (int, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return 0, err
	}
	n := 0
	var werr error
	err = rc.Write(func(fd uintptr) bool {
		for n < len(p) {
			m, e := unix.Write(int(fd), p[n:])
			switch {
			case e == unix.EINTR:
				continue
			case e == unix.EAGAIN:
				return false
			case e != nil:
				werr = e
				return true
			}
			n += m
		}
		return true
	})
	switch {
	case werr != nil:
		return n, &os.PathError{Op: "write", Path: f.Name(), Err: werr}
	case err != nil:
		return n, rawConnError("write", f.Name(), err)
	}
	return n, nil
}
