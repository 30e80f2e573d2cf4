package anonpipe_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/anonpipe/anonpipe/anonpipe"
	"github.com/matryer/is"
)

// WithBusyPoll changes how Read waits, not what it does: these tests repeat
// Read's promises with it.

func busyPipe(t *testing.T) (*anonpipe.Reader, *anonpipe.Writer) {
	return pipe(t, anonpipe.WithBusyPoll(20*time.Microsecond))
}

func TestBusyPollReadsWhatIsWritten(t *testing.T) {
	is := is.New(t)
	r, w := busyPipe(t)
	_, err := w.Write([]byte("abc"))
	is.NoErr(err) // writing three bytes
	buf := make([]byte, 100)
	n, err := r.Read(buf)
	is.NoErr(err)                    // reading what is there
	is.Equal(string(buf[:n]), "abc") // returns it without waiting to fill buf

	data := randomBytes(1<<20, 20)
	feed(t, w, data)
	got, err := io.ReadAll(r)
	is.NoErr(err)                   // reading while another goroutine writes, then EOF
	is.True(bytes.Equal(got, data)) // every byte, in order
	n, err = r.Read(buf)
	is.Equal(n, 0)        // nothing after EOF
	is.Equal(err, io.EOF) // EOF repeats
}

func TestBusyPollDeadlinesAndClose(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Windows pipes have no deadlines")
	}
	is := is.New(t)
	r, w := busyPipe(t)
	_, err := w.Write([]byte("ready"))
	is.NoErr(err)                                             // data is waiting
	is.NoErr(r.SetReadDeadline(time.Now().Add(-time.Second))) // a deadline in the past
	_, err = r.Read(make([]byte, 5))
	is.True(errors.Is(err, os.ErrDeadlineExceeded)) // fails at once, even with data ready

	is.NoErr(r.SetReadDeadline(time.Now().Add(20 * time.Millisecond))) // a deadline in the future
	b := make([]byte, 5)
	_, err = io.ReadFull(r, b)
	is.NoErr(err) // the waiting data is read before it
	_, err = r.Read(b)
	is.True(errors.Is(err, os.ErrDeadlineExceeded)) // and it fires on the empty pipe

	is.NoErr(r.SetReadDeadline(time.Time{})) // clearing it
	done := make(chan error)
	go func() {
		_, err := r.Read(b)
		done <- err
	}()
	is.NoErr(r.Close())                      // closing while a Read may be polling or parked
	is.True(errors.Is(<-done, os.ErrClosed)) // the pending Read returns os.ErrClosed
	_, err = r.Read(b)
	is.True(errors.Is(err, os.ErrClosed)) // and so does any later Read
}

func TestBusyPollConcurrentReaders(t *testing.T) {
	is := is.New(t)
	r, w := busyPipe(t)
	const readers, each = 4, 1000
	total := make(chan int, readers)
	for range readers {
		go func() {
			n := 0
			b := make([]byte, 7)
			for {
				m, err := r.Read(b)
				n += m
				if err != nil {
					total <- n
					return
				}
			}
		}()
	}
	for range readers * each {
		_, err := w.Write([]byte("x"))
		is.NoErr(err) // writing one byte at a time
	}
	is.NoErr(w.Close()) // ending the stream
	sum := 0
	for range readers {
		sum += <-total
	}
	is.Equal(sum, readers*each) // the readers got every byte once between them
}

func TestBusyPollOptionChecks(t *testing.T) {
	is := is.New(t)
	_, _, err := anonpipe.Pipe(anonpipe.WithBusyPoll(0))
	is.True(err != nil)                                                  // a zero duration is refused
	is.True(bytes.Contains([]byte(err.Error()), []byte("WithBusyPoll"))) // by name
	_, err = anonpipe.OpenReader("3", anonpipe.WithBufferSize(1<<16))
	is.True(err != nil)                                                    // an opened pipe cannot be sized
	is.True(bytes.Contains([]byte(err.Error()), []byte("WithBufferSize"))) // the error names the option
	_, err = anonpipe.OpenWriter("3", anonpipe.WithBusyPoll(-1))
	is.True(err != nil) // OpenWriter checks its options too
}

// TestBusyPollAcrossProcesses plays ping-pong with a child whose Reader
// also busy-polls.
func TestBusyPollAcrossProcesses(t *testing.T) {
	is := is.New(t)
	c := child(t, "bench-pong")
	w, down, err := c.ToChild()
	is.NoErr(err) // the pipe to the child
	r, up, err := c.FromChild(anonpipe.WithBusyPoll(50 * time.Microsecond))
	is.NoErr(err) // the pipe back, busy-polled here
	c.Args = append(c.Args, down, up, "50us")
	is.NoErr(c.Start()) // starting the child
	b := []byte{0}
	for i := range 1000 {
		_, err := w.Write(b)
		is.NoErr(err) // sending a byte
		_, err = io.ReadFull(r, b)
		is.NoErr(err)             // reading the reply
		is.Equal(b[0], byte(i+1)) // the child answered that byte plus one
	}
	is.NoErr(w.Close()) // the child sees EOF
	is.NoErr(c.Wait())  // and exits cleanly
}
