//go:build unix

package anonpipe_test

import (
	"errors"
	"io"
	"strconv"
	"strings"
	"testing"

	"github.com/anonpipe/anonpipe/anonpipe"
	"github.com/matryer/is"
	"golang.org/x/sys/unix"
)

// fdState is what a refused handle must keep: that it is open, on the same
// pipe, with the same status flags.
func fdState(fd int) string {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return "fstat: " + err.Error()
	}
	fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
	if err != nil {
		return "fcntl: " + err.Error()
	}
	return "inode " + strconv.FormatUint(uint64(st.Ino), 10) + " flags " + strconv.Itoa(fl)
}

func TestOpenConnLeavesHandlesAsTheyWere(t *testing.T) {
	pr, pw := rawPipe(t)
	qr, qw := rawPipe(t)
	t.Cleanup(func() {
		for _, fd := range []int{pr, pw, qr, qw} {
			unix.Close(fd)
		}
	})
	closed := openFD(t, "/dev/null", unix.O_RDONLY)
	unix.Close(closed) // the last descriptor made, so nothing else reuses its number
	h := func(a, b int) string { return strconv.Itoa(a) + "," + strconv.Itoa(b) }
	for _, tc := range []struct {
		name, handle, reason string
	}{
		{"write handle is a read end", h(pr, qr), "the write handle " + strconv.Quote(strconv.Itoa(qr)) + ": the read end of a pipe"},
		{"write handle is closed", h(pr, closed), "not an open descriptor"},
		{"read handle is a write end", h(pw, qw), "the read handle " + strconv.Quote(strconv.Itoa(pw)) + ": the write end of a pipe"},
		{"same handle twice", h(pr, pr), "the read and write handles are the same"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			is := is.New(t)
			before := map[int]string{}
			for _, fd := range []int{pr, pw, qr, qw} {
				before[fd] = fdState(fd)
			}
			_, err := anonpipe.OpenConn(tc.handle)
			is.True(errors.Is(err, anonpipe.ErrInvalidHandle))               // the handle string is refused
			is.True(strings.Contains(err.Error(), strconv.Quote(tc.handle))) // the error names it
			is.True(strings.Contains(err.Error(), tc.reason))                // and the reason
			for fd, was := range before {
				is.Equal(fdState(fd), was) // every descriptor is as it was: open, same pipe, same mode
			}
		})
	}
	t.Run("same socket twice", func(t *testing.T) {
		is := is.New(t)
		fds, err := socketpair(unix.SOCK_STREAM)
		is.NoErr(err) // a stream socket, which would pass for either direction
		defer unix.Close(fds[0])
		defer unix.Close(fds[1])
		_, err = anonpipe.OpenConn(h(fds[0], fds[0]))
		is.True(errors.Is(err, anonpipe.ErrInvalidHandle))                                // one descriptor cannot be both halves
		is.True(strings.Contains(err.Error(), "the read and write handles are the same")) // and the error says so
		_, ferr := unix.FcntlInt(uintptr(fds[0]), unix.F_GETFD, 0)
		is.NoErr(ferr) // the socket is left open
	})
}

func TestOpenConnOnInheritedDescriptors(t *testing.T) {
	// The descriptors a child inherits: blocking, one pipe each way.
	is := is.New(t)
	down, toChild := rawPipe(t)
	fromChild, up := rawPipe(t)
	defer unix.Close(toChild)
	defer unix.Close(fromChild)
	handle := strconv.Itoa(down) + "," + strconv.Itoa(up)
	c, err := anonpipe.OpenConn(handle)
	is.NoErr(err) // a read end and a write end make a Conn
	defer c.Close()
	is.Equal(c.RemoteAddr().String(), handle) // named by its handle string
	_, err = unix.Write(toChild, []byte("ping"))
	is.NoErr(err) // the parent writes
	buf := make([]byte, 4)
	_, err = io.ReadFull(c, buf)
	is.NoErr(err)                 // the Conn reads
	is.Equal(string(buf), "ping") // what the parent wrote
	_, err = c.Write([]byte("pong"))
	is.NoErr(err) // the Conn writes
	_, err = unix.Read(fromChild, buf)
	is.NoErr(err)                 // the parent reads
	is.Equal(string(buf), "pong") // what the Conn wrote
	is.NoErr(c.Close())           // Close releases both handles
	n, err := unix.Read(fromChild, buf)
	is.NoErr(err)  // the parent reads
	is.Equal(n, 0) // EOF
}
