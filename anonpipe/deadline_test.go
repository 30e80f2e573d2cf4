//go:build !windows

package anonpipe_test

import (
	"errors"
	"io"
	"os"
	"testing"
	"time"

	"github.com/matryer/is"
)

// childDeadlineLine is what childDeadline reports of deadlines.
const childDeadlineLine = "deadline exceeded"

func TestReadDeadline(t *testing.T) {
	is := is.New(t)
	r, w := pipe(t)
	_, err := io.WriteString(w, "ready")
	is.NoErr(err) // data is waiting

	is.NoErr(r.SetReadDeadline(time.Now().Add(-time.Second))) // a deadline in the past
	_, err = r.Read(make([]byte, 5))
	is.True(errors.Is(err, os.ErrDeadlineExceeded)) // fails at once, even with data ready
	is.True(os.IsTimeout(err))                      // and is a timeout

	is.NoErr(r.SetReadDeadline(time.Time{})) // the zero time clears it
	b := make([]byte, 5)
	_, err = io.ReadFull(r, b)
	is.NoErr(err)                // reading works again
	is.Equal(string(b), "ready") // and nothing was lost

	is.NoErr(r.SetReadDeadline(time.Now().Add(20 * time.Millisecond))) // a deadline in the future
	_, err = r.Read(b)
	is.True(errors.Is(err, os.ErrDeadlineExceeded)) // fires on an empty pipe

	is.NoErr(r.SetReadDeadline(time.Time{})) // clearing
	done := make(chan error)
	go func() {
		_, err := r.Read(b)
		done <- err
	}()
	is.NoErr(r.SetReadDeadline(time.Now()))            // a deadline set while a Read may be blocked
	is.True(errors.Is(<-done, os.ErrDeadlineExceeded)) // unblocks it
}

func TestWriteDeadline(t *testing.T) {
	is := is.New(t)
	r, w := pipe(t)
	big := make([]byte, 8<<20)                                          // far more than the pipe holds
	is.NoErr(w.SetWriteDeadline(time.Now().Add(20 * time.Millisecond))) // a deadline in the future
	n, err := w.Write(big)
	is.True(errors.Is(err, os.ErrDeadlineExceeded)) // fires on a full pipe
	is.True(n < len(big))                           // before everything was written

	r2, w2 := pipe(t)
	type result struct {
		n   int
		err error
	}
	done := make(chan result)
	go func() {
		n, err := w2.Write(big)
		done <- result{n, err}
	}()
	_, err = io.ReadFull(r2, make([]byte, 1))
	is.NoErr(err)                             // the Write has started: a byte arrived
	is.NoErr(w2.SetWriteDeadline(time.Now())) // a deadline set while the Write is blocked on a full pipe
	res := <-done
	is.True(errors.Is(res.err, os.ErrDeadlineExceeded)) // unblocks it
	is.True(res.n > 0 && res.n < len(big))              // with the count of what fit

	is.NoErr(r.SetReadDeadline(time.Now().Add(-time.Second))) // the read deadline
	is.NoErr(w.SetWriteDeadline(time.Time{}))                 // is independent of the write deadline
	_, err = r.Read(make([]byte, 1))
	is.True(errors.Is(err, os.ErrDeadlineExceeded)) // the read deadline still holds
}
