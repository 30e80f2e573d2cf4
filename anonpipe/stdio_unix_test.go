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
