package pipetest

import (
	"fmt"
	"time"
)

// The options below make a pipe misbehave the way a child process at its
// other end can, so that a unit test can show what the code under test does
// then. Each acts on one end, named in its doc; the pipe otherwise behaves
// as a Linux pipe does. Byte counts are totals since the pipe was made.
// Faults of the read end also apply to the reads that [Reader.WriteTo] makes,
// and those of the write end to the Writes that [Writer.ReadFrom] makes.

// WithReadLimit makes every Read return at most n bytes, as a reader of a
// pipe can always get fewer bytes than it asked for: it shows code that
// assumes one Read returns a whole message.
//
// WithReadLimit panics if n is less than 1.
func WithReadLimit(n int) Option {
	if n < 1 {
		panic(fmt.Sprintf("pipetest: WithReadLimit(%d): limit must be at least 1", n))
	}
	return func(c *config) { c.readLimit = n }
}

// WithReadRandom makes every Read return a random number of bytes, at least
// 1 and at most what it would return otherwise (so at most the limit of
// [WithReadLimit] too). The sizes come from a generator seeded with seed:
// the same sequence of Reads gets the same sizes on every run, which makes a
// failure reproducible; a test can try many seeds.
func WithReadRandom(seed uint64) Option {
	return func(c *config) { c.random, c.seed = true, seed }
}

// WithReadError makes reading fail with err once n bytes have been read: the
// Read that reaches n returns only the bytes up to it, with a nil error, and
// every later Read returns 0, err, whatever the writer does. Other methods
// are unaffected: the read end stays open, so the writer can go on filling
// the pipe, and Close works. It stands for the read of a child's output
// failing midway.
//
// WithReadError panics if n is negative or err is nil.
func WithReadError(n int64, err error) Option {
	if n < 0 || err == nil {
		panic(fmt.Sprintf("pipetest: WithReadError(%d, %v): need n >= 0 and a non-nil error", n, err))
	}
	return func(c *config) { c.readErr, c.readErrAt = err, n }
}

// WithWriteError makes writing fail with err once n bytes have been written:
// the Write that would pass n writes the bytes up to it and returns their
// count and err, and every later Write returns 0, err (or an error matching
// os.ErrClosed once the writer is closed). The bytes before n reach the
// reader; the pipe is otherwise unaffected, and the reader sees EOF only when
// the writer is closed.
//
// WithWriteError panics if n is negative or err is nil.
func WithWriteError(n int64, err error) Option {
	if n < 0 || err == nil {
		panic(fmt.Sprintf("pipetest: WithWriteError(%d, %v): need n >= 0 and a non-nil error", n, err))
	}
	return func(c *config) { c.writeErr, c.writeErrAt = err, n }
}

// WithReadHang makes the read end stop reading once n bytes have been
// read, as a child that hangs: the Read that reaches n returns the bytes up
// to it, and every later Read blocks, even when bytes are ready or the writer
// is closed, until the reader is closed (os.ErrClosed) or its read deadline
// passes. Meanwhile the pipe fills and Writes block: the code under test must
// bound them, typically with a write deadline or by closing the writer, to
// get out.
//
// WithReadHang panics if n is negative.
func WithReadHang(n int64) Option {
	if n < 0 {
		panic(fmt.Sprintf("pipetest: WithReadHang(%d): negative count", n))
	}
	return func(c *config) { c.hang, c.hangAt = true, n }
}

// WithReadClose closes the read end once n bytes have been read, or at
// once if n is 0, as a child that crashes: the Read that reaches n returns
// the bytes up to it, then the bytes still unread are discarded, a Write
// blocked at that moment returns its partial count and an error matching
// [anonpipe.ErrBrokenPipe], and so does every later Write and Drain. Later
// Reads, and the reader's Close, return an error matching os.ErrClosed, as
// after any Close.
//
// WithReadClose panics if n is negative.
func WithReadClose(n int64) Option {
	if n < 0 {
		panic(fmt.Sprintf("pipetest: WithReadClose(%d): negative count", n))
	}
	return func(c *config) { c.crash, c.crashAt = true, n }
}

// WithReadLatency makes every Read of at least one byte wait d before it takes
// any, as a slow child would: when the child reads, the pipe drains slowly
// and the code writing to it blocks sooner; when the child writes, its output
// reaches the code reading it late. Writes are not delayed. The reads that
// WriteTo makes wait too, one wait per chunk. The wait ends early, and the
// Read fails as it would have otherwise, when the reader is closed or its
// deadline passes. d = 0 adds nothing.
//
// WithReadLatency panics if d is negative.
func WithReadLatency(d time.Duration) Option {
	if d < 0 {
		panic(fmt.Sprintf("pipetest: WithReadLatency(%v): negative duration", d))
	}
	return func(c *config) { c.latency = d }
}
