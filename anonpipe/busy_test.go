package anonpipe_test

import (
	"bytes"
	"io"
	"testing"
	"time"

	"github.com/anonpipe/anonpipe/anonpipe"
	"github.com/matryer/is"
)

func TestBusyPollOptionChecks(t *testing.T) {
	is := is.New(t)
	_, _, err := anonpipe.Pipe(anonpipe.WithBusyPoll(0))
	is.True(err != nil)                                                  // a zero duration is refused
	is.True(bytes.Contains([]byte(err.Error()), []byte("WithBusyPoll"))) // by name
	_, err = anonpipe.OpenReader("3", anonpipe.WithBufferSize(1<<16))
	is.True(err != nil)                                                                                     // an opened pipe cannot be sized
	is.Equal(err.Error(), "anonpipe: OpenReader: WithBufferSize applies only to a pipe this process makes") // the error names the call and the option
	c := anonpipe.Command("true")
	defer c.Close()
	_, _, err = c.ToChild(anonpipe.WithBusyPoll(time.Microsecond))
	is.True(err != nil)                                                               // ToChild returns a Writer, which cannot busy-poll
	is.Equal(err.Error(), "anonpipe: ToChild: WithBusyPoll applies only to a Reader") // the error names the call and the option
	_, _, err = c.FromChild(anonpipe.WithBusyPoll(time.Microsecond))
	is.NoErr(err) // FromChild returns a Reader, which can
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
