//go:build unix

package anonpipe_test

import (
	"errors"
	"io"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/anonpipe/anonpipe/anonpipe"
	"github.com/matryer/is"
	"golang.org/x/sys/unix"
)

// rawPipe returns a pipe's descriptors as a parent hands them to a child:
// blocking and inheritable.
func rawPipe(t *testing.T) (r, w int) {
	t.Helper()
	var p [2]int
	if err := unix.Pipe(p[:]); err != nil {
		t.Fatal(err)
	}
	return p[0], p[1]
}

func openFD(t *testing.T, path string, flags int) int {
	t.Helper()
	fd, err := unix.Open(path, flags|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	return fd
}

func TestOpenRefusesWrongDescriptors(t *testing.T) {
	file := openFD(t, os.Args[0], unix.O_RDONLY)
	dir := openFD(t, t.TempDir(), unix.O_RDONLY)
	null := openFD(t, os.DevNull, unix.O_RDWR)
	pr, pw := rawPipe(t)
	t.Cleanup(func() { unix.Close(pr); unix.Close(pw) })
	dgram, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(dgram) })
	tty, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err == nil {
		t.Cleanup(func() { unix.Close(tty) })
	} else {
		tty = -1
	}
	closed := openFD(t, os.DevNull, unix.O_RDONLY)
	unix.Close(closed) // the last descriptor made, so no other case reuses its number

	type tc struct {
		name   string
		fd     int
		write  bool
		reason string
	}
	cases := []tc{
		{"regular file", file, false, "not a pipe: a regular file"},
		{"directory", dir, false, "not a pipe: a directory"},
		{"/dev/null", null, true, "not a pipe: a character device"},
		{"closed descriptor", closed, false, "not an open descriptor"},
		{"write end for reading", pw, false, "the write end of a pipe, not a read end"},
		{"read end for writing", pr, true, "the read end of a pipe, not a write end"},
		{"datagram socket", dgram, true, "not a stream socket"},
	}
	if tty >= 0 {
		cases = append(cases, tc{"terminal", tty, false, "not a pipe: a character device"})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			is := is.New(t)
			h := strconv.Itoa(c.fd)
			var err error
			if c.write {
				_, err = anonpipe.OpenWriter(h)
			} else {
				_, err = anonpipe.OpenReader(h)
			}
			is.True(errors.Is(err, anonpipe.ErrInvalidHandle))       // a wrong descriptor is ErrInvalidHandle
			is.True(strings.Contains(err.Error(), strconv.Quote(h))) // the error names the handle
			is.True(strings.Contains(err.Error(), c.reason))         // the error gives the reason
			if c.fd != closed {
				_, ferr := unix.FcntlInt(uintptr(c.fd), unix.F_GETFD, 0)
				is.NoErr(ferr) // a refused descriptor is left open
			}
		})
	}
}

func TestOpenAcceptsStreamSockets(t *testing.T) {
	is := is.New(t)
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	is.NoErr(err) // making a socketpair, as Node.js passes for an extra 'pipe'
	r, err := anonpipe.OpenReader(strconv.Itoa(fds[0]))
	is.NoErr(err) // a stream socket is accepted for reading
	defer r.Close()
	w, err := anonpipe.OpenWriter(strconv.Itoa(fds[1]))
	is.NoErr(err) // and for writing
	_, err = io.WriteString(w, "node")
	is.NoErr(err)       // writing into the socket
	is.NoErr(w.Close()) // closing is EOF for the peer
	b, err := io.ReadAll(r)
	is.NoErr(err)               // reading to EOF
	is.Equal(string(b), "node") // the bytes arrive
}

func TestStdioHandlesFollowTheSameRule(t *testing.T) {
	is := is.New(t)
	// Descriptor 0 of a test binary is whatever go test was given; a
	// re-executed child gets a pipe or /dev/null. Either way OpenReader may
	// take it only if it is a pipe open for reading.
	out, err := child(t, "open", "0", "r").Output()
	is.NoErr(err)                                                            // the child reports
	is.True(strings.Contains(string(out), "not a pipe: a character device")) // /dev/null on stdin is refused

	c := child(t, "open", "0", "r")
	c.Stdin = strings.NewReader("data") // exec gives the child a pipe
	out, err = c.Output()
	is.NoErr(err)                 // the child reports
	is.Equal(string(out), "ok\n") // a pipe on stdin is accepted
	_, err = anonpipe.OpenWriter("0")
	is.True(errors.Is(err, anonpipe.ErrInvalidHandle)) // but never for the wrong direction
}
