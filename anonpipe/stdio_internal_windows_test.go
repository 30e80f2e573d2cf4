package anonpipe

import (
	"bytes"
	"errors"
	"io"
	"os"
	"testing"

	"github.com/matryer/is"
)

// TestStdioWriterCountsWhatArrived closes a Writer that stands for one on
// handle 1 or 2 during a Write and an io.Copy into it: the count must be the
// bytes the reader gets, so the stdio path too writes in pieces.
func TestStdioWriterCountsWhatArrived(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789abcdef"), 1<<16)
	const head = 1000 // read before the Close, so that the write is under way
	for _, tc := range []struct {
		name  string
		write func(w *Writer) (int64, error)
	}{
		{"Write", func(w *Writer) (int64, error) { n, err := w.Write(data); return int64(n), err }},
		{"io.Copy", func(w *Writer) (int64, error) { return io.Copy(w, struct{ io.Reader }{bytes.NewReader(data)}) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			is := is.New(t)
			r, w, err := Pipe()
			is.NoErr(err) // making the pipe
			defer r.Close()
			w.stdio = true // as OpenWriter makes it on handle 1 or 2
			type result struct {
				n   int64
				err error
			}
			done := make(chan result, 1)
			go func() {
				n, err := tc.write(w)
				done <- result{n, err}
			}()
			got := make([]byte, head)
			_, err = io.ReadFull(r, got)
			is.NoErr(err)       // reading the start of the write
			is.NoErr(w.Close()) // closing the Writer while the write waits for room
			res := <-done
			is.True(errors.Is(res.err, os.ErrClosed)) // the write returns os.ErrClosed
			rest, err := io.ReadAll(r)
			is.NoErr(err)                                                     // reading what was written before the Close
			is.Equal(res.n, int64(head+len(rest)))                            // the count is exactly the bytes the reader gets
			is.True(bytes.Equal(append(got, rest...), data[:head+len(rest)])) // which are the start of the data, in order
		})
	}
}
