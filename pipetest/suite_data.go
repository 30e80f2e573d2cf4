package pipetest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"time"
)

// The sub-tests of what becomes of the bytes.

func testReadBufferNotRetained(c *check) {
	const sentinel = 0xAA
	fill := func(n int) []byte { return bytes.Repeat([]byte{sentinel}, n) }

	first := []byte("first")
	a := fill(64)
	ch := c.send(first, false)
	if n, err := c.read(a); n != len(first) || err != nil {
		c.t.Fatalf("a Read after a Write of %q returned %d, %v; want %d, nil", first, n, err, len(first))
	}
	c.sent(ch, first)

	b := fill(64)
	if c.readDeadlines() {
		c.setReadDeadline(time.Now().Add(tick))
		if n, err := c.read(b); n != 0 || !isTimeout(err) {
			c.t.Fatalf("a Read of an empty pipe with a deadline %v ahead returned %d, %v; %s", tick, n, err, wantTimeout)
		}
		c.setReadDeadline(time.Time{})
	}

	second := []byte("second")
	ch = c.send(second, true)
	c.same(c.readAll("a second Write"), second, "a second Write")
	c.sent(ch, second)
	c.same(a, append(slices.Clone(first), fill(64-len(first))...), "the buffer of a first Read, after later Writes")
	c.same(b, fill(64), "the buffer of a Read that timed out, after later Writes")
}

func testWriteBufferNotRetained(c *check) {
	big := slices.Clone(c.s.big)
	r, deadline := c.cutShort(c.readStart(big))
	// The Write returned: changing its buffer changes nothing in the pipe.
	clear(big)
	want := c.s.big[partK:r.n]
	if deadline {
		end := []byte("end")
		want = append(slices.Clone(want), end...)
		ch := goCall(func() result {
			n, err := c.write(end)
			if err == nil {
				err = c.tryClose("write end", c.w.Close)
			}
			return res(n, err)
		})
		defer c.sent(ch, end)
	}
	c.same(c.readAll("what follows a Write whose buffer changed after it returned"), want,
		"what follows a Write whose buffer changed after it returned")
}

// randomSize returns a size from 1 to 65536, about as many of each power of
// two.
func randomSize(rng *rand.Rand) int {
	return 1 + rng.IntN(1<<rng.IntN(17))
}

func testRandomMegabyte(c *check) {
	data := pattern(1<<20, 9)
	ch := goCall(func() error {
		rng := rand.New(rand.NewPCG(1, 2))
		for p := data; len(p) > 0; {
			n := min(len(p), randomSize(rng))
			if m, err := c.write(p[:n]); err != nil {
				return fmt.Errorf("Write of %d bytes returned %d, %v", n, m, err)
			}
			p = p[n:]
		}
		return c.tryClose("write end", c.w.Close)
	})
	rng := rand.New(rand.NewPCG(3, 4))
	got := make([]byte, 0, len(data))
	buf := make([]byte, 1<<16)
	for {
		n, err := c.read(buf[:randomSize(rng)])
		got = append(got, buf[:n]...)
		if err == io.EOF {
			break
		}
		if err != nil {
			c.t.Fatalf("Read after %d bytes: %v", len(got), err)
		}
	}
	if err := <-ch; err != nil {
		c.t.Fatalf("writing: %v", err)
	}
	c.same(got, data, "a megabyte written and read in random sizes")
}

// chunkReader returns its data in random chunks, the last one with io.EOF,
// as an io.Reader may.
type chunkReader struct {
	data []byte
	rng  *rand.Rand
}

func (r *chunkReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), randomSize(r.rng))], r.data)
	r.data = r.data[n:]
	if len(r.data) == 0 {
		return n, io.EOF
	}
	return n, nil
}

// refused is the error of a refusingWriter.
type refused struct{}

func (refused) Error() string { return "the writer takes no more bytes" }

// refusingWriter takes the first limit bytes written to it, then refuses
// the rest, keeping the first byte it refused.
type refusingWriter struct {
	limit   int
	got     bytes.Buffer
	refused []byte
}

func (w *refusingWriter) Write(p []byte) (int, error) {
	n := min(len(p), w.limit-w.got.Len())
	w.got.Write(p[:n])
	if n < len(p) {
		if w.refused == nil {
			w.refused = []byte{p[n]}
		}
		return n, refused{}
	}
	return n, nil
}

func testReadFromWriteTo(c *check) {
	rf, okRF := c.w.(io.ReaderFrom)
	wt, okWT := c.r.(io.WriterTo)
	if !okRF && !okWT {
		c.t.Skipf("neither the write end, a %T, is an io.ReaderFrom nor the read end, a %T, an io.WriterTo", c.w, c.r)
	}
	data := pattern(1<<20, 10)
	ch := goCall(func() error {
		var n int64
		var err error
		what := "Write"
		if okRF {
			what = "ReadFrom"
			func() {
				defer c.track(fmt.Sprintf("ReadFrom of %d bytes", len(data)))()
				n, err = rf.ReadFrom(&chunkReader{data, rand.New(rand.NewPCG(5, 6))})
			}()
		} else {
			var m int
			m, err = c.write(data)
			n = int64(m)
		}
		// Closed in any case, so that the reader gets to EOF.
		cerr := c.tryClose("write end", c.w.Close)
		if n != int64(len(data)) || err != nil {
			return fmt.Errorf("%s of %d bytes returned %d, %v; want %[2]d, nil", what, len(data), n, err)
		}
		return cerr
	})
	if !okWT {
		got := c.readAll("a megabyte copied with ReadFrom")
		if err := <-ch; err != nil {
			c.t.Fatal(err)
		}
		c.same(got, data, "a megabyte copied with ReadFrom")
		return
	}
	// WriteTo copies into a writer that refuses the last byte: it must
	// return the count the writer took, and its error.
	dst := &refusingWriter{limit: len(data) - 1}
	var n int64
	var err error
	func() {
		defer c.track("WriteTo")()
		n, err = wt.WriteTo(dst)
	}()
	if err != nil && !errors.Is(err, refused{}) {
		c.t.Fatalf("WriteTo returned %d, %v, having written %d bytes; want it to copy until its writer refuses the last byte",
			n, err, dst.got.Len())
	}
	if werr := <-ch; werr != nil {
		c.t.Fatal(werr)
	}
	c.same(append(dst.got.Bytes(), dst.refused...), data, "a megabyte copied with ReadFrom and WriteTo")
	if n != int64(dst.got.Len()) || !errors.Is(err, refused{}) {
		c.t.Fatalf("WriteTo into a writer that took %d bytes and refused the next returned %d, %v; want %d and the writer's error, %q",
			dst.got.Len(), n, err, dst.got.Len(), refused{})
	}
}
