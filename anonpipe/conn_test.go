package anonpipe_test

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/anonpipe/anonpipe/anonpipe"
	"github.com/matryer/is"
)

// addConnChildren adds the children of the Conn tests and benchmarks.
func addConnChildren(m map[string]func([]string) int) {
	m["conn-echo"] = childConnEcho
	m["conn-addr"] = childConnAddr
	addConnReliabilityChildren(m)
	addConnBenchChildren(m)
}

// makeConnPipe makes a connected pair of real Conns in this process. The
// conformance suite, pipetest.TestConn, runs on ConnPipe's Conns and on
// Conns opened in a child in pipetest's own tests (connsuite_test.go).
func makeConnPipe() (c1, c2 net.Conn, stop func(), err error) {
	a, b, err := anonpipe.ConnPipe()
	if err != nil {
		return nil, nil, nil, err
	}
	return a, b, func() { a.Close(); b.Close() }, nil
}

// connPipe returns ConnPipe's Conns, closed when the test ends.
func connPipe(t *testing.T) (a, b *anonpipe.Conn) {
	t.Helper()
	c1, c2, stop, err := makeConnPipe()
	if err != nil {
		t.Fatalf("ConnPipe: %v", err)
	}
	t.Cleanup(stop)
	return c1.(*anonpipe.Conn), c2.(*anonpipe.Conn)
}

// childConnEcho copies what it reads from the Conn args[0] back into it
// (with io.Copy, so through WriteTo), then closes its writing half.
func childConnEcho(args []string) int {
	c, err := anonpipe.OpenConn(args[0])
	if err != nil {
		return fail("%v", err)
	}
	if _, err := io.Copy(c, c); err != nil {
		return fail("copy: %v", err)
	}
	if err := c.CloseWrite(); err != nil {
		return fail("close write: %v", err)
	}
	return 0
}

// childConnAddr prints the addresses of the Conn args[0].
func childConnAddr(args []string) int {
	c, err := anonpipe.OpenConn(args[0])
	if err != nil {
		return fail("%v", err)
	}
	defer c.Close()
	la, ra := c.LocalAddr(), c.RemoteAddr()
	os.Stdout.WriteString(la.Network() + " " + la.String() + " " + ra.Network() + " " + ra.String() + "\n")
	return 0
}

// exchange writes out on w while it reads r to EOF, and returns what it
// read: both directions at once, so that more than a pipe holds can move.
func exchange(w interface {
	io.Writer
	CloseWrite() error
}, out []byte, r io.Reader) ([]byte, error) {
	wrote := make(chan error, 1)
	go func() {
		_, err := w.Write(out)
		wrote <- errors.Join(err, w.CloseWrite())
	}()
	in, err := io.ReadAll(r)
	return in, errors.Join(err, <-wrote)
}

func TestConnPipeCarriesBothWaysAtOnce(t *testing.T) {
	is := is.New(t)
	a, b := connPipe(t)
	toB, toA := make([]byte, 1<<20), make([]byte, 1<<20)
	rand.Read(toB)
	rand.Read(toA)
	type got struct {
		b   []byte
		err error
	}
	atB := make(chan got, 1)
	go func() {
		in, err := exchange(b, toA, b)
		atB <- got{in, err}
	}()
	in, err := exchange(a, toB, a)
	is.NoErr(err)                 // a writes and reads to EOF
	is.True(bytes.Equal(in, toA)) // a got what b wrote
	gb := await(t, atB, hangLimit, "b's exchange")
	is.NoErr(gb.err)                // b writes and reads to EOF
	is.True(bytes.Equal(gb.b, toB)) // b got what a wrote
}

func TestConnAddr(t *testing.T) {
	is := is.New(t)
	a, b := connPipe(t)
	for _, ad := range []net.Addr{a.LocalAddr(), a.RemoteAddr(), b.LocalAddr(), b.RemoteAddr()} {
		is.Equal(ad.Network(), "anonpipe") // the network is anonpipe
		is.Equal(ad.String(), "pipe")      // an in-process Conn is "pipe"
	}

	c := child(t, "conn-addr")
	conn, h, err := c.Conn()
	is.NoErr(err) // attaching the Conn
	c.Args = append(c.Args, h)
	var out bytes.Buffer
	c.Stdout = &out
	is.NoErr(c.Start())                                       // starting the child
	is.NoErr(c.Wait())                                        // the child printed its addresses
	is.Equal(conn.LocalAddr().Network(), "anonpipe")          // the parent's network is anonpipe
	is.Equal(conn.LocalAddr().String(), h)                    // and its address the handle string
	is.Equal(conn.RemoteAddr().String(), h)                   // on both ends
	is.Equal(out.String(), "anonpipe "+h+" anonpipe "+h+"\n") // the child's addresses are the same
}

func TestConnCloseWrite(t *testing.T) {
	is := is.New(t)
	a, b := connPipe(t)
	_, err := a.Write([]byte("last"))
	is.NoErr(err)            // writing before CloseWrite
	is.NoErr(a.CloseWrite()) // closing a's writing half
	got, err := io.ReadAll(b)
	is.NoErr(err)                 // b reads to EOF
	is.Equal(string(got), "last") // after the bytes written before
	_, err = b.Write([]byte("reply"))
	is.NoErr(err) // b can still write to a
	buf := make([]byte, 5)
	_, err = io.ReadFull(a, buf)
	is.NoErr(err)                  // a can still read
	is.Equal(string(buf), "reply") // what b wrote
	_, err = a.Write([]byte("x"))
	is.True(errors.Is(err, os.ErrClosed))  // a's writes fail after CloseWrite
	is.True(errors.Is(err, net.ErrClosed)) // as a net.Conn's do
	err = a.CloseWrite()
	is.True(errors.Is(err, os.ErrClosed)) // CloseWrite again is os.ErrClosed
}

func TestConnCloseRead(t *testing.T) {
	is := is.New(t)
	a, b := connPipe(t)
	is.NoErr(a.CloseRead()) // closing a's reading half
	_, err := b.Write([]byte("x"))
	is.True(errors.Is(err, anonpipe.ErrBrokenPipe)) // b's writes find no reader
	_, err = a.Write([]byte("still"))
	is.NoErr(err) // a can still write
	buf := make([]byte, 5)
	_, err = io.ReadFull(b, buf)
	is.NoErr(err)                  // b can still read
	is.Equal(string(buf), "still") // what a wrote
	_, err = a.Read(buf)
	is.True(errors.Is(err, os.ErrClosed)) // a's reads fail after CloseRead
	err = a.CloseRead()
	is.True(errors.Is(err, os.ErrClosed)) // CloseRead again is os.ErrClosed
}

func TestConnClose(t *testing.T) {
	is := is.New(t)
	a, b := connPipe(t)
	_, err := a.Write([]byte("bye"))
	is.NoErr(err)       // writing before Close
	is.NoErr(a.Close()) // the first Close
	err = a.Close()
	is.True(errors.Is(err, os.ErrClosed))  // a second Close is os.ErrClosed
	is.True(errors.Is(err, net.ErrClosed)) // and net.ErrClosed
	for _, op := range []struct {
		name string
		err  error
	}{
		{"Read", func() error { _, err := a.Read(make([]byte, 1)); return err }()},
		{"Write", func() error { _, err := a.Write([]byte("x")); return err }()},
		{"zero-length Read", func() error { _, err := a.Read(nil); return err }()},
		{"SetDeadline", a.SetDeadline(time.Time{})},
	} {
		is.True(errors.Is(op.err, os.ErrClosed))  // every method of a closed Conn fails with os.ErrClosed
		is.True(errors.Is(op.err, net.ErrClosed)) // and net.ErrClosed
		_, isNetError := op.err.(net.Error)
		is.True(isNetError) // itself a net.Error, as a net.Conn's errors are
	}
	got, err := io.ReadAll(b)
	is.NoErr(err)                // the peer reads to EOF
	is.Equal(string(got), "bye") // after what a wrote
	_, err = b.Write([]byte("x"))
	is.True(errors.Is(err, anonpipe.ErrBrokenPipe)) // and its writes find no reader

	c, _ := connPipe(t)
	is.NoErr(c.CloseRead())  // both halves closed one by one
	is.NoErr(c.CloseWrite()) // ...
	is.NoErr(c.Close())      // then Close returns nil the first time
	err = c.Close()
	is.True(errors.Is(err, os.ErrClosed)) // and os.ErrClosed the second
}

func TestConnCloseEndsPendingCalls(t *testing.T) {
	is := is.New(t)
	a, _ := connPipe(t)
	read := make(chan error, 1)
	go func() {
		_, err := a.Read(make([]byte, 1)) // nothing will come
		read <- err
	}()
	wrote := make(chan error, 1)
	go func() {
		_, err := a.Write(make([]byte, 8<<20)) // more than the pipe holds, and nobody reads
		wrote <- err
	}()
	is.NoErr(a.Close())                                                                        // closing under them
	is.True(errors.Is(await(t, read, hangLimit, "the Read pending at Close"), os.ErrClosed))   // the pending Read ends with os.ErrClosed
	is.True(errors.Is(await(t, wrote, hangLimit, "the Write pending at Close"), os.ErrClosed)) // the pending Write too
}

func TestConnDeadlines(t *testing.T) {
	is := is.New(t)
	a, b := connPipe(t)
	err := a.SetDeadline(time.Now().Add(-time.Second))
	if errors.Is(err, os.ErrNoDeadline) {
		t.Skip("the ends have no deadlines on this system:", err)
	}
	is.NoErr(err) // setting both deadlines in the past
	_, err = b.Write([]byte("ready"))
	is.NoErr(err) // data is ready for a
	_, err = a.Read(make([]byte, 5))
	is.True(errors.Is(err, os.ErrDeadlineExceeded)) // a past read deadline fails even with data ready
	ne, isNetError := err.(net.Error)
	is.True(isNetError)   // itself a net.Error, as code written for a net.Conn expects
	is.True(ne.Timeout()) // that is a timeout
	_, err = a.Write([]byte("x"))
	is.True(errors.Is(err, os.ErrDeadlineExceeded)) // SetDeadline set the write deadline too

	is.NoErr(a.SetDeadline(time.Time{})) // clearing both
	buf := make([]byte, 5)
	_, err = io.ReadFull(a, buf)
	is.NoErr(err)                  // reads work again
	is.Equal(string(buf), "ready") // nothing was lost
	_, err = a.Write([]byte("x"))
	is.NoErr(err) // writes too

	is.NoErr(a.SetReadDeadline(time.Now().Add(20 * time.Millisecond))) // a read deadline alone, soon
	_, err = a.Read(buf)
	is.True(errors.Is(err, os.ErrDeadlineExceeded)) // it ends a Read that waits
	_, err = a.Write([]byte("x"))
	is.NoErr(err) // and leaves writes alone
}

func TestConnOptions(t *testing.T) {
	is := is.New(t)
	a, b, err := anonpipe.ConnPipe(anonpipe.WithBufferSize(1<<20), anonpipe.WithBusyPoll(50*time.Microsecond))
	is.NoErr(err) // ConnPipe takes both options
	defer a.Close()
	defer b.Close()
	_, err = a.Write([]byte("x"))
	is.NoErr(err) // a writes
	_, err = io.ReadFull(b, make([]byte, 1))
	is.NoErr(err) // b, busy-polling, reads

	_, _, err = anonpipe.ConnPipe(nil)
	is.True(err != nil) // a nil Option is refused
	_, err = anonpipe.OpenConn("3,4", anonpipe.WithBufferSize(4096))
	is.True(err != nil)                                              // OpenConn makes no pipe, so takes no buffer size
	is.True(strings.Contains(err.Error(), "WithBufferSize applies")) // and says so
	_, err = anonpipe.OpenConn("3,4", anonpipe.WithBusyPoll(0))
	is.True(err != nil)                                 // an invalid option is refused before the handles are looked at
	is.True(!errors.Is(err, anonpipe.ErrInvalidHandle)) // ...

	c := child(t, "exit")
	_, _, err = c.Conn(anonpipe.WithBusyPoll(50*time.Microsecond), anonpipe.WithBufferSize(1<<20))
	is.NoErr(err) // Cmd.Conn takes both options
	_, _, err = c.Conn(anonpipe.WithBusyPoll(-1))
	is.True(err != nil) // and refuses an invalid one
}

func TestOpenConnRefusesMalformedHandles(t *testing.T) {
	for _, tc := range []struct{ handle, reason string }{
		{"", "not two handles separated by a comma"},
		{"3", "not two handles separated by a comma"},
		{"3;4", "not two handles separated by a comma"},
		{"3,4,5", "more than two handles"},
		{"3,", `the write handle "": empty string`},
		{",4", `the read handle "": empty string`},
		{" 3,4", `the read handle " 3": not a decimal number`},
		{"3, 4", `the write handle " 4": not a decimal number`},
		{"03,4", `the read handle "03": leading zero`},
		{"3,99999999999999999999999", `the write handle "99999999999999999999999": out of range`},
	} {
		t.Run(tc.handle, func(t *testing.T) {
			is := is.New(t)
			_, err := anonpipe.OpenConn(tc.handle)
			is.True(errors.Is(err, anonpipe.ErrInvalidHandle))               // a malformed handle string is ErrInvalidHandle
			is.True(strings.Contains(err.Error(), strconv.Quote(tc.handle))) // the error quotes the whole handle string
			is.True(strings.Contains(err.Error(), tc.reason))                // and gives the reason
			is.Equal(strings.Count(err.Error(), "invalid handle"), 1)        // once
		})
	}
}

func TestCmdConnEchoChild(t *testing.T) {
	is := is.New(t)
	c := child(t, "conn-echo")
	conn, h, err := c.Conn()
	is.NoErr(err) // attaching the Conn
	rh, wh, ok := strings.Cut(h, ",")
	is.True(ok)                                // the handle string is two handles
	is.True(rh != wh)                          // that differ
	is.True(!strings.ContainsAny(rh+wh, ", ")) // and are plain numbers
	c.Args = append(c.Args, h)
	is.NoErr(c.Start()) // starting the echo
	out := make([]byte, 1<<20)
	rand.Read(out)
	in, err := exchange(conn, out, conn)
	is.NoErr(err)                 // writing everything while reading the echo to EOF
	is.True(bytes.Equal(in, out)) // every byte came back
	is.NoErr(c.Wait())            // the child exits after its CloseWrite
	_, err = conn.Read(make([]byte, 1))
	is.True(errors.Is(err, os.ErrClosed)) // Wait closed the parent's Conn
}

func TestCmdConnStartClosesChildEnds(t *testing.T) {
	is := is.New(t)
	c := child(t, "exit") // never opens its Conn
	conn, h, err := c.Conn()
	is.NoErr(err) // attaching the Conn
	c.Args = append(c.Args, h)
	is.NoErr(c.Start()) // starting the child, which exits at once
	read := make(chan error, 1)
	go func() {
		_, err := conn.Read(make([]byte, 1))
		read <- err
	}()
	is.Equal(await(t, read, hangLimit, "Read from a child that exited"), io.EOF) // EOF: the parent holds no copy of the child's write end
	wrote := make(chan error, 1)
	go func() {
		_, err := conn.Write(make([]byte, 1<<20))
		wrote <- err
	}()
	is.True(errors.Is(await(t, wrote, hangLimit, "Write to a child that exited"), anonpipe.ErrBrokenPipe)) // ErrBrokenPipe: nor of its read end
	is.NoErr(c.Wait())                                                                                     // the child exited cleanly
}

func TestCmdConnClose(t *testing.T) {
	is := is.New(t)
	c := child(t, "exit")
	conn, _, err := c.Conn()
	is.NoErr(err)       // attaching the Conn
	is.NoErr(c.Close()) // Close before Start
	_, err = conn.Write([]byte("x"))
	is.True(errors.Is(err, os.ErrClosed)) // Close closed the parent's Conn
	is.True(c.Start() != nil)             // and Start fails after it
	_, _, err = c.Conn()
	is.True(err != nil) // as does another Conn
}

func TestConnReadWriteDoNotAllocate(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []anonpipe.Option
	}{
		{"default", nil},
		{"WithBusyPoll", []anonpipe.Option{anonpipe.WithBusyPoll(time.Microsecond)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			is := is.New(t)
			a, b, err := anonpipe.ConnPipe(tc.opts...)
			is.NoErr(err) // making the Conns
			defer a.Close()
			defer b.Close()
			checkNoAllocs(t, a, b)
		})
	}
}
