package anonpipe

import (
	"fmt"
	"time"
)

// WithBusyPoll makes Read, finding the pipe empty, retry for up to d before
// it waits the usual way. Use it on both sides of a request and reply, with
// d a little above the usual reply time (50µs, say): a reply within d then
// costs no wake-up of a parked goroutine. Each Read that waits spends up to
// d of processor time, for little gain where every processor is busy; a
// deadline or Close takes effect up to d late. Pipe, Cmd.FromChild,
// OpenReader and the makers of a Conn take it; Cmd.ToChild fails with it.
// It has an effect only on Linux. A d of zero or less makes the call fail.
func WithBusyPoll(d time.Duration) Option {
	if d <= 0 {
		return func(c *config) {
			c.err = fmt.Errorf("anonpipe: WithBusyPoll(%v): duration must be positive", d)
		}
	}
	return func(c *config) { c.busyPoll = d }
}
