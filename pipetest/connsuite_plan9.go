package pipetest

import "syscall"

// connEPIPE is Plan 9's text for a write to a pipe nobody reads (anonpipe
// does not run there; this keeps TestConn compiling).
func connEPIPE() error { return syscall.ErrorString("write on closed pipe") }
