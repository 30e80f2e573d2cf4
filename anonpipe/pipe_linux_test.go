package anonpipe_test

import (
	"testing"

	"github.com/anonpipe/anonpipe/anonpipe"
	"github.com/matryer/is"
)

func TestWithBufferSizeResizesThePipe(t *testing.T) {
	is := is.New(t)
	_, w := pipe(t, anonpipe.WithBufferSize(1<<20))
	is.Equal(pipeSize(t, w.File()), 1<<20) // the pipe holds a mebibyte
}
