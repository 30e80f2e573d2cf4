package anonpipe

import (
	"bytes"
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/matryer/is"
	"golang.org/x/sys/unix"
)

// These tests check which copies the kernel does (handled) and which fall
// back to os.File; the exported tests check the bytes either way.

func internalPipe(t *testing.T) (*Reader, *Writer) {
	t.Helper()
	r, w, err := Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(); w.Close() })
	return r, w
}

// filled returns a pipe holding n bytes, its writer closed.
func filled(t *testing.T, n int) *Reader {
	t.Helper()
	r, w := internalPipe(t)
	if _, err := w.Write(make([]byte, n)); err != nil {
		t.Fatal(err)
	}
	w.Close()
	return r
}

// embeddedFile is a user's type around a file, whose methods it may
// override: splice must leave it to its methods.
type embeddedFile struct{ *os.File }

// readerFromSpy and writerToSpy keep what io.Copy hands them: the wrappers
// that os.File's and net.TCPConn's WriteTo and ReadFrom pass to io.Copy
// when they cannot copy in the kernel themselves.
type readerFromSpy struct{ src io.Reader }

func (s *readerFromSpy) Write(p []byte) (int, error)         { return len(p), nil }
func (s *readerFromSpy) ReadFrom(r io.Reader) (int64, error) { s.src = r; return 0, nil }

type writerToSpy struct{ dst io.Writer }

func (s *writerToSpy) Read([]byte) (int, error)           { return 0, io.EOF }
func (s *writerToSpy) WriteTo(w io.Writer) (int64, error) { s.dst = w; return 0, nil }

// sourceWrapper returns the reader that x's WriteTo hands to io.Copy.
func sourceWrapper(t *testing.T, x io.WriterTo) io.Reader {
	t.Helper()
	var spy readerFromSpy
	if _, err := x.WriteTo(&spy); err != nil || spy.src == nil {
		t.Fatalf("WriteTo handed io.Copy no reader: %v", err)
	}
	return spy.src
}

// destinationWrapper returns the writer that x's ReadFrom hands to io.Copy.
func destinationWrapper(t *testing.T, x io.ReaderFrom) io.Writer {
	t.Helper()
	var spy writerToSpy
	if _, err := x.ReadFrom(&spy); err != nil || spy.dst == nil {
		t.Fatalf("ReadFrom handed io.Copy no writer: %v", err)
	}
	return spy.dst
}

func TestSpliceHandlesWriteTo(t *testing.T) {
	const n = 60000 // fits in a default pipe, so no reader is needed
	dir := t.TempDir()
	for _, tc := range []struct {
		name    string
		dst     func(t *testing.T) io.Writer
		handled bool
	}{
		{"pipe", func(t *testing.T) io.Writer { _, w := internalPipe(t); return w }, true},
		{"os pipe", func(t *testing.T) io.Writer {
			_, w, _ := os.Pipe()
			t.Cleanup(func() { w.Close() })
			return w
		}, true},
		{"regular file", func(t *testing.T) io.Writer {
			f, _ := os.Create(filepath.Join(dir, "regular"))
			t.Cleanup(func() { f.Close() })
			return f
		}, true},
		{"os.File.ReadFrom's wrapper", func(t *testing.T) io.Writer {
			f, _ := os.Create(filepath.Join(dir, "wrapped"))
			t.Cleanup(func() { f.Close() })
			return destinationWrapper(t, f)
		}, true},
		{"user's type around a file", func(t *testing.T) io.Writer {
			f, _ := os.Create(filepath.Join(dir, "embedded"))
			t.Cleanup(func() { f.Close() })
			return embeddedFile{f}
		}, false},
		{"/dev/null", func(t *testing.T) io.Writer {
			f, _ := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
			t.Cleanup(func() { f.Close() })
			return f
		}, true},
		{"unix socket", func(t *testing.T) io.Writer { a, _ := socketPair(t); return a }, true},
		{"O_APPEND file", func(t *testing.T) io.Writer {
			f, _ := os.OpenFile(filepath.Join(dir, "append"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
			t.Cleanup(func() { f.Close() })
			return f
		}, false},
		{"blocking os pipe", func(t *testing.T) io.Writer {
			r, w, _ := os.Pipe()
			w.Fd()
			t.Cleanup(func() { r.Close(); w.Close() })
			return w
		}, false},
		{"io.Discard", func(*testing.T) io.Writer { return io.Discard }, true},
		{"bytes.Buffer", func(*testing.T) io.Writer { return new(bytes.Buffer) }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			is := is.New(t)
			r := filled(t, n)
			got, handled, err := r.spliceTo(tc.dst(t))
			if !tc.handled {
				is.True(!handled) // splice leaves this copy to os.File
				return
			}
			is.NoErr(err)           // the copy succeeds
			is.True(handled)        // in the kernel
			is.Equal(got, int64(n)) // with every byte
		})
	}
}

// tcpConns returns both ends of a loopback TCP connection.
func tcpConns(t *testing.T) (*net.TCPConn, *net.TCPConn) {
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

func socketPair(t *testing.T) (net.Conn, net.Conn) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	var cs [2]net.Conn
	for i, fd := range fds {
		f := os.NewFile(uintptr(fd), "socket")
		c, err := net.FileConn(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		cs[i] = c
	}
	return cs[0], cs[1]
}

func TestSpliceHandlesReadFrom(t *testing.T) {
	const n = 60000 // fits in a default pipe, so no reader is needed
	dir := t.TempDir()
	file := func(t *testing.T) *os.File {
		name := filepath.Join(dir, t.Name()[len("TestSpliceHandlesReadFrom/"):])
		if err := os.WriteFile(name, make([]byte, n), 0o600); err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		return f
	}
	for _, tc := range []struct {
		name    string
		src     func(t *testing.T) io.Reader
		handled bool
	}{
		{"pipe", func(t *testing.T) io.Reader { return filled(t, n) }, true},
		{"os pipe", func(t *testing.T) io.Reader {
			r, w, _ := os.Pipe()
			w.Write(make([]byte, n))
			w.Close()
			t.Cleanup(func() { r.Close() })
			return r
		}, true},
		{"regular file", func(t *testing.T) io.Reader { return file(t) }, true},
		{"os.File.WriteTo's wrapper", func(t *testing.T) io.Reader { return sourceWrapper(t, file(t)) }, true},
		{"user's type around a file", func(t *testing.T) io.Reader { return embeddedFile{file(t)} }, false},
		{"TCPConn.WriteTo's wrapper", func(t *testing.T) io.Reader {
			a, b := tcpConns(t)
			a.Write(make([]byte, n))
			a.Close()
			return sourceWrapper(t, b)
		}, true},
		{"limited file", func(t *testing.T) io.Reader { return io.LimitReader(file(t), n) }, true},
		{"limited /dev/zero", func(t *testing.T) io.Reader {
			f, _ := os.Open("/dev/zero")
			t.Cleanup(func() { f.Close() })
			return io.LimitReader(f, n)
		}, true},
		{"unix socket", func(t *testing.T) io.Reader {
			a, b := socketPair(t)
			a.Write(make([]byte, n))
			a.Close()
			return b
		}, true},
		{"blocking os pipe", func(t *testing.T) io.Reader {
			r, w, _ := os.Pipe()
			r.Fd()
			w.Write(make([]byte, n))
			w.Close()
			t.Cleanup(func() { r.Close() })
			return r
		}, false},
		{"limited blocking os pipe", func(t *testing.T) io.Reader {
			r, _, _ := os.Pipe()
			r.Fd()
			t.Cleanup(func() { r.Close() })
			return io.LimitReader(r, n)
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			is := is.New(t)
			_, w := internalPipe(t)
			got, handled, err := w.spliceFrom(tc.src(t))
			if !tc.handled {
				is.True(!handled) // splice leaves this copy to os.File
				return
			}
			is.NoErr(err)           // the copy succeeds
			is.True(handled)        // in the kernel
			is.Equal(got, int64(n)) // with every byte
		})
	}
}

// brokenPipeEnd returns an os pipe's write end whose reader is gone.
func brokenPipeEnd(t *testing.T) *os.File {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	t.Cleanup(func() { w.Close() })
	return w
}

// TestWriteToErrorOnEveryPath checks that Reader.WriteTo into a broken
// peer returns exactly what the peer's Write returns, whether splice takes
// the copy or leaves it to io.Copy.
func TestWriteToErrorOnEveryPath(t *testing.T) {
	for _, tc := range []struct {
		name string
		peer func(t *testing.T) io.Writer // whose reader is gone
		path string                       // "splice" or "io.Copy"
	}{
		{"os pipe", func(t *testing.T) io.Writer { return brokenPipeEnd(t) }, "splice"},
		{"blocking os pipe", func(t *testing.T) io.Writer {
			w := brokenPipeEnd(t)
			w.Fd()
			return w
		}, "io.Copy"},
		{"user's type around an os pipe", func(t *testing.T) io.Writer { return embeddedFile{brokenPipeEnd(t)} }, "io.Copy"},
		{"Writer", func(t *testing.T) io.Writer {
			r, w := internalPipe(t)
			r.Close()
			return w
		}, "splice"},
		{"closed unix socket", func(t *testing.T) io.Writer {
			a, _ := socketPair(t)
			a.Close()
			return a
		}, "io.Copy"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			is := is.New(t)
			peer := tc.peer(t)
			_, handled, _ := filled(t, 100).spliceTo(peer)
			is.Equal(handled, tc.path == "splice") // the path this peer takes
			_, err := filled(t, 100).WriteTo(peer)
			_, want := peer.Write([]byte("x"))
			is.True(want != nil) // the peer's own Write fails
			is.Equal(err, want)  // and the copy returns exactly its error
		})
	}
}

// TestReadFromErrorOnEveryPath checks that Writer.ReadFrom from a failing
// source returns exactly what the source's Read returns, whether splice
// takes the copy or leaves it to io.Copy.
func TestReadFromErrorOnEveryPath(t *testing.T) {
	past := time.Now().Add(-time.Second)
	for _, tc := range []struct {
		name    string
		src     func(t *testing.T) io.Reader // whose Read fails
		spliced bool
	}{
		{"unix socket past its deadline", func(t *testing.T) io.Reader {
			_, b := socketPair(t)
			b.SetReadDeadline(past)
			return b
		}, true},
		{"user's type around a unix socket past its deadline", func(t *testing.T) io.Reader {
			_, b := socketPair(t)
			b.SetReadDeadline(past)
			return struct{ net.Conn }{b}
		}, false},
		{"closed unix socket", func(t *testing.T) io.Reader {
			_, b := socketPair(t)
			b.Close()
			return b
		}, false},
		{"os pipe past its deadline", func(t *testing.T) io.Reader {
			r, w, _ := os.Pipe()
			t.Cleanup(func() { r.Close(); w.Close() })
			r.SetReadDeadline(past)
			return r
		}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			is := is.New(t)
			src := tc.src(t)
			_, w := internalPipe(t)
			_, handled, _ := w.spliceFrom(src)
			is.Equal(handled, tc.spliced) // the path this source takes
			_, err := w.ReadFrom(src)
			_, want := src.Read(make([]byte, 1))
			is.True(want != nil) // the source's own Read fails
			is.Equal(err, want)  // and the copy returns exactly its error
		})
	}
}
