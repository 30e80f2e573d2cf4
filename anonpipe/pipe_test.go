package anonpipe_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
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

func TestZeroLengthReadAndWrite(t *testing.T) {
	is := is.New(t)
	r, w := pipe(t)

	n, err := w.Write(nil)
	is.NoErr(err)  // a zero-length write succeeds
	is.Equal(n, 0) // a zero-length write writes nothing

	n, err = r.Read(nil)
	is.NoErr(err)  // a zero-length read on an empty pipe returns at once
	is.Equal(n, 0) // a zero-length read reads nothing
}

func TestReadReturnsWhatIsThere(t *testing.T) {
	is := is.New(t)
	r, w := pipe(t)

	_, err := w.Write([]byte("abc"))
	is.NoErr(err) // writing three bytes
	buf := make([]byte, 100)
	n, err := r.Read(buf)
	is.NoErr(err)                    // reading what was written
	is.Equal(string(buf[:n]), "abc") // Read returns the bytes there without waiting to fill buf
}

func TestEOFAfterWriterCloses(t *testing.T) {
	is := is.New(t)
	r, w := pipe(t)

	_, err := w.Write([]byte("last words"))
	is.NoErr(err)       // writing before close
	is.NoErr(w.Close()) // closing the writer

	b, err := io.ReadAll(r)
	is.NoErr(err)                     // buffered bytes are still delivered after the writer closed
	is.Equal(string(b), "last words") // nothing is lost
	n, err := r.Read(make([]byte, 1))
	is.Equal(n, 0)        // nothing more to read
	is.Equal(err, io.EOF) // EOF repeats
}

func TestWriteToClosedReaderIsBrokenPipe(t *testing.T) {
	is := is.New(t)
	r, w := pipe(t)
	is.NoErr(r.Close()) // closing the only reader

	n, err := w.Write([]byte("x"))
	is.Equal(n, 0)                                  // nothing was written
	is.True(errors.Is(err, anonpipe.ErrBrokenPipe)) // a write without a reader is ErrBrokenPipe
	is.True(errors.Unwrap(err) != nil)              // the OS error stays wrapped
	is.True(!errors.Is(err, os.ErrClosed))          // a broken pipe is not a closed end
}

func TestUseAfterClose(t *testing.T) {
	is := is.New(t)
	r, w := pipe(t)
	is.NoErr(r.Close()) // closing the reader
	is.NoErr(w.Close()) // closing the writer

	_, err := r.Read(make([]byte, 1))
	is.True(errors.Is(err, os.ErrClosed)) // Read after Close is os.ErrClosed
	_, err = w.Write([]byte("x"))
	is.True(errors.Is(err, os.ErrClosed)) // Write after Close is os.ErrClosed
	err = w.Drain(context.Background())
	is.True(errors.Is(err, os.ErrClosed))       // Drain after Close is os.ErrClosed
	is.True(errors.Is(r.Close(), os.ErrClosed)) // a second Close reports os.ErrClosed
	is.True(errors.Is(w.Close(), os.ErrClosed)) // a second Close reports os.ErrClosed
}

func TestCloseUnblocksRead(t *testing.T) {
	is := is.New(t)
	r, _ := pipe(t)
	done := make(chan error)
	go func() {
		_, err := r.Read(make([]byte, 1))
		done <- err
	}()
	is.NoErr(r.Close())                      // closing while a Read may be pending
	is.True(errors.Is(<-done, os.ErrClosed)) // the pending Read returns os.ErrClosed
}

func TestCloseUnblocksWrite(t *testing.T) {
	is := is.New(t)
	_, w := pipe(t)
	big := make([]byte, 8<<20) // far more than any pipe buffer
	type result struct {
		n   int
		err error
	}
	done := make(chan result)
	go func() {
		n, err := w.Write(big)
		done <- result{n, err}
	}()
	is.NoErr(w.Close()) // closing while the Write is blocked on a full pipe
	res := <-done
	is.True(errors.Is(res.err, os.ErrClosed)) // the pending Write returns os.ErrClosed
	is.True(res.n < len(big))                 // with the count of what fit
}

func TestMegabyteFromAnotherGoroutine(t *testing.T) {
	is := is.New(t)
	r, w := pipe(t)
	data := make([]byte, 1<<20)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	go func() {
		for p := data; len(p) > 0; {
			n := min(len(p), 1+rng.IntN(100000))
			if _, err := w.Write(p[:n]); err != nil {
				t.Error(err)
				break
			}
			p = p[n:]
		}
		w.Close()
	}()
	got, err := io.ReadAll(r)
	is.NoErr(err)                                     // reading the megabyte
	is.Equal(sha256.Sum256(got), sha256.Sum256(data)) // every byte arrives, in order
}

func TestCopyThroughReaderAndWriter(t *testing.T) {
	is := is.New(t)
	r1, w1 := pipe(t)
	r2, w2 := pipe(t)
	data := bytes.Repeat([]byte("0123456789abcdef"), 64<<10)
	go func() {
		w1.Write(data)
		w1.Close()
	}()
	go func() {
		_, err := io.Copy(w2, r1) // Writer.ReadFrom or Reader.WriteTo
		if err != nil {
			t.Error(err)
		}
		w2.Close()
	}()
	got, err := io.ReadAll(r2)
	is.NoErr(err)                   // reading the copy
	is.True(bytes.Equal(got, data)) // a pipe-to-pipe copy keeps every byte
}

func TestDrain(t *testing.T) {
	t.Run("reader consumes everything", func(t *testing.T) {
		is := is.New(t)
		r, w := pipe(t)
		_, err := w.Write([]byte("0123456789"))
		is.NoErr(err) // writing ten bytes
		read := make(chan error)
		go func() {
			_, err := io.ReadFull(r, make([]byte, 10))
			read <- err
		}()
		is.NoErr(w.Drain(context.Background())) // Drain returns once the reader has read everything
		is.NoErr(<-read)                        // the reader got all ten bytes
	})
	t.Run("empty pipe", func(t *testing.T) {
		is := is.New(t)
		_, w := pipe(t)
		is.NoErr(w.Drain(context.Background())) // an empty pipe is drained
	})
	t.Run("reader gone", func(t *testing.T) {
		is := is.New(t)
		r, w := pipe(t)
		_, err := w.Write([]byte("unread"))
		is.NoErr(err)       // writing
		is.NoErr(r.Close()) // the reader leaves without reading
		err = w.Drain(context.Background())
		is.True(errors.Is(err, anonpipe.ErrBrokenPipe)) // Drain reports the broken pipe
	})
	t.Run("context cancelled", func(t *testing.T) {
		is := is.New(t)
		_, w := pipe(t)
		_, err := w.Write([]byte("nobody reads this"))
		is.NoErr(err) // writing
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- w.Drain(ctx) }()
		cancel()
		is.Equal(<-done, context.Canceled) // Drain gives up with the context's error
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
	for _, n := range []int{0, -1, 1 << 31, 1<<32 + 4096} {
		is := is.New(t)
		_, _, err := anonpipe.Pipe(anonpipe.WithBufferSize(n))
		is.True(err != nil)                                                          // a size no pipe can have is refused, not cut to fit
		is.True(strings.Contains(err.Error(), fmt.Sprintf("WithBufferSize(%d)", n))) // the error names the option and the size
	}
	is := is.New(t)
	_, _, err := anonpipe.Pipe(nil)
	is.True(err != nil) // a nil Option is refused
}
