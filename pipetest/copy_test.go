package pipetest_test

import (
	"io"
	"sync"
	"testing"
	"time"

	"github.com/anonpipe/anonpipe/anonpipe"
	"github.com/matryer/is"
)

// copyEnds is a pipe whose ends have WriteTo and ReadFrom.
type copyEnds struct {
	r interface {
		io.ReadCloser
		io.WriterTo
	}
	w interface {
		io.WriteCloser
		io.ReaderFrom
	}
}

// copyPipes makes, for each kind compared, a pipe closed when the test ends.
func copyPipes(t *testing.T) map[string]func() copyEnds {
	return map[string]func() copyEnds{
		"fake": func() copyEnds {
			r, w := fake(t)
			return copyEnds{r, w}
		},
		"anonpipe": func() copyEnds {
			r, w, err := anonpipe.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				r.Close()
				w.Close()
			})
			return copyEnds{r, w}
		},
	}
}

// within waits for c, failing the test if that takes more than a generous
// bound: the wait must end, but how long it takes says nothing.
func within[T any](t *testing.T, c <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-c:
		return v
	case <-time.After(5 * time.Second):
		t.Fatalf("%s: still waiting after 5s", what)
		var zero T
		return zero
	}
}

type ioResult struct {
	n   int
	err error
}

func TestReadWhileWriteToBlocksInWrite(t *testing.T) {
	for name, makePipe := range copyPipes(t) {
		t.Run(name, func(t *testing.T) {
			is := is.New(t)
			p := makePipe()
			entered := make(chan string, 1)
			release := make(chan struct{})
			unblock := sync.OnceFunc(func() { close(release) })
			defer unblock() // if the test fails first, so that WriteTo ends
			copied := make(chan int64, 1)
			go func() {
				n, _ := p.r.WriteTo(writerFunc(func(b []byte) (int, error) {
					entered <- string(b)
					<-release
					return len(b), nil
				}))
				copied <- n
			}()
			_, err := p.w.Write([]byte("first"))
			is.NoErr(err)                                                  // writing what WriteTo takes
			is.Equal(within(t, entered, "WriteTo calling Write"), "first") // WriteTo reads the first Write and blocks passing it on

			_, err = p.w.Write([]byte("second"))
			is.NoErr(err) // writing while WriteTo blocks
			read := make(chan ioResult, 1)
			buf := make([]byte, 64)
			go func() {
				n, err := p.r.Read(buf)
				read <- ioResult{n, err}
			}()
			got := within(t, read, "Read while WriteTo blocks in Write")
			is.NoErr(got.err)                       // another Read proceeds while WriteTo waits on its destination
			is.Equal(string(buf[:got.n]), "second") // and gets the bytes WriteTo has not taken

			unblock()
			is.NoErr(p.w.Close())
			is.Equal(within(t, copied, "WriteTo returning"), int64(5)) // WriteTo counts what it passed on, then ends at EOF
		})
	}
}

// blockingReader returns "first", then, on its second Read, says so on
// entered and blocks until release is closed, then returns io.EOF.
type blockingReader struct {
	calls   int
	entered chan struct{}
	release chan struct{}
}

func (b *blockingReader) Read(p []byte) (int, error) {
	b.calls++
	if b.calls == 1 {
		return copy(p, "first"), nil
	}
	close(b.entered)
	<-b.release
	return 0, io.EOF
}

func TestWriteWhileReadFromBlocksInRead(t *testing.T) {
	for name, makePipe := range copyPipes(t) {
		t.Run(name, func(t *testing.T) {
			is := is.New(t)
			p := makePipe()
			src := &blockingReader{entered: make(chan struct{}), release: make(chan struct{})}
			unblock := sync.OnceFunc(func() { close(src.release) })
			defer unblock() // if the test fails first, so that ReadFrom ends
			copied := make(chan ioResult, 1)
			go func() {
				n, err := p.w.ReadFrom(src)
				copied <- ioResult{int(n), err}
			}()
			within(t, src.entered, "ReadFrom reading its source again") // ReadFrom has written "first" and blocks in src.Read

			wrote := make(chan ioResult, 1)
			go func() {
				n, err := p.w.Write([]byte("second"))
				wrote <- ioResult{n, err}
			}()
			got := within(t, wrote, "Write while ReadFrom blocks in Read")
			is.NoErr(got.err)  // another Write proceeds while ReadFrom waits on its source
			is.Equal(got.n, 6) // whole
			buf := make([]byte, 11)
			_, err := io.ReadFull(p.r, buf)
			is.NoErr(err)                        // reading both
			is.Equal(string(buf), "firstsecond") // the Write's bytes follow ReadFrom's chunk

			unblock()
			res := within(t, copied, "ReadFrom returning")
			is.NoErr(res.err)  // ReadFrom ends at its source's EOF
			is.Equal(res.n, 5) // having copied its chunk
		})
	}
}
