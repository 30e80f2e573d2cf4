// Package anonpipe gives a parent process and its child a private one-way
// byte channel: an anonymous pipe whose ends are an io.Reader and an
// io.Writer, like .NET's AnonymousPipeServerStream and
// AnonymousPipeClientStream.
//
// The parent attaches a pipe to a command with [Cmd.ToChild] or
// [Cmd.FromChild], which return the parent's end and a handle string for
// the child, usually passed as an argument. The child turns the handle back
// into its end with [OpenReader] or [OpenWriter]. [Cmd.Start] closes the
// parent's copies of the child's ends, so that the parent sees EOF or
// [ErrBrokenPipe] once the child is done, and [Cmd.Wait] closes the
// parent's ends. A child's end reaches only its own command. [Cmd.Conn]
// and [OpenConn] do the same with a pipe each way, as one net.Conn.
//
// Tested on Linux, and on Windows under Wine; compiled, never run, for
// macOS and the BSDs. On js, wasip1 and plan9 every constructor returns an
// error matching errors.ErrUnsupported.
package anonpipe
