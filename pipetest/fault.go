package pipetest

import (
	"fmt"
	"math"
	"time"
)

// maxCapacity is the most WithCapacity takes: the most anonpipe's
// WithBufferSize takes, which Linux rounds up to 2 GiB, the most its pipes
// hold. Where an int has 32 bits, the rounded 2 GiB is no int, and the
// limit is 1 GiB.
const maxCapacity = min(math.MaxInt32, math.MaxInt>>1+1)

// Option configures a pipe made by [Pipe]; of two that set the same thing,
// the last wins. Faults of Reads apply to WriteTo's reads too, and those of
// Writes to ReadFrom's writes. An option given an invalid value panics.
type Option func(*config)

// config is what the options set. The byte counts at which faults strike
// are math.MaxInt64 when unset, which no count reaches.
type config struct {
	capacity   int
	sized      bool // by WithCapacity, so the pipe never grows
	readLimit  int  // 0: no limit
	random     bool
	seed       uint64
	readErr    error
	readErrAt  int64
	writeErr   error
	writeErrAt int64
	hangAt     int64
	closeAt    int64
	latency    time.Duration
}

// WithCapacity sets how many bytes the pipe holds: n rounded up to a
// power-of-two number of 4096-byte pages, as Linux rounds it. Without it the
// pipe holds 65536 bytes, and 512 KiB once 1 MiB has gone through an end, as
// an anonpipe pipe on Linux does. As on Linux, a Write may take a page of its
// own, and a Read frees a page only once it has read all of it, so 16 Writes
// of 3000 bytes fill 64 KiB. Memory follows the bytes held, not n. WithCapacity panics unless
// 1 <= n <= 2147483647 (1 GiB with 32-bit ints), as [anonpipe.WithBufferSize].
func WithCapacity(n int) Option {
	if n < 1 || n > maxCapacity {
		panic(fmt.Sprintf("pipetest: WithCapacity(%d): capacity must be from 1 to %d bytes, as anonpipe.WithBufferSize takes",
			n, maxCapacity))
	}
	return func(c *config) { c.capacity, c.sized = n, true }
}

// WithReadLimit makes every Read return at most n bytes, as a pipe may,
// which shows code that expects a whole message from one Read. It panics if
// n < 1.
func WithReadLimit(n int) Option {
	if n < 1 {
		panic(fmt.Sprintf("pipetest: WithReadLimit(%d): limit must be at least 1", n))
	}
	return func(c *config) { c.readLimit = n }
}

// WithReadRandom makes every Read return a random number of bytes, from 1
// to what it would return otherwise. The numbers come from seed, so that a
// failure reproduces.
func WithReadRandom(seed uint64) Option {
	return func(c *config) { c.random, c.seed = true, seed }
}

// WithReadError makes Reads fail with err once n bytes have been read: the
// Read that reaches n returns the bytes before it, and every later Read
// 0, err. It panics if n < 0 or err is nil.
func WithReadError(n int64, err error) Option {
	if n < 0 || err == nil {
		panic(fmt.Sprintf("pipetest: WithReadError(%d, %v): need n >= 0 and a non-nil error", n, err))
	}
	return func(c *config) { c.readErr, c.readErrAt = err, n }
}

// WithWriteError makes Writes fail with err once n bytes have been written:
// the Write that would pass n writes the bytes before it and returns their
// count and err, and every later Write 0, err until the writer is closed.
// It panics if n < 0 or err is nil.
func WithWriteError(n int64, err error) Option {
	if n < 0 || err == nil {
		panic(fmt.Sprintf("pipetest: WithWriteError(%d, %v): need n >= 0 and a non-nil error", n, err))
	}
	return func(c *config) { c.writeErr, c.writeErrAt = err, n }
}

// WithReadHang makes Reads stop once n bytes have been read, as a child that
// hangs: later Reads block, whatever the writer does, until the reader is
// closed or its deadline passes; meanwhile the pipe fills. It panics if
// n < 0.
func WithReadHang(n int64) Option {
	if n < 0 {
		panic(fmt.Sprintf("pipetest: WithReadHang(%d): negative count", n))
	}
	return func(c *config) { c.hangAt = n }
}

// WithReadClose closes the read end once n bytes have been read, or at once
// if n is 0, as a child that dies: the Read that reaches n returns the bytes
// before it. It panics if n < 0.
func WithReadClose(n int64) Option {
	if n < 0 {
		panic(fmt.Sprintf("pipetest: WithReadClose(%d): negative count", n))
	}
	return func(c *config) { c.closeAt = n }
}

// WithReadLatency makes every Read wait d before it takes bytes, as a slow
// child: the pipe drains slowly, or output arrives late. Closing the reader
// or its deadline ends the wait. It panics if d < 0.
func WithReadLatency(d time.Duration) Option {
	if d < 0 {
		panic(fmt.Sprintf("pipetest: WithReadLatency(%v): negative duration", d))
	}
	return func(c *config) { c.latency = d }
}
