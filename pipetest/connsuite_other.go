//go:build !plan9

package pipetest

import "syscall"

// connEPIPE is the system's broken-pipe error, which the writes of pipes and
// sockets report.
func connEPIPE() error { return syscall.EPIPE }
