package anonpipe_test

import (
	"errors"
	"os"
	"testing"
	"time"

	"github.com/matryer/is"
)

func TestDeadlinesAreRefusedOnWindows(t *testing.T) {
	is := is.New(t)
	r, w := pipe(t)
	err := r.SetReadDeadline(time.Now())
	is.True(errors.Is(err, os.ErrNoDeadline)) // synchronous pipes have no read deadline
	err = w.SetWriteDeadline(time.Now())
	is.True(errors.Is(err, os.ErrNoDeadline)) // nor a write deadline
}
