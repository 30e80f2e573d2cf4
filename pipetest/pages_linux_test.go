package pipetest_test

import (
	"testing"

	"github.com/anonpipe/anonpipe/anonpipe"
	"github.com/matryer/is"
	"golang.org/x/sys/unix"
)

// linuxPipe returns a real pipe holding 65536 bytes, closed when the test
// ends.
func linuxPipe(t *testing.T) (*anonpipe.Reader, *anonpipe.Writer) {
	t.Helper()
	is := is.New(t)
	r, w, err := anonpipe.Pipe(anonpipe.WithBufferSize(65536))
	is.NoErr(err) // making the pipe
	t.Cleanup(func() {
		r.Close()
		w.Close()
	})
	rc, err := w.File().SyscallConn()
	is.NoErr(err) // reaching the descriptor
	var size int
	is.NoErr(rc.Control(func(fd uintptr) { size, err = unix.FcntlInt(fd, unix.F_GETPIPE_SZ, 0) })) // reaching the descriptor
	is.NoErr(err)                                                                                  // asking the pipe's size
	is.Equal(size, 65536)                                                                          // the size the tests count pages of
	return r, w
}

func TestSmallWritesFillPagesOnLinuxPipe(t *testing.T) {
	_, w := linuxPipe(t)
	testSmallWritesFillPages(t, w)
}

func TestPartReadFreesNoPageOnLinuxPipe(t *testing.T) {
	r, w := linuxPipe(t)
	testPartReadFreesNoPage(t, r, w)
}
