package anonpipe_test

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/anonpipe/anonpipe/anonpipe"
	"github.com/matryer/is"
)

// Each test here checks that a copy through Reader.WriteTo or
// Writer.ReadFrom delivers exactly the bytes sent, on whatever path the
// platform takes (splice on Linux, os.File's copy elsewhere).

// randomBytes returns n reproducible pseudo-random bytes.
func randomBytes(n int, seed uint64) []byte {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

// feed writes data to w from another goroutine, in pieces of varied size,
// then closes w.
func feed(t *testing.T, w io.WriteCloser, data []byte) {
	t.Helper()
	go func() {
		rng := rand.New(rand.NewPCG(7, 8))
		for p := data; len(p) > 0; {
			n := min(len(p), 1+rng.IntN(200<<10))
			if _, err := w.Write(p[:n]); err != nil {
				t.Errorf("feeding the pipe: %v", err)
				break
			}
			p = p[n:]
		}
		w.Close()
	}()
}

// fileWith returns a file holding data, open for reading and writing at
// offset 0.
func fileWith(t *testing.T, data []byte) *os.File {
	t.Helper()
	f, err := os.CreateTemp(t.TempDir(), "copy")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	if _, err := f.Write(data); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	return f
}

// copyResult is what a copy running in another goroutine returned.
type copyResult struct {
	n   int64
	err error
}

// copyAsync runs io.Copy(dst, src) in another goroutine, then closes close
// unless it is nil.
func copyAsync(dst io.Writer, src io.Reader, close io.Closer) <-chan copyResult {
	var after func() error
	if close != nil {
		after = close.Close
	}
	return goCopy(func() (int64, error) { return io.Copy(dst, src) }, after)
}

// goCopy runs copy in another goroutine, then after unless it is nil (to
// close the destination, so that its reader sees EOF).
func goCopy(copy func() (int64, error), after func() error) <-chan copyResult {
	done := make(chan copyResult, 1)
	go func() {
		n, err := copy()
		if after != nil {
			after()
		}
		done <- copyResult{n, err}
	}()
	return done
}

func TestCopyPipeToPipe(t *testing.T) {
	data := randomBytes(5<<20+123, 1)
	for _, tc := range []struct {
		name string
		copy func(dst *anonpipe.Writer, src *anonpipe.Reader) (int64, error)
	}{
		{"Reader.WriteTo", func(dst *anonpipe.Writer, src *anonpipe.Reader) (int64, error) { return src.WriteTo(dst) }},
		{"Writer.ReadFrom", func(dst *anonpipe.Writer, src *anonpipe.Reader) (int64, error) { return dst.ReadFrom(src) }},
		{"io.Copy", func(dst *anonpipe.Writer, src *anonpipe.Reader) (int64, error) { return io.Copy(dst, src) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			is := is.New(t)
			r1, w1 := pipe(t)
			r2, w2 := pipe(t)
			feed(t, w1, data)
			done := goCopy(func() (int64, error) { return tc.copy(w2, r1) }, w2.Close)
			got, err := io.ReadAll(r2)
			is.NoErr(err) // reading the far pipe
			res := <-done
			is.NoErr(res.err)                                 // the copy succeeds
			is.Equal(res.n, int64(len(data)))                 // and counts every byte
			is.Equal(sha256.Sum256(got), sha256.Sum256(data)) // which arrive exactly, in order
		})
	}
}

func TestCopyBetweenPipeAndOSPipe(t *testing.T) {
	data := randomBytes(3<<20+7, 2)
	t.Run("to os.Pipe", func(t *testing.T) {
		is := is.New(t)
		r, w := pipe(t)
		pr, pw, err := os.Pipe()
		is.NoErr(err) // making the os pipe
		defer pr.Close()
		feed(t, w, data)
		done := copyAsync(pw, r, pw)
		got, err := io.ReadAll(pr)
		is.NoErr(err) // reading the os pipe
		res := <-done
		is.NoErr(res.err)                                 // the copy succeeds
		is.Equal(res.n, int64(len(data)))                 // and counts every byte
		is.Equal(sha256.Sum256(got), sha256.Sum256(data)) // which arrive exactly
	})
	t.Run("from os.Pipe", func(t *testing.T) {
		is := is.New(t)
		r, w := pipe(t)
		pr, pw, err := os.Pipe()
		is.NoErr(err) // making the os pipe
		defer pr.Close()
		feed(t, pw, data)
		done := copyAsync(w, pr, w) // os.File.WriteTo hands the copy to Writer.ReadFrom
		got, err := io.ReadAll(r)
		is.NoErr(err) // reading the pipe
		res := <-done
		is.NoErr(res.err)                                 // the copy succeeds
		is.Equal(res.n, int64(len(data)))                 // and counts every byte
		is.Equal(sha256.Sum256(got), sha256.Sum256(data)) // which arrive exactly
	})
}

func TestCopyFileToPipe(t *testing.T) {
	data := randomBytes(3<<20+5, 3)
	const start = 12345 // not at 0, and not page-aligned
	for _, tc := range []struct {
		name string
		copy func(w *anonpipe.Writer, f *os.File) (int64, error)
	}{
		{"io.Copy", func(w *anonpipe.Writer, f *os.File) (int64, error) { return io.Copy(w, f) }},
		{"Writer.ReadFrom", func(w *anonpipe.Writer, f *os.File) (int64, error) { return w.ReadFrom(f) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			is := is.New(t)
			f := fileWith(t, data)
			_, err := f.Seek(start, io.SeekStart)
			is.NoErr(err) // moving the file position
			r, w := pipe(t)
			done := goCopy(func() (int64, error) { return tc.copy(w, f) }, w.Close)
			got, err := io.ReadAll(r)
			is.NoErr(err) // reading the pipe
			res := <-done
			is.NoErr(res.err)                                         // the copy succeeds
			is.Equal(res.n, int64(len(data)-start))                   // from the file position to the end
			is.Equal(sha256.Sum256(got), sha256.Sum256(data[start:])) // with exactly the file's bytes
			pos, err := f.Seek(0, io.SeekCurrent)
			is.NoErr(err)                   // asking the file position
			is.Equal(pos, int64(len(data))) // the copy advanced it to the end
		})
	}
}

func TestCopyNFromFileToPipe(t *testing.T) {
	is := is.New(t)
	data := randomBytes(2<<20, 4)
	const start, count = 4097, 1<<20 + 3
	f := fileWith(t, data)
	_, err := f.Seek(start, io.SeekStart)
	is.NoErr(err) // moving the file position
	r, w := pipe(t)
	done := goCopy(func() (int64, error) { return io.CopyN(w, f, count) }, w.Close)
	got, err := io.ReadAll(r)
	is.NoErr(err) // reading the pipe
	res := <-done
	is.NoErr(res.err)                                                 // io.CopyN succeeds
	is.Equal(res.n, int64(count))                                     // and stops at its limit
	is.Equal(sha256.Sum256(got), sha256.Sum256(data[start:][:count])) // with exactly those bytes
	pos, err := f.Seek(0, io.SeekCurrent)
	is.NoErr(err)                     // asking the file position
	is.Equal(pos, int64(start+count)) // the file position moved by what was copied, no further
}

func TestCopyNFromPipeToPipe(t *testing.T) {
	is := is.New(t)
	data := randomBytes(1<<20, 5)
	const count = 300001
	r1, w1 := pipe(t)
	r2, w2 := pipe(t)
	feed(t, w1, data)
	done := goCopy(func() (int64, error) { return io.CopyN(w2, r1, count) }, w2.Close)
	got, err := io.ReadAll(r2)
	is.NoErr(err) // reading the far pipe
	res := <-done
	is.NoErr(res.err)                                         // io.CopyN succeeds
	is.Equal(res.n, int64(count))                             // and stops at its limit
	is.Equal(sha256.Sum256(got), sha256.Sum256(data[:count])) // with exactly the first bytes
	rest, err := io.ReadAll(r1)
	is.NoErr(err)                                              // reading what the copy left
	is.Equal(sha256.Sum256(rest), sha256.Sum256(data[count:])) // no byte beyond the limit was taken
}

func TestCopyPipeToFile(t *testing.T) {
	is := is.New(t)
	data := randomBytes(3<<20+11, 6)
	header := []byte("a header not at a page boundary")
	f := fileWith(t, header) // position 0
	_, err := f.Seek(int64(len(header)), io.SeekStart)
	is.NoErr(err) // the copy starts after the header
	r, w := pipe(t)
	feed(t, w, data)
	n, err := io.Copy(f, r)
	is.NoErr(err)                 // the copy succeeds
	is.Equal(n, int64(len(data))) // and counts every byte
	pos, err := f.Seek(0, io.SeekCurrent)
	is.NoErr(err)                               // asking the file position
	is.Equal(pos, int64(len(header)+len(data))) // the copy advanced it past what it wrote
	got, err := os.ReadFile(f.Name())
	is.NoErr(err)                                                                                  // reading the file back
	is.Equal(sha256.Sum256(got), sha256.Sum256(append(header[:len(header):len(header)], data...))) // header kept, data after it
}

func TestCopyPipeToAppendOnlyFile(t *testing.T) {
	is := is.New(t)
	data := randomBytes(1<<20+1, 7)
	name := filepath.Join(t.TempDir(), "log")
	is.NoErr(os.WriteFile(name, []byte("old\n"), 0o600)) // a file with content
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_APPEND, 0)
	is.NoErr(err) // opening it O_APPEND, which splice refuses
	defer f.Close()
	r, w := pipe(t)
	feed(t, w, data)
	n, err := io.Copy(f, r)
	is.NoErr(err)                 // the copy still succeeds
	is.Equal(n, int64(len(data))) // and counts every byte
	got, err := os.ReadFile(name)
	is.NoErr(err)                                                                 // reading the file back
	is.Equal(sha256.Sum256(got), sha256.Sum256(append([]byte("old\n"), data...))) // appended after the old content
}

// TestCopyToStallingPipe copies into a pipe whose reader takes small pieces
// only when the test asks, so the copy must wait and resume many times.
func TestCopyToStallingPipe(t *testing.T) {
	data := randomBytes(1<<20+17, 8)
	for _, tc := range []struct {
		name string
		src  func(t *testing.T) io.Reader
	}{
		{"from a pipe", func(t *testing.T) io.Reader {
			r, w := pipe(t)
			feed(t, w, data)
			return r
		}},
		{"from a file", func(t *testing.T) io.Reader { return fileWith(t, data) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			is := is.New(t)
			src := tc.src(t)
			r2, w2 := pipe(t)
			done := copyAsync(w2, src, w2)
			got := make([]byte, 0, len(data))
			piece := make([]byte, 3001)
			for {
				n, err := io.ReadFull(r2, piece)
				got = append(got, piece[:n]...)
				if err == io.EOF || err == io.ErrUnexpectedEOF {
					break
				}
				is.NoErr(err) // reading a piece
			}
			res := <-done
			is.NoErr(res.err)                                 // the copy survives every stall
			is.Equal(res.n, int64(len(data)))                 // and counts every byte
			is.Equal(sha256.Sum256(got), sha256.Sum256(data)) // which arrive exactly
		})
	}
}

// upperFile is a user's type that embeds a file and changes what is written
// to it: a copy into it must go through its methods.
type upperFile struct{ *os.File }

func (u upperFile) Write(p []byte) (int, error) { return u.File.Write(bytes.ToUpper(p)) }
func (u upperFile) ReadFrom(r io.Reader) (int64, error) {
	return io.Copy(struct{ io.Writer }{u}, r)
}

// upperSource is a user's type that embeds a file and changes what is read
// from it: a copy from it must go through its methods.
type upperSource struct{ *os.File }

func (u upperSource) Read(p []byte) (int, error) {
	n, err := u.File.Read(p)
	copy(p, bytes.ToUpper(p[:n]))
	return n, err
}
func (u upperSource) WriteTo(w io.Writer) (int64, error) {
	return io.Copy(w, struct{ io.Reader }{u})
}

func TestCopyKeepsWrappersMethods(t *testing.T) {
	is := is.New(t)
	r, w := pipe(t)
	out := fileWith(t, nil)
	feed(t, w, []byte("hello through a pipe\n"))
	_, err := io.Copy(upperFile{out}, r)
	is.NoErr(err) // copying from the pipe into the wrapper
	got, err := os.ReadFile(out.Name())
	is.NoErr(err)                                   // reading the file back
	is.Equal(string(got), "HELLO THROUGH A PIPE\n") // every byte went through the wrapper's Write

	r, w = pipe(t)
	in := fileWith(t, []byte("hello into a pipe\n"))
	done := goCopy(func() (int64, error) { return w.ReadFrom(upperSource{in}) }, w.Close)
	got, err = io.ReadAll(r)
	is.NoErr(err)                                // reading the pipe
	is.NoErr((<-done).err)                       // the copy from the wrapper succeeds
	is.Equal(string(got), "HELLO INTO A PIPE\n") // every byte came through the wrapper's Read
}

// TestCopyCutShortByCloseCountsWhatArrived closes the Writer while an
// io.Copy into it waits for room in the pipe: the copy must count exactly the
// bytes the reader gets, as a Write cut short does. On Windows a pipe write
// cut short reports nothing written, so this holds only if the copy writes
// through the Writer's 4096-byte pieces, not os.File's 32 KiB ones.
func TestCopyCutShortByCloseCountsWhatArrived(t *testing.T) {
	data := randomBytes(4<<20, 9)
	const head = 1000 // read before the Close, so that the copy is under way
	for _, tc := range []struct {
		name string
		src  func(t *testing.T) io.Reader
	}{
		// A source without WriteTo: io.Copy calls Writer.ReadFrom.
		{"Writer.ReadFrom", func(*testing.T) io.Reader { return struct{ io.Reader }{bytes.NewReader(data)} }},
		// A pipe big enough that one read of it fills several pieces.
		{"Reader.WriteTo", func(t *testing.T) io.Reader {
			r, w := pipe(t, anonpipe.WithBufferSize(64<<10))
			go func() {
				w.Write(data) // ends when the test closes r
				w.Close()
			}()
			return r
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			is := is.New(t)
			r, w := pipe(t)
			done := copyAsync(w, tc.src(t), nil)
			got := make([]byte, head)
			_, err := io.ReadFull(r, got)
			is.NoErr(err)       // reading the start of the copy
			is.NoErr(w.Close()) // closing the Writer while the copy waits for room
			res := <-done
			is.True(errors.Is(res.err, os.ErrClosed)) // the copy returns os.ErrClosed
			rest, err := io.ReadAll(r)
			is.NoErr(err)                                                     // reading what the copy wrote before the Close
			is.Equal(res.n, int64(head+len(rest)))                            // the copy counts exactly the bytes the reader gets
			is.True(bytes.Equal(append(got, rest...), data[:head+len(rest)])) // which are the start of the data, in order
		})
	}
}

// feedAsync writes data to w in one Write from another goroutine, then
// closes w, and sends the Write's error: a broken pipe once the test closes
// the reader.
func feedAsync(w io.WriteCloser, data []byte) <-chan error {
	done := make(chan error, 1)
	go func() {
		_, err := w.Write(data)
		w.Close()
		done <- err
	}()
	return done
}

// plainChild is the plain exec.Cmd inside a Cmd that re-runs the test
// binary as the named child, to be run by exec.Cmd's own methods: a
// consumer started as any program would start one.
func plainChild(t *testing.T, name string, args ...string) *exec.Cmd {
	c := child(t, name, args...).Cmd
	// Bounds the wait for the copy into the child's stdin, should it hang.
	c.WaitDelay = 30 * time.Second
	return c
}

// TestStdinOfChildThatExitsEarly gives the standard input of a child that
// reads a little and exits to a plain exec.Cmd. os/exec copies a reader that
// is not an *os.File into the child, and ignores the copy's error only if it
// is exactly the *fs.PathError of a write to "|1" failing with EPIPE (or
// its Windows twins), golang/go#9173: a Reader must give Run the same
// success as a bytes.Reader or an os.Pipe reader.
func TestStdinOfChildThatExitsEarly(t *testing.T) {
	data := randomBytes(4<<20, 15) // far more than the pipes hold
	for _, tc := range []struct {
		name string
		// stdin returns the child's input, and a func that closes it and
		// waits for whatever fed it.
		stdin func(t *testing.T) (io.Reader, func())
	}{
		{"bytes.Reader", func(*testing.T) (io.Reader, func()) { return bytes.NewReader(data), func() {} }},
		{"os.Pipe reader", func(t *testing.T) (io.Reader, func()) {
			pr, pw, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			fed := feedAsync(pw, data)
			return pr, func() { pr.Close(); <-fed }
		}},
		{"anonpipe.Reader", func(t *testing.T) (io.Reader, func()) {
			r, w := pipe(t)
			fed := feedAsync(w, data)
			return r, func() { r.Close(); <-fed }
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			is := is.New(t)
			stdin, finish := tc.stdin(t)
			defer finish()
			c := plainChild(t, "head", "1000")
			c.Stdin = stdin
			is.NoErr(c.Run()) // the child's early exit is no error, as with any reader
		})
	}
}

// TestFromChildIntoConsumerThatExitsEarly pipes what a child writes into
// another program that stops reading early, as head does in a shell
// pipeline: the consumer's Run succeeds, and the producer can still finish.
func TestFromChildIntoConsumerThatExitsEarly(t *testing.T) {
	is := is.New(t)
	producer := child(t, "rel-gen")
	r, h, err := producer.FromChild()
	is.NoErr(err) // attaching the pipe
	producer.Args = append(producer.Args, h, strconv.Itoa(8<<20), "3", "31")
	is.NoErr(producer.Start()) // starting the producer
	consumer := plainChild(t, "head", "1000")
	consumer.Stdin = r
	is.NoErr(consumer.Run()) // the consumer's early exit is no error, as with an os.Pipe
	_, err = io.Copy(io.Discard, r)
	is.NoErr(err)             // the pipe still gives the rest
	is.NoErr(producer.Wait()) // so the producer writes everything and exits
}

// brokenOSPipe returns the write end of an os pipe whose reader is gone.
func brokenOSPipe(t *testing.T) *os.File {
	t.Helper()
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pw.Close() })
	pr.Close()
	return pw
}

// TestCopyErrorsOfThePeerAreItsOwn checks that a copy failing on the other
// side returns exactly the error that side's own Write or Read returns, and
// one failing on our side what the Writer's Write returns.
func TestCopyErrorsOfThePeerAreItsOwn(t *testing.T) {
	t.Run("Reader.WriteTo a broken os pipe", func(t *testing.T) {
		for _, peer := range []struct {
			name string
			w    func(f *os.File) io.Writer
		}{
			{"*os.File", func(f *os.File) io.Writer { return f }},
			{"user's type around it", func(f *os.File) io.Writer { return struct{ io.Writer }{f} }},
		} {
			t.Run(peer.name, func(t *testing.T) {
				is := is.New(t)
				r, w := pipe(t)
				_, err := w.Write([]byte("something to copy"))
				is.NoErr(err) // filling the pipe
				pw := brokenOSPipe(t)
				n, err := r.WriteTo(peer.w(pw))
				is.Equal(n, int64(0)) // nothing was copied
				_, want := pw.Write([]byte("x"))
				is.True(want != nil)                             // the os pipe's own Write fails
				is.Equal(err, want)                              // and the copy returns exactly its error
				is.True(!errors.Is(err, anonpipe.ErrBrokenPipe)) // not one of ours: our pipe is whole
				pe, ok := err.(*os.PathError)
				is.True(ok)                  // a bare *os.PathError, as os/exec looks for
				is.Equal(pe.Path, pw.Name()) // naming the os pipe
			})
		}
	})
	t.Run("Reader.WriteTo a broken Writer", func(t *testing.T) {
		is := is.New(t)
		r, w := pipe(t)
		_, err := w.Write([]byte("something to copy"))
		is.NoErr(err) // filling the pipe
		r2, w2 := pipe(t)
		is.NoErr(r2.Close()) // the destination's reader is gone
		_, err = r.WriteTo(w2)
		is.True(errors.Is(err, anonpipe.ErrBrokenPipe)) // a broken Writer's error
		_, want := w2.Write([]byte("x"))
		is.Equal(err, want) // exactly what its Write returns
	})
	t.Run("Writer.ReadFrom into a broken pipe", func(t *testing.T) {
		is := is.New(t)
		r, w := pipe(t)
		is.NoErr(r.Close()) // no reader left
		_, err := w.ReadFrom(struct{ io.Reader }{bytes.NewReader(make([]byte, 100))})
		is.True(errors.Is(err, anonpipe.ErrBrokenPipe)) // our pipe broke
		_, want := w.Write([]byte("x"))
		is.Equal(err, want) // exactly what its Write returns
	})
	t.Run("Writer.ReadFrom a failing source", func(t *testing.T) {
		is := is.New(t)
		// A source whose Read fails with a broken pipe of its own: a
		// stage of a pipeline that could not write further on.
		_, srcErr := brokenOSPipe(t).Write([]byte("x"))
		is.True(srcErr != nil) // a broken pipe's error, elsewhere
		src, feed := io.Pipe()
		go func() {
			feed.Write([]byte("some bytes first"))
			feed.CloseWithError(srcErr)
		}()
		r, w := pipe(t)
		defer r.Close()
		n, err := w.ReadFrom(src)
		is.Equal(n, int64(len("some bytes first")))      // what the source gave was copied
		is.True(err == srcErr)                           // and its error returned as it was
		is.True(!errors.Is(err, anonpipe.ErrBrokenPipe)) // not taken for our pipe's
	})
}
