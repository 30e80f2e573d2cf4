package anonpipe_test

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/anonpipe/anonpipe/anonpipe"
	"github.com/matryer/is"
	"golang.org/x/sys/unix"
)

// pipeSize is the size of f's pipe, by F_GETPIPE_SZ.
func pipeSize(t *testing.T, f *os.File) int {
	t.Helper()
	is := is.New(t)
	size, err := pipeSizeOf(f)
	is.NoErr(err) // asking the pipe's size
	return size
}

// pipeSizeOf is pipeSize for where a test cannot fail: on another
// goroutine.
func pipeSizeOf(f *os.File) (int, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return 0, err
	}
	size, serr := 0, error(nil)
	if err := rc.Control(func(fd uintptr) { size, serr = unix.FcntlInt(fd, unix.F_GETPIPE_SZ, 0) }); err != nil {
		return 0, err
	}
	return size, serr
}

const (
	mebibyte = 1 << 20
	// grown is what a pipe grows to once it has carried a mebibyte.
	grown = 512 << 10
)

// writeMebibyte writes a mebibyte to w in 4 KiB writes, then closes it.
func writeMebibyte(w io.WriteCloser) error {
	chunk := make([]byte, 4<<10)
	for range mebibyte / len(chunk) {
		if _, err := w.Write(chunk); err != nil {
			return err
		}
	}
	return w.Close()
}

// readAll reads r with 4 KiB reads until EOF.
func readAll(r io.Reader) error {
	buf := make([]byte, 4<<10)
	for {
		if _, err := r.Read(buf); err == io.EOF {
			return nil
		} else if err != nil {
			return err
		}
	}
}

// TestPipeGrowsOnceItStreams moves a mebibyte through a pipe, through one
// of its ends: the other end is used through its *os.File, which counts
// nothing. The pipe starts smaller and ends 512 KiB large.
func TestPipeGrowsOnceItStreams(t *testing.T) {
	for _, tc := range []struct {
		name  string
		write func(*anonpipe.Writer) error
		read  func(*anonpipe.Reader) error
	}{
		{"Write",
			func(w *anonpipe.Writer) error { return writeMebibyte(w) },
			func(r *anonpipe.Reader) error { return readAll(r.File()) }},
		{"Read",
			func(w *anonpipe.Writer) error { return writeMebibyte(w.File()) },
			func(r *anonpipe.Reader) error { return readAll(r) }},
		{"WriteTo",
			func(w *anonpipe.Writer) error { return writeMebibyte(w.File()) },
			func(r *anonpipe.Reader) error { _, err := io.Copy(io.Discard, r); return err }},
		{"ReadFrom",
			func(w *anonpipe.Writer) error {
				name := filepath.Join(t.TempDir(), "mebibyte")
				if err := os.WriteFile(name, make([]byte, mebibyte), 0o600); err != nil {
					return err
				}
				f, err := os.Open(name)
				if err != nil {
					return err
				}
				defer f.Close()
				_, err = io.Copy(w, f)
				return errors.Join(err, w.Close())
			},
			func(r *anonpipe.Reader) error { return readAll(r.File()) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			is := is.New(t)
			r, w := pipe(t)
			is.True(pipeSize(t, r.File()) < grown) // a new pipe has the kernel's default size
			wrote := make(chan error, 1)
			go func() { wrote <- tc.write(w) }()
			is.NoErr(tc.read(r))                   // reading a mebibyte
			is.NoErr(<-wrote)                      // writing it
			is.Equal(pipeSize(t, r.File()), grown) // the pipe has grown to 512 KiB
		})
	}
}

// TestPipeToPipeCopyGrowsBothPipes copies a mebibyte from one pipe into
// another with io.Copy: the copy counts for both.
func TestPipeToPipeCopyGrowsBothPipes(t *testing.T) {
	is := is.New(t)
	r1, w1 := pipe(t)
	r2, w2 := pipe(t)
	wrote := make(chan error, 1)
	go func() { wrote <- writeMebibyte(w1.File()) }()
	copied := make(chan error, 1)
	go func() {
		_, err := io.Copy(w2, r1)
		copied <- errors.Join(err, w2.Close())
	}()
	is.NoErr(readAll(r2.File()))            // reading the copy
	is.NoErr(<-copied)                      // copying
	is.NoErr(<-wrote)                       // writing
	is.Equal(pipeSize(t, r1.File()), grown) // the pipe copied from has grown
	is.Equal(pipeSize(t, r2.File()), grown) // the pipe copied into has grown
}

// TestWithBufferSizeKeepsItsSize moves two mebibytes through a pipe sized
// with WithBufferSize, through both ends: it keeps its size.
func TestWithBufferSizeKeepsItsSize(t *testing.T) {
	is := is.New(t)
	r, w := pipe(t, anonpipe.WithBufferSize(64<<10))
	for range 2 {
		wrote := make(chan error, 1)
		go func() { wrote <- writeMebibyte(writerOnly{w}) }()
		is.NoErr(readAll(io.LimitReader(r, mebibyte))) // reading a mebibyte
		is.NoErr(<-wrote)                              // writing it
	}
	is.Equal(pipeSize(t, r.File()), 64<<10) // the pipe kept the size asked for
}

// writerOnly writes to a Writer without closing it.
type writerOnly struct{ io.Writer }

func (writerOnly) Close() error { return nil }

// TestPipeNeverShrinks enlarges a pipe beyond what growth gives through its
// File, then streams through it.
func TestPipeNeverShrinks(t *testing.T) {
	is := is.New(t)
	r, w := pipe(t)
	rc, err := w.File().SyscallConn()
	is.NoErr(err) // reaching the descriptor
	var serr error
	is.NoErr(rc.Control(func(fd uintptr) { _, serr = unix.FcntlInt(fd, unix.F_SETPIPE_SZ, mebibyte) })) // resizing
	is.NoErr(serr)                                                                                      // F_SETPIPE_SZ to a mebibyte, Linux's default pipe-max-size
	wrote := make(chan error, 1)
	go func() { wrote <- writeMebibyte(w) }()
	is.NoErr(readAll(r))                      // reading a mebibyte
	is.NoErr(<-wrote)                         // writing it
	is.Equal(pipeSize(t, r.File()), mebibyte) // the pipe kept its larger size
}

// TestChildPipesGrow streams a mebibyte through an echoing child: the
// parent's ends of both pipes count, and both pipes grow.
func TestChildPipesGrow(t *testing.T) {
	is := is.New(t)
	c := child(t, "echo")
	w, down, err := c.ToChild()
	is.NoErr(err) // ToChild
	r, up, err := c.FromChild()
	is.NoErr(err) // FromChild
	c.Args = append(c.Args, down, up)
	is.NoErr(c.Start()) // starting the child
	wrote := make(chan error, 1)
	go func() {
		err := writeMebibyte(writerOnly{w})
		if err == nil {
			var size int
			if size, err = pipeSizeOf(w.File()); err == nil && size != grown {
				err = fmt.Errorf("the pipe to the child holds %d bytes, want %d", size, grown)
			}
		}
		wrote <- errors.Join(err, w.Close())
	}()
	is.NoErr(readAll(r))                   // reading the echo
	is.NoErr(<-wrote)                      // writing, and the pipe to the child has grown
	is.Equal(pipeSize(t, r.File()), grown) // the pipe from the child has grown
	is.NoErr(c.Wait())                     // the child's exit
}

// TestPipeGrowsThroughExecStdin hands a Reader to exec.Cmd.Stdin, which
// os/exec copies into the child's stdin on a goroutine of its own
// (io.Copy, so the Reader's WriteTo): that copy counts too.
func TestPipeGrowsThroughExecStdin(t *testing.T) {
	is := is.New(t)
	if _, err := exec.LookPath("cat"); err != nil {
		t.Skip("no cat on this system")
	}
	r, w := pipe(t)
	cmd := exec.Command("cat")
	cmd.Stdin, cmd.Stdout = r, io.Discard
	is.NoErr(cmd.Start()) // starting cat
	wrote := make(chan error, 1)
	go func() { wrote <- writeMebibyte(w.File()) }()
	is.NoErr(<-wrote)                      // writing a mebibyte, which os/exec copies to cat
	is.NoErr(cmd.Wait())                   // cat read it all and exited
	is.Equal(pipeSize(t, r.File()), grown) // the pipe has grown
}
