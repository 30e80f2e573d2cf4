package anonpipe_test

import (
	"testing"

	"github.com/anonpipe/anonpipe/anonpipe"
	"github.com/matryer/is"
	"golang.org/x/sys/unix"
)

func TestWithBufferSizeResizesThePipe(t *testing.T) {
	is := is.New(t)
	_, w := pipe(t, anonpipe.WithBufferSize(1<<20))
	rc, err := w.File().SyscallConn()
	is.NoErr(err) // reaching the descriptor
	var size int
	var serr error
	is.NoErr(rc.Control(func(fd uintptr) { size, serr = unix.FcntlInt(fd, unix.F_GETPIPE_SZ, 0) })) // asking its size
	is.NoErr(serr)                                                                                  // F_GETPIPE_SZ works
	is.Equal(size, 1<<20)                                                                           // the pipe holds a mebibyte
}
