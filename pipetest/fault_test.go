package pipetest_test

import (
	"context"
	"errors"
	"io"
	"os"
	"testing"
	"time"

	"github.com/anonpipe/anonpipe/anonpipe"
	"github.com/anonpipe/anonpipe/pipetest"
	"github.com/matryer/is"
)

// readSizes reads r to EOF with a buffer of size bytes and returns what it
// read and the size of each Read.
func readSizes(t *testing.T, r io.Reader, size int) (string, []int) {
	t.Helper()
	var got []byte
	var sizes []int
	buf := make([]byte, size)
	for {
		n, err := r.Read(buf)
		if err == io.EOF {
			return string(got), sizes
		}
		if err != nil {
			t.Fatalf("Read after %d bytes: %v", len(got), err)
		}
		got = append(got, buf[:n]...)
		sizes = append(sizes, n)
	}
}

// writeAndClose writes s to w and closes it.
func writeAndClose(t *testing.T, w io.WriteCloser, s string) {
	t.Helper()
	is := is.New(t)
	_, err := io.WriteString(w, s)
	is.NoErr(err) // writing
	is.NoErr(w.Close())
}

func TestReadLimit(t *testing.T) {
	is := is.New(t)
	r, w := fake(t, pipetest.WithReadLimit(3))
	writeAndClose(t, w, "0123456789")
	got, sizes := readSizes(t, r, 100)
	is.Equal(got, "0123456789")        // every byte arrives
	is.Equal(sizes, []int{3, 3, 3, 1}) // in Reads of at most 3 bytes

	r, w = fake(t, pipetest.WithReadLimit(3))
	writeAndClose(t, w, "0123456789")
	var chunks []int
	n, err := r.WriteTo(writerFunc(func(p []byte) (int, error) {
		chunks = append(chunks, len(p))
		return len(p), nil
	}))
	is.NoErr(err)
	is.Equal(n, int64(10))
	is.Equal(chunks, []int{3, 3, 3, 1}) // WriteTo's reads are limited too
}

func TestReadRandom(t *testing.T) {
	is := is.New(t)
	data := string(make([]byte, 10000))
	var runs [][]int
	for range 2 {
		r, w := fake(t, pipetest.WithReadRandom(42))
		writeAndClose(t, w, data)
		got, sizes := readSizes(t, r, 1000)
		is.Equal(got, data) // every byte arrives
		for _, n := range sizes {
			is.True(n >= 1 && n <= 1000) // each Read returns from 1 byte to what it asked for
		}
		runs = append(runs, sizes)
	}
	is.Equal(runs[0], runs[1]) // the same seed gives the same sizes
	is.True(len(runs[0]) > 10) // which are not all full

	r, w := fake(t, pipetest.WithReadRandom(7), pipetest.WithReadLimit(5))
	writeAndClose(t, w, data)
	_, sizes := readSizes(t, r, 1000)
	for _, n := range sizes {
		is.True(n >= 1 && n <= 5) // with a limit, random sizes stay within it
	}
}

func TestReadError(t *testing.T) {
	is := is.New(t)
	errIO := errors.New("input/output error")
	r, w := fake(t, pipetest.WithReadError(5, errIO))
	_, err := w.Write([]byte("0123456789"))
	is.NoErr(err)
	buf := make([]byte, 100)
	n, err := r.Read(buf)
	is.NoErr(err)
	is.Equal(string(buf[:n]), "01234") // the Read that reaches the error returns the bytes before it
	for range 2 {
		n, err = r.Read(buf)
		is.Equal(n, 0)
		is.Equal(err, errIO) // then every Read fails with the error
	}
	_, err = w.Write([]byte("more"))
	is.NoErr(err)       // the reader is still there: writes go on
	is.NoErr(r.Close()) // and Close works
	_, err = r.Read(buf)
	is.True(errors.Is(err, os.ErrClosed)) // after which Read reports the closed end

	r, _ = fake(t, pipetest.WithReadError(0, errIO))
	_, err = r.Read(buf)
	is.Equal(err, errIO) // at 0, the first Read fails
}

func TestWriteError(t *testing.T) {
	is := is.New(t)
	errIO := errors.New("input/output error")
	r, w := fake(t, pipetest.WithWriteError(5, errIO))
	n, err := w.Write([]byte("0123456789"))
	is.Equal(n, 5)       // the Write that reaches the error writes the bytes before it
	is.Equal(err, errIO) // and returns the error
	n, err = w.Write([]byte("x"))
	is.Equal(n, 0)
	is.Equal(err, errIO) // as does every later Write
	m, err := w.ReadFrom(&errReader{[]byte("x"), io.EOF})
	is.Equal(m, int64(0))
	is.Equal(err, errIO) // and ReadFrom
	is.NoErr(w.Close())
	_, err = w.Write([]byte("x"))
	is.True(errors.Is(err, os.ErrClosed)) // until Close, after which Writes report the closed end
	got, err := io.ReadAll(r)
	is.NoErr(err)
	is.Equal(string(got), "01234") // the reader gets the bytes before the error, then EOF
}

func TestReadHang(t *testing.T) {
	is := is.New(t)
	r, w := fake(t, pipetest.WithReadHang(3))
	_, err := w.Write([]byte("0123456789"))
	is.NoErr(err)
	buf := make([]byte, 100)
	n, err := r.Read(buf)
	is.NoErr(err)
	is.Equal(string(buf[:n]), "012") // the reader reads 3 bytes

	is.NoErr(w.Close())
	is.NoErr(r.SetReadDeadline(time.Now().Add(20 * time.Millisecond)))
	n, err = r.Read(buf)
	is.Equal(n, 0)                                  // then reads nothing, though bytes are ready and the writer closed
	is.True(errors.Is(err, os.ErrDeadlineExceeded)) // until its deadline
	is.NoErr(r.SetReadDeadline(time.Time{}))

	done := make(chan error, 1)
	go func() {
		_, err := r.Read(buf)
		done <- err
	}()
	is.NoErr(r.Close())
	is.True(errors.Is(<-done, os.ErrClosed)) // or until it is closed
}

func TestReadHangFillsPipe(t *testing.T) {
	is := is.New(t)
	r, w := fake(t, pipetest.WithReadHang(10), pipetest.WithCapacity(4096))
	go io.Copy(io.Discard, r)
	is.NoErr(w.SetWriteDeadline(time.Now().Add(20 * time.Millisecond)))
	n, err := w.Write(make([]byte, 10000))
	is.True(errors.Is(err, os.ErrDeadlineExceeded)) // the writer blocks once the pipe is full
	is.Equal(n, 4096)                               // after filling the pipe's one page, of which reading 10 bytes frees nothing
}

func TestReadClose(t *testing.T) {
	is := is.New(t)
	r, w := fake(t, pipetest.WithReadClose(3))
	_, err := w.Write([]byte("0123456789"))
	is.NoErr(err)
	buf := make([]byte, 100)
	n, err := r.Read(buf)
	is.NoErr(err)
	is.Equal(string(buf[:n]), "012") // the reader reads 3 bytes
	_, err = r.Read(buf)
	is.True(errors.Is(err, os.ErrClosed)) // then it is gone
	_, err = w.Write([]byte("x"))
	is.True(errors.Is(err, anonpipe.ErrBrokenPipe)) // so writes fail with a broken pipe
	err = w.Drain(context.Background())
	is.True(errors.Is(err, anonpipe.ErrBrokenPipe)) // and so does Drain
	is.True(errors.Is(r.Close(), os.ErrClosed))     // closing it again says it was closed

	_, w = fake(t, pipetest.WithReadClose(0))
	_, err = w.Write([]byte("x"))
	is.True(errors.Is(err, anonpipe.ErrBrokenPipe)) // at 0, the reader is gone from the start
}

func TestReadCloseWakesBlockedWrite(t *testing.T) {
	is := is.New(t)
	r, w := fake(t, pipetest.WithReadClose(5), pipetest.WithCapacity(4096))
	done := make(chan error, 1)
	var n int
	go func() {
		var err error
		n, err = w.Write(make([]byte, 10000))
		done <- err
	}()
	go io.Copy(io.Discard, r)
	err := <-done
	is.True(errors.Is(err, anonpipe.ErrBrokenPipe)) // a Write blocked when the reader crashes fails with a broken pipe
	is.Equal(n, 4096)                               // having written what the pipe held, which the crash discarded
}

func TestReadLatency(t *testing.T) {
	is := is.New(t)
	const d = 30 * time.Millisecond
	r, w := fake(t, pipetest.WithReadLatency(d))
	start := time.Now()
	_, err := w.Write([]byte("x"))
	is.NoErr(err)
	is.True(time.Since(start) < d) // Writes are not delayed
	n, err := r.Read(make([]byte, 1))
	is.NoErr(err)
	is.Equal(n, 1)
	is.True(time.Since(start) >= d) // a Read waits first

	r, _ = fake(t, pipetest.WithReadLatency(time.Hour))
	is.NoErr(r.SetReadDeadline(time.Now().Add(20 * time.Millisecond)))
	_, err = r.Read(make([]byte, 1))
	is.True(errors.Is(err, os.ErrDeadlineExceeded)) // the deadline ends the wait
	is.NoErr(r.SetReadDeadline(time.Time{}))
	done := make(chan error, 1)
	go func() {
		_, err := r.Read(make([]byte, 1))
		done <- err
	}()
	is.NoErr(r.Close())
	is.True(errors.Is(<-done, os.ErrClosed)) // so does Close
}

func TestFaultsKeepPipeSemantics(t *testing.T) {
	// A slow pipe, or one whose Reads return at most PIPE_BUF bytes, is
	// still a pipe. (Smaller or random reads break atomic writes, and a
	// Read returning what is there, on purpose.)
	for name, opts := range map[string][]pipetest.Option{
		"ReadLimit": {pipetest.WithReadLimit(4096)},
		"Latency":   {pipetest.WithReadLatency(time.Microsecond)},
	} {
		t.Run(name, func(t *testing.T) {
			pipetest.TestPipe(t, func() (io.ReadCloser, io.WriteCloser, func(), error) {
				r, w := pipetest.Pipe(opts...)
				return r, w, nil, nil
			})
		})
	}
}
