package anonpipe

import "sync/atomic"

// growAfter is how many bytes an end moves before it enlarges its pipe.
const growAfter = 1 << 20

// growth enlarges, once, a pipe that turns out to carry a stream. A pipe
// hands over one buffer-full at a time: each time the writer finds it full
// or the reader empty, that side sleeps until the other wakes it, and on a
// machine where such a wake-up takes longer than the other side needs to
// fill or empty the buffer, the two take turns instead of working side by
// side. Linux's default 64 KiB lasts tens of microseconds between two Go
// programs streaming, which on a virtual machine is about what a wake-up
// across processors takes (BENCHMARKS.md). A larger buffer fixes that, but
// Linux charges every pipe's size to its user, and past a limit
// (/proc/sys/fs/pipe-user-pages-soft) gives that user's new pipes, in any
// of their programs, a few pages only: so a pipe grows only once it has
// carried growAfter bytes, and pipes used for a few messages keep the
// default.
type growth struct {
	moved atomic.Int64
	grow  func()
}

// add counts n bytes moved through the end, and grows the pipe as their
// total passes growAfter. Past it, a load is all it costs: no more counting.
func (g *growth) add(n int64) {
	if g == nil || n <= 0 || g.moved.Load() >= growAfter {
		return
	}
	if m := g.moved.Add(n); m >= growAfter && m-n < growAfter {
		g.grow()
	}
}
