package anonpipe

import (
	"fmt"
	"time"
)

// WithBusyPoll makes Read, when the pipe is empty, keep trying for up to d
// before it parks the goroutine on the runtime's poller, yielding the
// processor to other threads between tries. It is for request and reply
// over pipes, where every microsecond counts: a reply that comes within d is
// picked up without the cost of parking and waking a goroutine and of
// waking an idle processor. Use it on both sides of a conversation, with a
// d a little above the usual reply time (50µs, say).
//
// The price is processor time: each Read that waits uses up to d of it,
// even when nothing comes. Where every processor is busy, it gains little,
// as the other side's thread then runs only when the polling one yields.
// A deadline that expires while Read polls, or a Close, takes effect when
// the polling ends, at most d later; Close waits for that.
//
// It applies to the Reader that Pipe, Cmd.FromChild or OpenReader returns;
// Cmd.ToChild, which returns a Writer, fails with it. It works on Linux;
// elsewhere it has no effect. A d of zero or less makes the call fail.
func WithBusyPoll(d time.Duration) Option {
	if d <= 0 {
		return func(c *config) {
			c.err = fmt.Errorf("anonpipe: WithBusyPoll(%v): duration must be positive", d)
		}
	}
	return func(c *config) { c.busyPoll = d }
}
