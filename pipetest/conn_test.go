package pipetest_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/anonpipe/anonpipe/anonpipe"
	"github.com/anonpipe/anonpipe/pipetest"
	"github.com/matryer/is"
)

var _ net.Conn = (*pipetest.Conn)(nil)

func TestConnPipeAddrs(t *testing.T) {
	is := is.New(t)
	a, b := pipetest.ConnPipe()
	is.Equal(a.LocalAddr().Network(), "anonpipe")              // the network is anonpipe's
	is.Equal(a.RemoteAddr().Network(), "anonpipe")             // at both ends
	is.Equal(a.LocalAddr().String(), b.RemoteAddr().String())  // a is where b's bytes go
	is.Equal(a.RemoteAddr().String(), b.LocalAddr().String())  // and b where a's go
	is.True(a.LocalAddr().String() != a.RemoteAddr().String()) // the ends have different names
}

// TestConnPipeBuffers shows that each direction holds its capacity with
// nobody reading, apart from the other.
func TestConnPipeBuffers(t *testing.T) {
	is := is.New(t)
	a, b := pipetest.ConnPipe()
	full := make([]byte, 65536)
	n, err := a.Write(full)
	is.NoErr(err)          // a fills its direction with nobody reading
	is.Equal(n, len(full)) // 64 KiB, the default
	n, err = b.Write(full)
	is.NoErr(err)          // b fills the other direction
	is.Equal(n, len(full)) // as much
	is.NoErr(a.SetWriteDeadline(time.Now().Add(10 * time.Millisecond)))
	n, err = a.Write([]byte("x"))
	is.Equal(n, 0)                                  // one more byte does not fit
	is.True(errors.Is(err, os.ErrDeadlineExceeded)) // and the Write waits until its deadline

	a, b = pipetest.ConnPipe(pipetest.WithCapacity(4096))
	n, err = b.Write(full[:4096])
	is.NoErr(err)     // WithCapacity sets each direction's capacity
	is.Equal(n, 4096) // b's
	is.NoErr(a.SetWriteDeadline(time.Now().Add(10 * time.Millisecond)))
	n, err = a.Write(full[:4097])
	is.Equal(n, 4096)                               // and a's
	is.True(errors.Is(err, os.ErrDeadlineExceeded)) // no more
}

// TestConnPipeOptionsBothWays shows that options apply to each direction,
// each counting its own bytes.
func TestConnPipeOptionsBothWays(t *testing.T) {
	is := is.New(t)
	a, b := pipetest.ConnPipe(pipetest.WithReadLimit(3))
	_, err := a.Write([]byte("hello"))
	is.NoErr(err) // a writes
	_, err = b.Write([]byte("world"))
	is.NoErr(err) // b writes
	buf := make([]byte, 16)
	n, err := b.Read(buf)
	is.NoErr(err)                    // b reads
	is.Equal(string(buf[:n]), "hel") // at most 3 bytes at a time
	n, err = a.Read(buf)
	is.NoErr(err)                    // a reads
	is.Equal(string(buf[:n]), "wor") // at most 3 bytes too

	a, b = pipetest.ConnPipe(pipetest.WithReadClose(2))
	_, err = a.Write([]byte("abc"))
	is.NoErr(err) // a writes
	n, err = b.Read(buf)
	is.NoErr(err)                   // b reads the bytes up to the crash
	is.Equal(string(buf[:n]), "ab") // and no more
	_, err = a.Write([]byte("d"))
	is.True(errors.Is(err, anonpipe.ErrBrokenPipe)) // then a's Writes find b's read direction closed
	_, err = b.Write([]byte("xyz"))
	is.NoErr(err) // b still writes
	n, err = a.Read(buf)
	is.NoErr(err)                   // a reads up to its own crash
	is.Equal(string(buf[:n]), "xy") // after 2 bytes
	_, err = a.Read(buf)
	is.True(errors.Is(err, os.ErrClosed)) // then its read direction is closed
	is.NoErr(a.Close())                   // Close still closes a, once
	is.NoErr(b.Close())                   // and b
}

func TestConnPipeErrors(t *testing.T) {
	is := is.New(t)
	a, b := pipetest.ConnPipe()
	is.NoErr(a.SetReadDeadline(time.Now().Add(-time.Second)))
	_, err := a.Read(make([]byte, 1))
	var ne net.Error
	is.True(errors.As(err, &ne)) // a timeout is a net.Error
	_, isNetError := err.(net.Error)
	is.True(isNetError)                             // itself, as callers test it
	is.True(ne.Timeout())                           // whose Timeout is true
	is.True(errors.Is(err, os.ErrDeadlineExceeded)) // and that matches os.ErrDeadlineExceeded
	var oe *net.OpError
	is.True(errors.As(err, &oe)) // it is a *net.OpError
	is.Equal(oe.Op, "read")      // naming the call
	is.Equal(oe.Net, "anonpipe") // and the network

	is.NoErr(a.CloseWrite())                         // a half-closes
	is.NoErr(a.SetDeadline(time.Now()))              // and may still set its deadlines
	is.NoErr(a.SetDeadline(time.Time{}))             // and clear them
	is.True(errors.Is(a.CloseWrite(), os.ErrClosed)) // but not close its write direction twice
	_, err = a.Write([]byte("x"))
	is.True(errors.Is(err, os.ErrClosed)) // nor write
	n, err := b.Read(make([]byte, 1))
	is.Equal(n, 0)        // b gets nothing
	is.Equal(err, io.EOF) // but io.EOF itself

	is.NoErr(a.Close())                                         // a closes, after CloseWrite too
	is.True(errors.Is(a.Close(), os.ErrClosed))                 // once
	is.True(errors.Is(a.CloseRead(), os.ErrClosed))             // after which nothing works
	is.True(errors.Is(a.SetDeadline(time.Now()), os.ErrClosed)) // not even setting a deadline
	_, err = b.Write([]byte("x"))
	is.True(errors.Is(err, anonpipe.ErrBrokenPipe)) // and b's Writes find a gone
}

func TestConnPipeNilOption(t *testing.T) {
	is := is.New(t)
	defer func() {
		is.Equal(recover(), "pipetest: nil Option") // a nil Option panics
	}()
	pipetest.ConnPipe(nil)
}

// ExampleConnPipe tests a client of a line-based service against a fake
// server at the other end of a Conn.
func ExampleConnPipe() {
	client, server := pipetest.ConnPipe()
	go func() { // the fake server: answers each line in upper case
		defer server.Close()
		lines := bufio.NewScanner(server)
		for lines.Scan() {
			fmt.Fprintln(server, strings.ToUpper(lines.Text()))
		}
	}()

	// The code under test would do this: a request, then its reply.
	fmt.Fprintln(client, "hello")
	client.CloseWrite() // no more requests: the server sees EOF
	reply, err := io.ReadAll(client)
	fmt.Printf("%q %v\n", reply, err)
	// Output: "HELLO\n" <nil>
}
