package anonpipe_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/anonpipe/anonpipe/anonpipe"
	"github.com/matryer/is"
)

func pipe(t *testing.T, opts ...anonpipe.Option) (*anonpipe.Reader, *anonpipe.Writer) {
	t.Helper()
	r, w, err := anonpipe.Pipe(opts...)
	if err != nil {
		t.Fatalf("Pipe: %v", err)
	}
	t.Cleanup(func() {
		r.Close()
		w.Close()
	})
	return r, w
}

// TestBrokenPipeError checks what TestPipe's BrokenPipe does not, as it
// also takes the bare EPIPE of an *os.File: a write without a reader fails
// with an error matching ErrBrokenPipe, which keeps the system's error.
func TestBrokenPipeError(t *testing.T) {
	is := is.New(t)
	r, w := pipe(t)
	is.NoErr(r.Close()) // closing the only reader
	_, err := w.Write([]byte("x"))
	is.True(errors.Is(err, anonpipe.ErrBrokenPipe)) // a write without a reader is ErrBrokenPipe
	is.True(errors.Unwrap(err) != nil)              // the OS error stays wrapped
}

// TestSecondCloseIsErrClosed checks what the documentation promises beyond
// TestPipe's CloseTwice, which also takes nil: closing an end again returns
// an error matching os.ErrClosed.
func TestSecondCloseIsErrClosed(t *testing.T) {
	is := is.New(t)
	r, w := pipe(t)
	is.NoErr(r.Close())                         // closing the reader
	is.NoErr(w.Close())                         // closing the writer
	is.True(errors.Is(r.Close(), os.ErrClosed)) // a second Close of the reader reports os.ErrClosed
	is.True(errors.Is(w.Close(), os.ErrClosed)) // and of the writer
}

// TestDrain checks the cases TestPipe's Drain and BrokenPipe leave out.
func TestDrain(t *testing.T) {
	t.Run("reader gone with bytes unread", func(t *testing.T) {
		is := is.New(t)
		r, w := pipe(t)
		_, err := w.Write([]byte("unread"))
		is.NoErr(err)       // writing
		is.NoErr(r.Close()) // the reader leaves without reading
		err = w.Drain(context.Background())
		is.True(errors.Is(err, anonpipe.ErrBrokenPipe)) // Drain reports the broken pipe, rather than wait for bytes nobody will read
	})
	t.Run("context already done", func(t *testing.T) {
		is := is.New(t)
		_, w := pipe(t)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		is.Equal(w.Drain(ctx), context.Canceled) // a done context wins even over an empty pipe
	})
}

// TestZeroValueEnds checks that a Reader or Writer never made by this
// package fails every call with os.ErrInvalid, as a nil *os.File does,
// rather than panicking.
func TestZeroValueEnds(t *testing.T) {
	is := is.New(t)
	var r anonpipe.Reader
	var w anonpipe.Writer
	buf := make([]byte, 8)
	_, err := r.Read(buf)
	is.True(errors.Is(err, os.ErrInvalid)) // Read
	_, err = r.WriteTo(io.Discard)
	is.True(errors.Is(err, os.ErrInvalid))                           // WriteTo
	is.True(errors.Is(r.SetReadDeadline(time.Now()), os.ErrInvalid)) // SetReadDeadline
	is.True(errors.Is(r.Close(), os.ErrInvalid))                     // Reader.Close
	_, err = w.Write(buf)
	is.True(errors.Is(err, os.ErrInvalid)) // Write
	_, err = w.ReadFrom(strings.NewReader("x"))
	is.True(errors.Is(err, os.ErrInvalid))                            // ReadFrom
	is.True(errors.Is(w.SetWriteDeadline(time.Now()), os.ErrInvalid)) // SetWriteDeadline
	is.True(errors.Is(w.Drain(context.Background()), os.ErrInvalid))  // Drain
	is.True(errors.Is(w.Close(), os.ErrInvalid))                      // Writer.Close
}

func TestInvalidOptions(t *testing.T) {
	sizes := []int{0, -1}
	if math.MaxInt > math.MaxInt32 { // sizes an int holds only on 64-bit systems
		big := int64(1) << 31
		sizes = append(sizes, int(big), int(big<<1+4096))
	}
	for _, n := range sizes {
		is := is.New(t)
		_, _, err := anonpipe.Pipe(anonpipe.WithBufferSize(n))
		is.True(err != nil)                                                          // a size no pipe can have is refused, not cut to fit
		is.True(strings.Contains(err.Error(), fmt.Sprintf("WithBufferSize(%d)", n))) // the error names the option and the size
	}
	is := is.New(t)
	_, _, err := anonpipe.Pipe(nil)
	is.True(err != nil) // a nil Option is refused
}
