//go:build !plan9

package pipetest

import "syscall"

// epipe is the system's broken-pipe error, which *os.File writes report.
func epipe() error { return syscall.EPIPE }
