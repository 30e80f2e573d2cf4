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
// so that a new pipe's ends take descriptors 1 and 2, and writes to the
// pipe once its reader is gone. Its exit code says what happened: with
// stderr closed it has nowhere else to say it.
func childStdioClosed([]string) int {
	os.Stdout.Close()
	os.Stderr.Close()
	r, w, err := anonpipe.Pipe()
	if err != nil {
		return 3
	}
	rc, err := w.File().SyscallConn()
	if err != nil {
		return 3
	}
	var fd uintptr
	rc.Control(func(d uintptr) { fd = d })
	if fd != 1 && fd != 2 {
		return 4 // the test no longer tests what it should
	}
	r.Close()
	if _, err := w.Write([]byte("nobody listens")); !errors.Is(err, anonpipe.ErrBrokenPipe) {
		return 5
	}
	return 0
}

func TestWriterOnDescriptorTwoDoesNotRaiseSIGPIPE(t *testing.T) {
	is := is.New(t)
	c := child(t, "stdio-closed")
	c.Stderr = nil
	err := c.Run()
	is.NoErr(err) // the child exits 0: its Writer landed on descriptor 1 or 2 (else 4), its Write returned ErrBrokenPipe (else 5) and raised no SIGPIPE
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
