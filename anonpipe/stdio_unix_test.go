//go:build unix

package anonpipe_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"testing"

	"github.com/anonpipe/anonpipe/anonpipe"
	"github.com/matryer/is"
	"golang.org/x/sys/unix"
)

// childStdoutBroken writes to descriptor 1, whose reader is gone, through
// OpenWriter, and reports the error on stderr.
func childStdoutBroken([]string) int {
	w, err := anonpipe.OpenWriter("1")
	if err != nil {
		return fail("%v", err)
	}
	_, err = w.Write([]byte("nobody listens"))
	if !errors.Is(err, anonpipe.ErrBrokenPipe) {
		return fail("write: %v", err)
	}
	fmt.Fprintln(os.Stderr, "broken pipe reported")
	return 0
}

// childStdioClosed closes its standard output and error, as a daemon does,
// so that descriptors 1 and 2 are the lowest free ones, where os.File
// raises SIGPIPE. It makes a pipe, and opens a second write end from a
// duplicate that lands on 1 (on Linux a new descriptor, which would land on
// 2), then writes to both once the reader is gone. Its exit code says what
// happened: with stderr closed it has nowhere else to say it.
func childStdioClosed([]string) int {
	os.Stdout.Close()
	os.Stderr.Close()
	r, w, err := anonpipe.Pipe()
	if err != nil {
		return 3
	}
	if ownFD(r) <= 2 || ownFD(w) <= 2 {
		return 4 // an end of the new pipe is on a standard descriptor
	}
	if d, err := unix.Dup(ownFD(w)); err != nil || d != 1 {
		return 3
	}
	w2, err := anonpipe.OpenWriter("1")
	if err != nil {
		return 3
	}
	if ownFD(w2) <= 2 {
		return 6 // the opened end is on a standard descriptor
	}
	r.Close()
	for _, w := range []*anonpipe.Writer{w, w2} {
		if _, err := w.Write([]byte("nobody listens")); !errors.Is(err, anonpipe.ErrBrokenPipe) {
			return 5
		}
	}
	return 0
}

func TestWriterOnDescriptorTwoDoesNotRaiseSIGPIPE(t *testing.T) {
	is := is.New(t)
	c := child(t, "stdio-closed")
	c.Stderr = nil
	err := c.Run()
	is.NoErr(err) // the child exits 0: no end landed on descriptors 0 to 2 (else 4 for Pipe, 6 for OpenWriter), and each Write returned ErrBrokenPipe (else 5) without raising SIGPIPE
}

func TestWriterOnStdoutDoesNotRaiseSIGPIPE(t *testing.T) {
	is := is.New(t)
	pr, pw, err := os.Pipe()
	is.NoErr(err)        // making the child's stdout
	is.NoErr(pr.Close()) // nobody will read it
	defer pw.Close()
	c := child(t, "stdout-broken")
	c.Stdout = pw
	var stderr bytes.Buffer
	c.Stderr = &stderr
	is.NoErr(c.Run())                                   // the child exits normally, not by SIGPIPE
	is.Equal(stderr.String(), "broken pipe reported\n") // its write returned ErrBrokenPipe
}
