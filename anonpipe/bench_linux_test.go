package anonpipe_test

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// The helpers here feed and drain the pipes of BenchmarkCopy with splice, so
// that they cost next to nothing and the benchmark times the copy under
// test. They are the same for anonpipe's ends and plain *os.File ends.

func setPipeSize(f *os.File, n int) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) { _, serr = unix.FcntlInt(fd, unix.F_SETPIPE_SZ, n) }); err != nil {
		return err
	}
	return serr
}

// feedPipe splices size bytes of src, from offset 0, into the pipe w, then
// closes w.
func feedPipe(w, src *os.File, size int64) <-chan error {
	done := make(chan error, 1)
	go func() {
		defer w.Close()
		wrc, err := w.SyscallConn()
		if err != nil {
			done <- err
			return
		}
		src, err := src.SyscallConn()
		if err != nil {
			done <- err
			return
		}
		var off int64
		var serr error
		err = wrc.Write(func(wfd uintptr) bool {
			for off < size && serr == nil {
				var n int64
				var e error
				if err := src.Control(func(sfd uintptr) {
					k, ke := unix.Splice(int(sfd), &off, int(wfd), nil, int(size-off), unix.SPLICE_F_MOVE|unix.SPLICE_F_NONBLOCK)
					n, e = int64(k), ke // k is an int on 32-bit systems
				}); err != nil {
					serr = err
				}
				switch {
				case e == unix.EAGAIN:
					return false
				case e == unix.EINTR:
				case e != nil:
					serr = e
				case n == 0:
					serr = fmt.Errorf("feedPipe: EOF at %d of %d", off, size)
				}
			}
			return true
		})
		if serr != nil {
			err = serr
		}
		done <- err
	}()
	return done
}

// drainPipe splices everything from the pipe r to /dev/null until EOF, then
// closes r.
func drainPipe(r *os.File) <-chan error {
	done := make(chan error, 1)
	go func() {
		defer r.Close()
		null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
		if err != nil {
			done <- err
			return
		}
		defer null.Close()
		rc, err := r.SyscallConn()
		if err != nil {
			done <- err
			return
		}
		nfd := int(null.Fd())
		var serr error
		err = rc.Read(func(rfd uintptr) bool {
			for {
				n, e := unix.Splice(int(rfd), nil, nfd, nil, 1<<30, unix.SPLICE_F_MOVE|unix.SPLICE_F_NONBLOCK)
				switch {
				case e == unix.EAGAIN:
					return false
				case e == unix.EINTR:
				case e != nil:
					serr = e
					return true
				case n == 0:
					return true
				}
			}
		})
		if serr != nil {
			err = serr
		}
		done <- err
	}()
	return done
}

// contextSwitches returns the voluntary and involuntary context switches of
// all of this process's threads so far.
func contextSwitches() (vol, invol uint64, ok bool) {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		return 0, 0, false
	}
	return uint64(ru.Nvcsw), uint64(ru.Nivcsw), true
}
