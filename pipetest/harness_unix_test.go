//go:build unix

package pipetest_test

import (
	"errors"
	"syscall"
)

// processGone reports whether no process, not even a zombie, has this pid.
func processGone(pid int) bool {
	return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}
