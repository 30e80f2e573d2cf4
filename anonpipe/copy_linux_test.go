package anonpipe_test

import (
	"crypto/sha256"
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/anonpipe/anonpipe/anonpipe"
	"github.com/matryer/is"
	"golang.org/x/sys/unix"
)

// unixSocketPair returns both ends of a connected Unix stream socket.
func unixSocketPair(t *testing.T) (*net.UnixConn, *net.UnixConn) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	conn := func(fd int) *net.UnixConn {
		f := os.NewFile(uintptr(fd), "socket")
		defer f.Close()
		c, err := net.FileConn(f) // a non-blocking duplicate on the poller
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c.(*net.UnixConn)
	}
	return conn(fds[0]), conn(fds[1])
}

// tcpPair returns both ends of a loopback TCP connection.
func tcpPair(t *testing.T) (*net.TCPConn, *net.TCPConn) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := l.Accept()
		accepted <- c
	}()
	a, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	b := <-accepted
	if b == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { a.Close(); b.Close() })
	return a.(*net.TCPConn), b.(*net.TCPConn)
}

func devNull(t *testing.T) *os.File {
	t.Helper()
	f, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// TestCopyPipeToDevNull drains a pipe into /dev/null and into io.Discard,
// which the copy turns into /dev/null.
func TestCopyPipeToDevNull(t *testing.T) {
	for _, dst := range []struct {
		name string
		w    func(t *testing.T) io.Writer
	}{
		{"/dev/null", func(t *testing.T) io.Writer { return devNull(t) }},
		{"io.Discard", func(*testing.T) io.Writer { return io.Discard }},
	} {
		t.Run(dst.name, func(t *testing.T) { testCopyToNull(t, dst.w) })
	}
}

func testCopyToNull(t *testing.T, null func(t *testing.T) io.Writer) {
	is := is.New(t)
	r, w := pipe(t)
	first := randomBytes(50000, 9) // fits in the pipe
	_, err := w.Write(first)
	is.NoErr(err) // filling the pipe
	// The copy ends at the deadline, once it has taken everything there.
	is.NoErr(r.SetReadDeadline(time.Now().Add(50 * time.Millisecond))) // bounding the copy
	n, err := io.Copy(null(t), r)
	is.True(errors.Is(err, os.ErrDeadlineExceeded)) // the copy waited for more until the deadline
	is.Equal(n, int64(len(first)))                  // having sent exactly what was there to /dev/null
	is.NoErr(r.SetReadDeadline(time.Time{}))        // clearing the deadline
	second := randomBytes(40000, 10)
	_, err = w.Write(second)
	is.NoErr(err) // writing more
	got := make([]byte, len(second))
	_, err = io.ReadFull(r, got)
	is.NoErr(err)                                       // reading it back
	is.Equal(sha256.Sum256(got), sha256.Sum256(second)) // the copy took nothing beyond what it counted

	data := randomBytes(4<<20, 11)
	feed(t, w, data)
	n, err = io.Copy(null(t), r)
	is.NoErr(err)                 // a copy to EOF succeeds
	is.Equal(n, int64(len(data))) // and counts every byte
}

func TestCopyThroughSockets(t *testing.T) {
	data := randomBytes(3<<20+99, 12)
	type closeWriter interface {
		net.Conn
		CloseWrite() error
	}
	pairs := map[string]func(t *testing.T) (closeWriter, closeWriter){
		"unix": func(t *testing.T) (closeWriter, closeWriter) { a, b := unixSocketPair(t); return a, b },
		"tcp":  func(t *testing.T) (closeWriter, closeWriter) { a, b := tcpPair(t); return a, b },
	}
	for name, pair := range pairs {
		t.Run("pipe to "+name+" socket", func(t *testing.T) {
			is := is.New(t)
			r, w := pipe(t)
			a, b := pair(t)
			feed(t, w, data)
			done := goCopy(func() (int64, error) { return io.Copy(a, r) }, a.CloseWrite) // Reader.WriteTo
			got, err := io.ReadAll(b)
			is.NoErr(err) // reading the socket
			res := <-done
			is.NoErr(res.err)                                 // the copy succeeds
			is.Equal(res.n, int64(len(data)))                 // and counts every byte
			is.Equal(sha256.Sum256(got), sha256.Sum256(data)) // which arrive exactly
		})
		t.Run(name+" socket to pipe", func(t *testing.T) {
			is := is.New(t)
			r, w := pipe(t)
			a, b := pair(t)
			go func() {
				a.Write(data)
				a.CloseWrite()
			}()
			done := copyAsync(w, b, w) // Writer.ReadFrom, directly or through TCPConn.WriteTo
			got, err := io.ReadAll(r)
			is.NoErr(err) // reading the pipe
			res := <-done
			is.NoErr(res.err)                                 // the copy succeeds
			is.Equal(res.n, int64(len(data)))                 // and counts every byte
			is.Equal(sha256.Sum256(got), sha256.Sum256(data)) // which arrive exactly
		})
	}
	t.Run("CopyN from unix socket", func(t *testing.T) {
		is := is.New(t)
		r, w := pipe(t)
		a, b := unixSocketPair(t)
		go func() {
			a.Write(data)
			a.CloseWrite()
		}()
		const count = 1<<20 + 1
		done := goCopy(func() (int64, error) { return io.CopyN(w, b, count) }, w.Close)
		got, err := io.ReadAll(r)
		is.NoErr(err) // reading the pipe
		res := <-done
		is.NoErr(res.err)                                         // io.CopyN succeeds
		is.Equal(res.n, int64(count))                             // and stops at its limit
		is.Equal(sha256.Sum256(got), sha256.Sum256(data[:count])) // the first bytes, exactly
		rest, err := io.ReadAll(b)
		is.NoErr(err)                                              // reading what the copy left in the socket
		is.Equal(sha256.Sum256(rest), sha256.Sum256(data[count:])) // no byte beyond the limit was taken
	})
}

// stalledCopy is a copy that gets stuck: on our pipe end, or on the peer,
// as named. Its deadline is set on the stuck side, so the copy ends there
// with os.ErrDeadlineExceeded. ourEnd is our pipe end, to test Close.
type stalledCopy struct {
	name string
	ours bool // the copy waits on our end
	// start prepares the copy, then run starts it with the deadline.
	start func(t *testing.T) (run func(deadline time.Time) <-chan copyResult, ourEnd io.Closer)
}

// fill writes data to w in another goroutine until it fails, which it does
// once the test closes w: it keeps the source of a copy from ever running
// dry.
func fill(w io.Writer) {
	go func() {
		b := make([]byte, 64<<10)
		for {
			if _, err := w.Write(b); err != nil {
				return
			}
		}
	}()
}

var stalledCopies = []stalledCopy{
	{"our pipe full, file to Writer", true, func(t *testing.T) (func(time.Time) <-chan copyResult, io.Closer) {
		f := fileWith(t, make([]byte, 4<<20))
		_, w := pipe(t)
		return func(deadline time.Time) <-chan copyResult {
			w.SetWriteDeadline(deadline)
			return copyAsync(w, f, nil)
		}, w
	}},
	{"our pipe empty, Reader to /dev/null", true, func(t *testing.T) (func(time.Time) <-chan copyResult, io.Closer) {
		r, _ := pipe(t)
		null := devNull(t)
		return func(deadline time.Time) <-chan copyResult {
			r.SetReadDeadline(deadline)
			return copyAsync(null, r, nil)
		}, r
	}},
	{"our pipe empty, Reader to os pipe", true, func(t *testing.T) (func(time.Time) <-chan copyResult, io.Closer) {
		r, _ := pipe(t)
		pr, pw, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { pr.Close(); pw.Close() })
		return func(deadline time.Time) <-chan copyResult {
			r.SetReadDeadline(deadline)
			return copyAsync(pw, r, nil)
		}, r
	}},
	{"peer pipe full, Reader to os pipe", false, func(t *testing.T) (func(time.Time) <-chan copyResult, io.Closer) {
		r, w := pipe(t)
		pr, pw, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { pr.Close(); pw.Close() })
		fill(w)
		return func(deadline time.Time) <-chan copyResult {
			pw.SetWriteDeadline(deadline)
			return copyAsync(pw, r, nil)
		}, nil
	}},
	{"peer pipe empty, os pipe to Writer", false, func(t *testing.T) (func(time.Time) <-chan copyResult, io.Closer) {
		_, w := pipe(t)
		pr, pw, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { pr.Close(); pw.Close() })
		return func(deadline time.Time) <-chan copyResult {
			pr.SetReadDeadline(deadline)
			return copyAsync(w, pr, nil)
		}, nil
	}},
	{"peer socket full, Reader to unix socket", false, func(t *testing.T) (func(time.Time) <-chan copyResult, io.Closer) {
		r, w := pipe(t)
		a, _ := unixSocketPair(t)
		fill(w)
		return func(deadline time.Time) <-chan copyResult {
			a.SetWriteDeadline(deadline)
			return copyAsync(a, r, nil)
		}, nil
	}},
	{"our pipe full, unix socket to Writer (golang/go#75304)", true, func(t *testing.T) (func(time.Time) <-chan copyResult, io.Closer) {
		_, w := pipe(t)
		a, b := unixSocketPair(t)
		fill(a)
		return func(deadline time.Time) <-chan copyResult {
			w.SetWriteDeadline(deadline)
			return copyAsync(w, b, nil)
		}, w
	}},
	{"peer socket empty, unix socket to Writer", false, func(t *testing.T) (func(time.Time) <-chan copyResult, io.Closer) {
		_, w := pipe(t)
		_, b := unixSocketPair(t)
		return func(deadline time.Time) <-chan copyResult {
			b.SetReadDeadline(deadline)
			return copyAsync(w, b, nil)
		}, nil
	}},
}

// cpuTime is the processor time this process has used.
func cpuTime(t *testing.T) time.Duration {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestStalledCopyParks checks that a copy waiting on either side sleeps
// rather than spins (golang/go#75304), and that the deadline of the side it
// waits on ends it.
func TestStalledCopyParks(t *testing.T) {
	for _, sc := range stalledCopies {
		t.Run(sc.name, func(t *testing.T) {
			is := is.New(t)
			const wait = 200 * time.Millisecond
			run, _ := sc.start(t)
			cpu0, wall0 := cpuTime(t), time.Now()
			done := run(wall0.Add(wait))
			var res copyResult
			select {
			case res = <-done:
			case <-time.After(10 * time.Second):
				// Only a copy that never waits on the stalled side misses
				// its deadline.
				t.Fatalf("the copy ignored the deadline; it used %v of CPU in %v", cpuTime(t)-cpu0, time.Since(wall0))
			}
			cpu, wall := cpuTime(t)-cpu0, time.Since(wall0)
			is.True(errors.Is(res.err, os.ErrDeadlineExceeded)) // the stalled side's deadline ends the copy
			is.True(wall >= wait)                               // not before it is due
			t.Logf("%v of CPU in %v", cpu, wall)
			is.True(cpu < wall/2) // the stalled copy slept instead of spinning
		})
	}
}

// TestCloseUnblocksStalledCopy closes our end while a copy waits on it.
func TestCloseUnblocksStalledCopy(t *testing.T) {
	for _, sc := range stalledCopies {
		t.Run(sc.name, func(t *testing.T) {
			is := is.New(t)
			if !sc.ours {
				t.Skip("the copy waits on the peer, whose own Close applies")
			}
			run, ours := sc.start(t)
			done := run(time.Time{})
			is.NoErr(ours.Close())                         // closing our end while the copy may be waiting on it
			is.True(errors.Is((<-done).err, os.ErrClosed)) // the copy returns os.ErrClosed
		})
	}
}

// TestDeadlineKeepsCopiedBytes checks that a copy cut short by a deadline
// counts exactly what it put in the pipe.
func TestDeadlineKeepsCopiedBytes(t *testing.T) {
	is := is.New(t)
	data := randomBytes(1<<20, 13)
	f := fileWith(t, data)
	r, w := pipe(t)
	is.NoErr(w.SetWriteDeadline(time.Now().Add(30 * time.Millisecond))) // nobody reads meanwhile
	n, err := io.Copy(w, f)
	is.True(errors.Is(err, os.ErrDeadlineExceeded)) // the copy stops at the deadline
	is.True(n > 0 && n < int64(len(data)))          // after filling the pipe
	is.NoErr(w.Close())                             // ending the pipe
	got, err := io.ReadAll(r)
	is.NoErr(err)                                         // reading what was copied
	is.Equal(sha256.Sum256(got), sha256.Sum256(data[:n])) // exactly the n bytes counted
	pos, err := f.Seek(0, io.SeekCurrent)
	is.NoErr(err)    // asking the file position
	is.Equal(pos, n) // the file position moved by what was copied
}

// TestCopyFromBlockingPipe copies from an os pipe whose descriptor was put in
// blocking mode: the copy cannot wait on it through the poller, so it takes
// os.File's path, and still delivers every byte.
func TestCopyFromBlockingPipe(t *testing.T) {
	is := is.New(t)
	data := randomBytes(1<<20+3, 14)
	pr, pw, err := os.Pipe()
	is.NoErr(err) // making the os pipe
	defer pr.Close()
	pr.Fd() // blocking mode, off the poller
	feed(t, pw, data)
	r, w := pipe(t)
	done := copyAsync(w, pr, w)
	got, err := io.ReadAll(r)
	is.NoErr(err) // reading the pipe
	res := <-done
	is.NoErr(res.err)                                 // the copy succeeds
	is.Equal(sha256.Sum256(got), sha256.Sum256(data)) // with every byte
}

// TestCopyIntoBrokenPipe checks that a zero-copy write into a pipe with no
// reader reports ErrBrokenPipe.
func TestCopyIntoBrokenPipe(t *testing.T) {
	is := is.New(t)
	f := fileWith(t, make([]byte, 1<<20))
	r, w := pipe(t)
	is.NoErr(r.Close()) // no reader left
	_, err := io.Copy(w, f)
	is.True(errors.Is(err, anonpipe.ErrBrokenPipe)) // ReadFrom reports the broken pipe
	var pe *os.PathError
	is.True(errors.As(err, &pe))       // as a PathError
	is.Equal(pe.Op, "write")           // of a write
	is.Equal(pe.Path, w.File().Name()) // to the pipe, the side that broke
	r2, w2 := pipe(t)
	_, err = w2.Write(make([]byte, 60000))
	is.NoErr(err) // something to copy
	r3, w3 := pipe(t)
	is.NoErr(r3.Close()) // the destination's reader is gone
	_, err = io.Copy(w3, r2)
	is.True(errors.Is(err, anonpipe.ErrBrokenPipe)) // WriteTo reports the broken pipe
	is.True(errors.As(err, &pe))                    // as a PathError
	is.Equal(pe.Op, "write")                        // of a write
	is.Equal(pe.Path, w3.File().Name())             // to the destination, the side that broke, not the pipe read from

	r4, w4 := pipe(t)
	_, err = w4.Write(make([]byte, 60000))
	is.NoErr(err) // something to copy
	pr, pw, err := os.Pipe()
	is.NoErr(err)        // an os pipe as the destination
	is.NoErr(pr.Close()) // whose reader is gone
	defer pw.Close()
	_, err = io.Copy(pw, r4)
	is.True(errors.Is(err, syscall.EPIPE)) // WriteTo reports the broken pipe
	is.True(errors.As(err, &pe))           // as a PathError
	is.Equal(pe.Op, "write")               // of a write
	is.Equal(pe.Path, pw.Name())           // to the os pipe, as os.File's own copy would
}

// TestCopyHonoursExpiredDeadlines checks that a deadline in the past on
// either side stops a copy at once, even with bytes ready to move, as it
// stops a Read or Write.
func TestCopyHonoursExpiredDeadlines(t *testing.T) {
	past := time.Now().Add(-time.Second)
	t.Run("ours, Reader.WriteTo", func(t *testing.T) {
		is := is.New(t)
		r, w := pipe(t)
		_, err := w.Write([]byte("ready"))
		is.NoErr(err)                     // bytes are ready
		is.NoErr(r.SetReadDeadline(past)) // but the deadline has passed
		n, err := io.Copy(devNull(t), r)
		is.True(errors.Is(err, os.ErrDeadlineExceeded)) // the copy fails at once
		is.Equal(n, int64(0))                           // having moved nothing
	})
	t.Run("peer, Reader.WriteTo", func(t *testing.T) {
		is := is.New(t)
		r, w := pipe(t)
		_, err := w.Write([]byte("ready"))
		is.NoErr(err) // bytes are ready
		pr, pw, err := os.Pipe()
		is.NoErr(err) // making the destination
		defer pr.Close()
		defer pw.Close()
		is.NoErr(pw.SetWriteDeadline(past)) // the destination's deadline has passed
		n, err := io.Copy(pw, r)
		is.True(errors.Is(err, os.ErrDeadlineExceeded)) // the copy fails at once
		is.Equal(n, int64(0))                           // having moved nothing
	})
	t.Run("peer, Writer.ReadFrom", func(t *testing.T) {
		is := is.New(t)
		_, w := pipe(t)
		a, b := unixSocketPair(t)
		_, err := a.Write([]byte("ready"))
		is.NoErr(err)                     // bytes are ready
		is.NoErr(b.SetReadDeadline(past)) // the source's deadline has passed
		n, err := io.Copy(w, b)
		is.True(errors.Is(err, os.ErrDeadlineExceeded)) // the copy fails at once
		is.Equal(n, int64(0))                           // having moved nothing
	})
}

// TestCopyErrorsOfThePeerAreItsOwnOnLinux checks the exact errors splice
// failures become, by the side that failed.
func TestCopyErrorsOfThePeerAreItsOwnOnLinux(t *testing.T) {
	for _, blocking := range []bool{false, true} {
		name := "WriteTo a broken os pipe (splice)"
		if blocking {
			name = "WriteTo a broken blocking os pipe (io.Copy)"
		}
		t.Run(name, func(t *testing.T) {
			is := is.New(t)
			r, w := pipe(t)
			_, err := w.Write(make([]byte, 60000))
			is.NoErr(err) // something to copy
			pw := brokenOSPipe(t)
			if blocking {
				pw.Fd() // off the poller: splice leaves it to io.Copy
			}
			_, err = io.Copy(pw, r)
			pe, ok := err.(*os.PathError)
			is.True(ok)                                      // a bare *os.PathError, as os.File.Write returns
			is.Equal(pe.Op, "write")                         // of a write
			is.Equal(pe.Path, pw.Name())                     // to the os pipe
			is.Equal(pe.Err, syscall.EPIPE)                  // failing with the errno itself
			is.True(!errors.Is(err, anonpipe.ErrBrokenPipe)) // not our broken pipe
		})
	}
	t.Run("WriteTo a unix socket whose peer is gone", func(t *testing.T) {
		is := is.New(t)
		r, w := pipe(t)
		_, err := w.Write(make([]byte, 60000))
		is.NoErr(err) // something to copy
		a, b := unixSocketPair(t)
		is.NoErr(b.Close()) // nobody left to read
		_, err = io.Copy(a, r)
		is.True(errors.Is(err, syscall.EPIPE)) // the socket is broken
		_, want := a.Write([]byte("x"))
		is.Equal(err, want) // and the copy says so exactly as its Write does
	})
	t.Run("ReadFrom a unix socket reset by its peer", func(t *testing.T) {
		is := is.New(t)
		// reset returns a socket whose peer closed with bytes unread.
		reset := func() *net.UnixConn {
			a, b := unixSocketPair(t)
			_, err := b.Write([]byte("never read"))
			is.NoErr(err)       // bytes for the peer
			is.NoErr(a.Close()) // which it closes unread: a reset
			return b
		}
		_, want := reset().Read(make([]byte, 10))
		is.True(errors.Is(want, syscall.ECONNRESET)) // a Read on such a socket fails
		r, w := pipe(t)
		defer r.Close()
		_, err := io.Copy(w, reset())
		is.Equal(err, want) // and so does the copy, with the same error
	})
	t.Run("ReadFrom a file into a broken pipe", func(t *testing.T) {
		is := is.New(t)
		f := fileWith(t, make([]byte, 1<<20))
		r, w := pipe(t)
		is.NoErr(r.Close()) // no reader left
		_, err := io.Copy(w, f)
		is.True(errors.Is(err, anonpipe.ErrBrokenPipe)) // our pipe broke
		_, want := w.Write([]byte("x"))
		is.Equal(err, want) // exactly what its Write returns
	})
}
