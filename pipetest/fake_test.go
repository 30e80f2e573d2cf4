package pipetest_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/anonpipe/anonpipe/anonpipe"
	"github.com/anonpipe/anonpipe/pipetest"
	"github.com/matryer/is"
)

// fake returns the ends of a new pipetest.Pipe, closed when the test ends.
func fake(t testing.TB, opts ...pipetest.Option) (*pipetest.Reader, *pipetest.Writer) {
	t.Helper()
	r, w := pipetest.Pipe(opts...)
	t.Cleanup(func() {
		r.Close()
		w.Close()
	})
	return r, w
}

// fill writes to w, with nobody reading, until a Write blocks for 500 ms,
// and returns how many bytes went in. The deadline is set before the Write
// starts, so it must outlast any delay in starting it (a busy machine, or
// Windows' 15.6 ms timer), or the Write fails having written nothing.
func fill(t *testing.T, w *pipetest.Writer) int {
	t.Helper()
	is := is.NewRelaxed(t)
	is.NoErr(w.SetWriteDeadline(time.Now().Add(500 * time.Millisecond))) // a deadline the Write reaches only by blocking
	n, err := w.Write(make([]byte, 2<<20))
	is.True(errors.Is(err, os.ErrDeadlineExceeded)) // the Write blocked once the pipe was full
	is.NoErr(w.SetWriteDeadline(time.Time{}))       // clearing the deadline
	return n
}

func TestCapacity(t *testing.T) {
	for _, tc := range []struct {
		opts []pipetest.Option
		want int
	}{
		{nil, 65536},
		{[]pipetest.Option{pipetest.WithCapacity(1)}, 4096},
		{[]pipetest.Option{pipetest.WithCapacity(100)}, 4096},
		{[]pipetest.Option{pipetest.WithCapacity(4096)}, 4096},
		{[]pipetest.Option{pipetest.WithCapacity(5000)}, 8192},
		{[]pipetest.Option{pipetest.WithCapacity(12288)}, 16384},
		{[]pipetest.Option{pipetest.WithCapacity(1 << 20), pipetest.WithCapacity(1)}, 4096},
	} {
		is := is.New(t)
		_, w := fake(t, tc.opts...)
		is.Equal(fill(t, w), tc.want) // a Write with nobody reading fills the pipe to its capacity, rounded up to a power-of-two number of pages, the last option winning
	}
}

// TestCapacityGrowsAsAnonpipesDoes streams 1 MiB through a pipe, then
// fills it: unless WithCapacity sized it, it now holds 512 KiB, as an
// anonpipe pipe on Linux does.
func TestCapacityGrowsAsAnonpipesDoes(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []pipetest.Option
		want int
	}{
		{"default", nil, 512 << 10},
		{"WithCapacity", []pipetest.Option{pipetest.WithCapacity(65536)}, 65536},
	} {
		t.Run(tc.name, func(t *testing.T) {
			is := is.New(t)
			r, w := fake(t, tc.opts...)
			buf := make([]byte, 4096)
			for range 1 << 20 / len(buf) {
				_, err := w.Write(buf)
				is.NoErr(err) // writing 4 KiB
				_, err = io.ReadFull(r, buf)
				is.NoErr(err) // reading it back
			}
			is.Equal(fill(t, w), tc.want) // the pipe's capacity once 1 MiB went through
		})
	}
}

func TestAtomicWriteWaitsForRoomWhole(t *testing.T) {
	is := is.New(t)
	r, w := fake(t, pipetest.WithCapacity(4096))
	_, err := w.Write(make([]byte, 4000))
	is.NoErr(err) // 4000 bytes fit
	is.NoErr(w.SetWriteDeadline(time.Now().Add(20 * time.Millisecond)))
	n, err := w.Write(make([]byte, 100))
	is.Equal(n, 0)                                  // 100 bytes do not fit in the 96 left, and none go in
	is.True(errors.Is(err, os.ErrDeadlineExceeded)) // the Write waits until its deadline
	is.NoErr(w.SetWriteDeadline(time.Time{}))

	done := make(chan error, 1)
	go func() {
		_, err := w.Write(bytes.Repeat([]byte{7}, 100))
		done <- err
	}()
	_, err = io.ReadFull(r, make([]byte, 4000))
	is.NoErr(err)    // reading the first Write makes room
	is.NoErr(<-done) // for the second
	buf := make([]byte, 4096)
	n, err = r.Read(buf)
	is.NoErr(err)
	is.Equal(buf[:n], bytes.Repeat([]byte{7}, 100)) // which arrives whole
}

func TestErrorsLookLikeOSErrors(t *testing.T) {
	is := is.New(t)
	r, w := fake(t)
	is.NoErr(r.SetReadDeadline(time.Now().Add(-time.Second)))
	_, err := r.Read(make([]byte, 1))
	var pe *os.PathError
	is.True(errors.As(err, &pe))                        // a deadline error is an *os.PathError
	is.Equal(err.Error(), "read pipetest: i/o timeout") // saying what failed, as *os.File's do
	is.True(os.IsTimeout(err))                          // a timeout

	is.NoErr(r.Close())
	_, err = w.Write([]byte("x"))
	is.Equal(err.Error(), "write pipetest: broken pipe") // a broken pipe says so
	is.True(errors.Is(err, anonpipe.ErrBrokenPipe))      // and matches anonpipe's
	is.True(errors.Is(err, syscall.EPIPE))               // and the system's error
	is.True(errors.As(err, &pe))                         // which it wraps in an *os.PathError
	is.Equal(pe.Op, "write")
	err = w.Drain(context.Background())
	is.Equal(err.Error(), "drain pipetest: broken pipe") // Drain's too

	_, err = r.Read(make([]byte, 1))
	is.Equal(err.Error(), "read pipetest: file already closed") // a closed end says so
	err = r.Close()
	is.Equal(err.Error(), "close pipetest: file already closed") // and so does closing it again
}

func TestZeroLength(t *testing.T) {
	is := is.New(t)
	r, w := fake(t)
	is.NoErr(r.Close())
	n, err := w.Write(nil)
	is.NoErr(err)  // a Write of nothing to a broken pipe succeeds, as on Linux
	is.Equal(n, 0) // writing nothing
	n, err = r.Read(nil)
	is.True(errors.Is(err, os.ErrClosed)) // a Read of nothing on a closed end fails
	is.Equal(n, 0)
	is.NoErr(w.Close())
	_, err = w.Write(nil)
	is.True(errors.Is(err, os.ErrClosed)) // so does a Write of nothing
}

func TestSetDeadlineAfterClose(t *testing.T) {
	is := is.New(t)
	r, w := fake(t)
	is.NoErr(r.Close())
	is.NoErr(w.Close())
	is.True(errors.Is(r.SetReadDeadline(time.Now()), os.ErrClosed))  // a closed read end takes no deadline
	is.True(errors.Is(w.SetWriteDeadline(time.Now()), os.ErrClosed)) // nor a closed write end
}

func TestDeadlineMovedLater(t *testing.T) {
	is := is.New(t)
	r, _ := fake(t)
	start := time.Now()
	is.NoErr(r.SetReadDeadline(start.Add(time.Millisecond)))      // a deadline soon
	is.NoErr(r.SetReadDeadline(start.Add(50 * time.Millisecond))) // moved later
	_, err := r.Read(make([]byte, 1))
	is.True(errors.Is(err, os.ErrDeadlineExceeded))         // the Read times out
	is.True(time.Since(start) >= 50*time.Millisecond)       // at the later deadline: the first one's timer was stopped
	is.NoErr(r.SetReadDeadline(start.Add(time.Hour)))       // a deadline in the future again
	is.NoErr(r.SetReadDeadline(time.Now().Add(-time.Hour))) // then in the past
	_, err = r.Read(make([]byte, 1))
	is.True(errors.Is(err, os.ErrDeadlineExceeded)) // the last one set counts
}

func TestReaderCloseDiscardsUnread(t *testing.T) {
	is := is.New(t)
	r, w := fake(t)
	_, err := w.Write([]byte("unread"))
	is.NoErr(err)
	is.NoErr(r.Close())
	err = w.Drain(context.Background())
	is.True(errors.Is(err, anonpipe.ErrBrokenPipe)) // Drain reports the reader gone, not bytes unread
}

func TestDrainContextFirst(t *testing.T) {
	is := is.New(t)
	_, w := fake(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	is.Equal(w.Drain(ctx), context.Canceled) // a done context wins even over an empty pipe, as with anonpipe
}

func TestCopyBetweenFakes(t *testing.T) {
	is := is.New(t)
	r1, w1 := fake(t)
	r2, w2 := fake(t, pipetest.WithCapacity(100))
	data := bytes.Repeat([]byte("0123456789abcdef"), 64<<10)
	go func() {
		w1.Write(data)
		w1.Close()
	}()
	go func() {
		_, err := io.Copy(w2, r1) // Reader.WriteTo
		if err != nil {
			t.Error(err)
		}
		w2.Close()
	}()
	var got bytes.Buffer
	n, err := got.ReadFrom(r2)
	is.NoErr(err)
	is.Equal(n, int64(len(data)))           // every byte copied
	is.True(bytes.Equal(got.Bytes(), data)) // in order
}

// writerFunc is an io.Writer made of a function.
type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func TestWriteToErrors(t *testing.T) {
	is := is.New(t)
	r, w := fake(t)
	_, err := w.Write([]byte("0123456789"))
	is.NoErr(err)
	errSink := errors.New("sink failed")
	n, err := r.WriteTo(writerFunc(func(p []byte) (int, error) { return 4, errSink }))
	is.Equal(err, errSink) // the destination's error
	is.Equal(n, int64(4))  // with what it took

	_, err = w.Write([]byte("abc"))
	is.NoErr(err)
	n, err = r.WriteTo(writerFunc(func(p []byte) (int, error) { return 1, nil }))
	is.Equal(err, io.ErrShortWrite) // a short write without an error
	is.Equal(n, int64(1))

	is.NoErr(r.SetReadDeadline(time.Now().Add(20 * time.Millisecond)))
	n, err = r.WriteTo(io.Discard)
	is.True(errors.Is(err, os.ErrDeadlineExceeded)) // the read deadline ends WriteTo
	is.Equal(n, int64(0))                           // having found nothing: the bytes read before a failed write are gone, as with io.Copy
}

// errReader returns its data, then err along with the last bytes.
type errReader struct {
	data []byte
	err  error
}

func (r *errReader) Read(p []byte) (int, error) {
	n := copy(p, r.data)
	r.data = r.data[n:]
	if len(r.data) == 0 {
		return n, r.err
	}
	return n, nil
}

func TestReadFromErrors(t *testing.T) {
	is := is.New(t)
	r, w := fake(t)
	errSrc := errors.New("source failed")
	n, err := w.ReadFrom(&errReader{[]byte("last bytes"), errSrc})
	is.Equal(err, errSrc)  // the source's error
	is.Equal(n, int64(10)) // after the bytes it returned with it
	n, err = w.ReadFrom(&errReader{[]byte("more"), io.EOF})
	is.NoErr(err)         // io.EOF ends ReadFrom without an error
	is.Equal(n, int64(4)) // after the bytes that came with it
	is.NoErr(w.Close())
	got, err := io.ReadAll(r)
	is.NoErr(err)
	is.Equal(string(got), "last bytesmore") // nothing lost
}

func TestOptionsPanic(t *testing.T) {
	for name, f := range map[string]func(){
		"Pipe(nil)":              func() { pipetest.Pipe(nil) },
		"WithCapacity(0)":        func() { pipetest.WithCapacity(0) },
		"WithReadLimit(0)":       func() { pipetest.WithReadLimit(0) },
		"WithReadError(-1, err)": func() { pipetest.WithReadError(-1, io.ErrUnexpectedEOF) },
		"WithReadError(0, nil)":  func() { pipetest.WithReadError(0, nil) },
		"WithWriteError(0, nil)": func() { pipetest.WithWriteError(0, nil) },
		"WithReadHang(-1)":       func() { pipetest.WithReadHang(-1) },
		"WithReadClose(-1)":      func() { pipetest.WithReadClose(-1) },
		"WithReadLatency(-1)":    func() { pipetest.WithReadLatency(-1) },
	} {
		t.Run(name, func(t *testing.T) {
			is := is.New(t)
			defer func() {
				p := recover()
				is.True(p != nil)                                      // an invalid option panics
				is.True(strings.HasPrefix(fmt.Sprint(p), "pipetest:")) // saying where from
			}()
			f()
		})
	}
}

func TestCapacityLimit(t *testing.T) {
	if strconv.IntSize < 64 {
		t.Skip("a 32-bit system allows 1 GiB at most")
	}
	const limit = math.MaxInt32 // the most anonpipe.WithBufferSize takes
	for _, n := range []uint64{math.MaxInt64, 1 << 62, 1 << 40, 1 << 32, limit + 1} {
		is := is.New(t)
		p := panicValue(func() { pipetest.WithCapacity(int(n)) })
		is.Equal(p, fmt.Sprintf("pipetest: WithCapacity(%d): capacity must be from 1 to %d bytes, "+
			"as anonpipe.WithBufferSize takes", n, limit)) // a capacity above the limit panics at once, naming it
	}
	for _, n := range []uint64{limit, 1 << 30} {
		is := is.New(t)
		is.Equal(panicValue(func() { pipetest.Pipe(pipetest.WithCapacity(int(n))) }), nil) // a capacity up to the limit makes a pipe
	}
}

func TestCapacityCostsWhatPipeHolds(t *testing.T) {
	is := is.New(t)
	var r *pipetest.Reader
	cost := heapCost(func() {
		var w *pipetest.Writer
		r, w = fake(t, pipetest.WithCapacity(1<<30))
		_, err := w.Write([]byte("0123456789"))
		is.NoErr(err) // writing 10 bytes to a pipe of 1 GiB
	})
	t.Logf("a pipe of 1 GiB holding 10 bytes cost %d bytes", cost)
	is.True(cost < 64<<10) // its memory follows the bytes it holds, not its capacity
	buf := make([]byte, 20)
	k, err := r.Read(buf)
	is.NoErr(err)                           // reading them back
	is.Equal(string(buf[:k]), "0123456789") // whole
}

func TestGrowingPipeKeepsOrder(t *testing.T) {
	is := is.New(t)
	r, w := fake(t, pipetest.WithCapacity(1<<30))
	data := make([]byte, 1<<20)
	for i := range data {
		data[i] = byte(i * 7 / 5)
	}
	var got []byte
	buf := make([]byte, 3000)
	for off, k := 0, 100; off < len(data); off, k = off+k, k*2 {
		_, err := w.Write(data[off:min(off+k, len(data))])
		is.NoErr(err) // a Write with room, which may grow the buffer while its bytes wrap around it
		n, err := r.Read(buf)
		is.NoErr(err) // reading part of them, so the next ones wrap
		got = append(got, buf[:n]...)
	}
	is.NoErr(w.Close())
	rest, err := io.ReadAll(r)
	is.NoErr(err) // reading the rest
	got = append(got, rest...)
	is.True(bytes.Equal(got, data)) // every byte comes out once, in order
}

// panicValue returns the value f panics with, or nil.
func panicValue(f func()) (p any) {
	defer func() { p = recover() }()
	f()
	return nil
}

// heapCost returns the bytes that f allocates on the heap.
func heapCost(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

func TestNoAllocations(t *testing.T) {
	for _, size := range []int{4 << 10, 64 << 10} {
		is := is.New(t)
		r, w := fake(t)
		is.NoErr(w.SetWriteDeadline(time.Now().Add(time.Hour))) // a deadline does not make calls allocate
		is.NoErr(r.SetReadDeadline(time.Now().Add(time.Hour)))
		buf := make([]byte, size)
		allocs := testing.AllocsPerRun(100, func() {
			w.Write(buf[:size/2])
			r.Read(buf)
		})
		is.Equal(allocs, 0.0) // a Write and a Read that need not wait allocate nothing

		done := make(chan struct{})
		go func() {
			defer close(done)
			rbuf := make([]byte, size)
			for {
				if _, err := r.Read(rbuf); err != nil {
					return
				}
			}
		}()
		wbuf := make([]byte, 4*size) // more than the pipe holds at 64 KiB: the Write waits for the reader
		allocs = testing.AllocsPerRun(100, func() { w.Write(wbuf) })
		is.NoErr(w.Close())
		<-done
		is.Equal(allocs, 0.0) // neither do a Write and Reads that wait for each other
	}
}

// BenchmarkPipe writes 4 KiB and 64 KiB chunks through the fake, an
// in-process os.Pipe and io.Pipe to a goroutine that reads them: a fake must
// never be what slows a unit test down.
func BenchmarkPipe(b *testing.B) {
	for _, size := range []int{4 << 10, 64 << 10} {
		for _, impl := range []struct {
			name string
			pipe func() (io.ReadCloser, io.WriteCloser)
		}{
			{"pipetest", func() (io.ReadCloser, io.WriteCloser) { return pipetest.Pipe() }},
			{"os.Pipe", func() (io.ReadCloser, io.WriteCloser) {
				r, w, err := os.Pipe()
				if err != nil {
					b.Fatal(err)
				}
				return r, w
			}},
			{"io.Pipe", func() (io.ReadCloser, io.WriteCloser) { return io.Pipe() }},
		} {
			b.Run(fmt.Sprintf("%s/%dKiB", impl.name, size>>10), func(b *testing.B) {
				r, w := impl.pipe()
				defer r.Close()
				done := make(chan error, 1)
				go func() {
					buf := make([]byte, size)
					for {
						if _, err := r.Read(buf); err != nil {
							if err == io.EOF {
								err = nil
							}
							done <- err
							return
						}
					}
				}()
				buf := make([]byte, size)
				b.SetBytes(int64(size))
				b.ReportAllocs()
				b.ResetTimer()
				for range b.N {
					if _, err := w.Write(buf); err != nil {
						b.Fatal(err)
					}
				}
				w.Close()
				if err := <-done; err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				// scripts/bench reads MiB/s.
				if s := b.Elapsed().Seconds(); s > 0 {
					b.ReportMetric(float64(size)*float64(b.N)/s/(1<<20), "MiB/s")
				}
			})
		}
	}
}
