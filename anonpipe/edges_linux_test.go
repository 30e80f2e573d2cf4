package anonpipe_test

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/anonpipe/anonpipe/anonpipe"
	"github.com/matryer/is"
	"golang.org/x/sys/unix"
)

// These tests need Linux, where an end opened from a handle gets an open
// file description of its own, and so deadlines, without touching the one
// it shares with others.

// stdioPipe returns a pipe for a child's standard descriptor, the way a
// shell or another program may hand it over: blocking (as os/exec hands an
// os.Pipe end), or left non-blocking by an earlier holder. Both ends are
// *os.File values whose Fd keeps that mode.
func stdioPipe(t *testing.T, nonblocking bool) (r, w *os.File) {
	t.Helper()
	flags := unix.O_CLOEXEC
	if nonblocking {
		flags |= unix.O_NONBLOCK
	}
	var p [2]int
	if err := unix.Pipe2(p[:], flags); err != nil {
		t.Fatal(err)
	}
	r, w = os.NewFile(uintptr(p[0]), "|0"), os.NewFile(uintptr(p[1]), "|1")
	t.Cleanup(func() { r.Close(); w.Close() })
	return r, w
}

func nonblocking(t *testing.T, f *os.File) bool {
	t.Helper()
	rc, err := f.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var fl int
	rc.Control(func(fd uintptr) { fl, err = unix.FcntlInt(fd, unix.F_GETFL, 0) })
	if err != nil {
		t.Fatal(err)
	}
	return fl&unix.O_NONBLOCK != 0
}

func TestStdioWriterMeetsAFullPipe(t *testing.T) {
	for _, tc := range []struct {
		fd          string
		nonblocking bool // at the child's start
		mode        string
	}{
		{"1", true, "writer"},
		{"1", false, "writer"},
		{"2", true, "writer"},
		{"1", false, "stdout"},
		{"1", true, "stdout"},
		{"2", false, "log"},
		{"2", false, "panic"},
	} {
		name := "fd" + tc.fd + "/" + tc.mode
		if tc.nonblocking {
			name += "/nonblocking"
		}
		t.Run(name, func(t *testing.T) {
			is := is.New(t)
			c := child(t, "stdio-write", tc.fd)
			sig, h, err := c.FromChild()
			is.NoErr(err) // attaching the signal pipe
			c.Args = append(c.Args, h, tc.mode)
			out, outW := stdioPipe(t, tc.nonblocking)
			if tc.fd == "1" {
				c.Stdout = outW
			} else {
				c.Stderr = outW
			}
			is.NoErr(c.Start()) // starting the child
			line, err := bufio.NewReader(sig).ReadString('\n')
			is.NoErr(err) // the child filled the pipe, with a deadline
			filled, err := strconv.Atoi(strings.TrimSpace(line))
			is.NoErr(err)                                  // and said how much it took
			is.True(filled > 0)                            // some bytes fit
			is.Equal(nonblocking(t, outW), tc.nonblocking) // the description this process shares with the child kept its mode
			is.NoErr(outW.Close())                         // so the pipe ends with the child
			got, err := io.ReadAll(out)
			is.NoErr(err) // reading everything
			werr := c.Wait()
			want := filled + edgeSize
			switch tc.mode {
			case "log":
				want++ // log's newline
			case "panic":
				var ee *exec.ExitError
				is.True(errors.As(werr, &ee)) // the child panicked
				is.Equal(ee.ExitCode(), 2)    // with the runtime's exit code
				i := bytes.LastIndexByte(got[:filled+edgeSize+1], 'x')
				is.Equal(i, filled+edgeSize-1)                                           // every byte log wrote arrived
				is.True(bytes.Contains(got, []byte("panic: the panic message arrives"))) // and so did the panic message
				return
			}
			is.NoErr(werr)           // the child wrote everything without error
			is.Equal(len(got), want) // and every byte arrived
		})
	}
}

func TestStdinReaderWaitsForData(t *testing.T) {
	for _, nb := range []bool{true, false} {
		t.Run("nonblocking="+strconv.FormatBool(nb), func(t *testing.T) {
			is := is.New(t)
			c := child(t, "stdin-read")
			sig, h, err := c.FromChild()
			is.NoErr(err) // attaching the signal pipe
			c.Args = append(c.Args, h)
			in, inW := stdioPipe(t, nb)
			c.Stdin = in
			is.NoErr(c.Start()) // starting the child
			br := bufio.NewReader(sig)
			line, err := br.ReadString('\n')
			is.NoErr(err)                    // the child's Read of the empty pipe waited for its deadline
			is.Equal(line, "waiting\n")      // and it says so
			is.Equal(nonblocking(t, in), nb) // the description this process shares with the child kept its mode
			is.NoErr(in.Close())
			_, err = inW.Write(make([]byte, edgeSize))
			is.NoErr(err) // writing more than the pipe holds
			is.NoErr(inW.Close())
			line, err = br.ReadString('\n')
			is.NoErr(err)                               // the child reports
			is.Equal(line, strconv.Itoa(edgeSize)+"\n") // that it read every byte
			is.NoErr(c.Wait())                          // and exits cleanly
		})
	}
}

func TestFileHandsOnABlockingDescriptor(t *testing.T) {
	t.Run("Pipe", func(t *testing.T) {
		is := is.New(t)
		r, w, err := anonpipe.Pipe()
		is.NoErr(err) // making a pipe
		defer r.Close()
		defer w.Close()
		c := child(t, "blocking", "1")
		c.Stdout = w.File()
		is.NoErr(c.Run()) // a process given the Writer's File gets a blocking descriptor
		c = child(t, "blocking", "0")
		c.Stdin = r.File()
		is.NoErr(c.Run()) // and so does one given the Reader's
	})
	for _, dir := range []string{"r", "w"} {
		t.Run("Open/"+dir, func(t *testing.T) {
			is := is.New(t)
			c := child(t, "grandchild", dir)
			var h string
			var err error
			fd := "1"
			if dir == "r" {
				_, h, err = c.ToChild()
				fd = "0"
			} else {
				_, h, err = c.FromChild()
			}
			is.NoErr(err) // attaching the pipe
			c.Args = append(c.Args, h, "self", "blocking", fd)
			is.NoErr(c.Run()) // the grandchild given the opened end's File gets a blocking descriptor
		})
	}
}

func TestFileCarriesEveryByteToAGrandchild(t *testing.T) {
	for _, tool := range []string{"head", "cat"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("no %s: %v", tool, err)
		}
	}
	const n = 1000000
	t.Run("Pipe/head", func(t *testing.T) {
		is := is.New(t)
		r, w, err := anonpipe.Pipe()
		is.NoErr(err) // making a pipe
		defer r.Close()
		gc := exec.Command("head", "-c", strconv.Itoa(n), "/dev/zero")
		gc.Stdout = w.File()
		is.NoErr(gc.Start()) // starting head with the Writer's File as its stdout
		is.NoErr(w.Close())  // head holds the only write end now
		got, err := io.Copy(io.Discard, r)
		is.NoErr(err)           // reading to EOF
		is.NoErr(gc.Wait())     // head wrote without error
		is.Equal(got, int64(n)) // and every byte arrived
	})
	t.Run("OpenWriter/head", func(t *testing.T) {
		is := is.New(t)
		c := child(t, "grandchild", "w")
		r, h, err := c.FromChild()
		is.NoErr(err) // attaching the pipe
		c.Args = append(c.Args, h, "head", "-c", strconv.Itoa(n), "/dev/zero")
		is.NoErr(c.Start()) // starting the child, which starts head
		got, err := io.Copy(io.Discard, r)
		is.NoErr(err)           // reading to EOF
		is.NoErr(c.Wait())      // head and the child succeeded
		is.Equal(got, int64(n)) // and every byte arrived
	})
	t.Run("OpenReader/cat", func(t *testing.T) {
		is := is.New(t)
		c := child(t, "grandchild", "r")
		w, h, err := c.ToChild()
		is.NoErr(err) // attaching the pipe
		c.Args = append(c.Args, h, "cat")
		out, err := c.StdoutPipe()
		is.NoErr(err)       // taking the child's stdout, where cat writes
		is.NoErr(c.Start()) // starting the child, which starts cat
		done := make(chan error, 1)
		go func() {
			_, err := w.Write(make([]byte, n))
			done <- errors.Join(err, w.Close())
		}()
		got, err := io.Copy(io.Discard, out)
		is.NoErr(err)           // reading cat's output to EOF
		is.NoErr(<-done)        // cat took every byte written
		is.NoErr(c.Wait())      // cat and the child succeeded
		is.Equal(got, int64(n)) // and passed every byte on
	})
}

func TestOpenLeavesTheSharedDescriptionAlone(t *testing.T) {
	is := is.New(t)
	pr, pw := rawPipe(t)
	other, err := unix.Dup(pr) // another holder of the same description
	is.NoErr(err)              // duplicating the read end
	defer unix.Close(other)
	defer unix.Close(pw)
	r, err := anonpipe.OpenReader(strconv.Itoa(pr))
	is.NoErr(err) // opening the read end
	defer r.Close()
	fl, err := unix.FcntlInt(uintptr(other), unix.F_GETFL, 0)
	is.NoErr(err)                    // reading the other holder's status flags
	is.True(fl&unix.O_NONBLOCK == 0) // the other holder's reads still block

	rc, err := r.File().SyscallConn()
	is.NoErr(err) // reaching the end's own descriptor
	var own int
	rc.Control(func(fd uintptr) { own = int(fd) })
	fdf, err := unix.FcntlInt(uintptr(own), unix.F_GETFD, 0)
	is.NoErr(err)                     // reading its descriptor flags
	is.True(fdf&unix.FD_CLOEXEC != 0) // the end does not leak into this process's children
	_, err = unix.FcntlInt(uintptr(pr), unix.F_GETFD, 0)
	is.True(errors.Is(err, unix.EBADF)) // the handle itself is closed: the end owns it

	is.NoErr(r.SetReadDeadline(time.Now().Add(10 * time.Millisecond))) // the end has deadlines
	_, err = r.Read(make([]byte, 1))
	is.True(errors.Is(err, os.ErrDeadlineExceeded)) // which fire
}

func TestOpenRefusesOPathWithoutTouchingIt(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, write := range []bool{false, true} {
		is := is.New(t)
		fd, err := unix.Open(fifo, unix.O_PATH, 0) // inheritable, as a parent may pass it
		is.NoErr(err)                              // opening the FIFO with O_PATH
		fdBefore, _ := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
		flBefore, _ := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
		h := strconv.Itoa(fd)
		if write {
			_, err = anonpipe.OpenWriter(h)
		} else {
			_, err = anonpipe.OpenReader(h)
		}
		is.True(errors.Is(err, anonpipe.ErrInvalidHandle)) // an O_PATH descriptor is refused
		is.True(strings.Contains(err.Error(), "O_PATH"))   // and the reason names O_PATH
		fdAfter, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
		is.NoErr(err)               // the descriptor is still open
		is.Equal(fdAfter, fdBefore) // with FD_CLOEXEC as it was
		flAfter, _ := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
		is.Equal(flAfter, flBefore) // and its status flags as they were
		unix.Close(fd)
	}
}
