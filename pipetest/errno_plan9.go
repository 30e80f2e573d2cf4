package pipetest

import "syscall"

// epipe is Plan 9's text for a write to a pipe nobody reads (anonpipe does
// not run there; this keeps pipetest compiling).
func epipe() error { return syscall.ErrorString("write on closed pipe") }
