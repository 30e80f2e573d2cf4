//go:build unix

package anonpipe

import (
	"context"
	"os"
	"time"
)

// pollDrain calls empty with f's descriptor until it reports that the reader
// has taken every byte written to f, backing off from 50µs to 5ms between
// calls. It stops early when empty fails, f is closed or ctx ends.
func pollDrain(ctx context.Context, f *os.File, empty func(fd int) (bool, error)) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var timer *time.Timer
	for wait := 50 * time.Microsecond; ; wait = min(2*wait, 5*time.Millisecond) {
		var done bool
		var serr error
		if err := rc.Control(func(fd uintptr) { done, serr = empty(int(fd)) }); err != nil {
			return errClosed("drain", f)
		}
		if serr != nil {
			return &os.PathError{Op: "drain", Path: f.Name(), Err: serr}
		}
		if done {
			return nil
		}
		if timer == nil {
			timer = time.NewTimer(wait)
			defer timer.Stop()
		} else {
			timer.Reset(wait)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-timer.C:
		}
	}
}
