// Command pipeclient is the client of the anonymous pipe example, the Go
// counterpart of the AnonymousPipeClientStream program in .NET's "How to: Use
// Anonymous Pipes for Local Interprocess Communication".
//
// Usage:
//
//	pipeclient HANDLE
//
// HANDLE is the read end of a pipe inherited from the parent, as the string
// the parent got from anonpipe's Cmd.ToChild: a descriptor number on Unix, a
// HANDLE value on Windows. Any parent can pass one: Python with
// subprocess.Popen's pass_fds, or a Unix shell, even through the standard
// input:
//
//	printf 'SYNC\nhello\n' | pipeclient 0
//
// pipeclient prints "[CLIENT] Wait for sync...", skips lines up to one that
// starts with SYNC, then prints "[CLIENT] Echo: LINE" for every further line,
// and exits 0 when the parent closes the pipe (1 if it does so before SYNC).
// A handle that is malformed,
// not open, not a pipe or the wrong end of one gives a single error line on
// stderr and exit status 1; a wrong number of arguments gives a usage line
// and exit status 2.
//
// pipeserver runs this client by default, so it is needed only to pair with
// another server.
package main

import (
	"os"

	"github.com/anonpipe/anonpipe/examples/internal/echo"
)

func main() {
	os.Exit(echo.Main(os.Args[1:], os.Stdout, os.Stderr))
}
