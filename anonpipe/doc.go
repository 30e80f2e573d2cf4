// Package anonpipe gives a parent process and its child a private, one-way
// byte channel: an anonymous pipe whose ends are an io.Reader and an
// io.Writer.
//
// It is the Go counterpart of .NET's AnonymousPipeServerStream and
// AnonymousPipeClientStream. The parent attaches a pipe to an exec.Cmd with
// [Cmd.ToChild] or [Cmd.FromChild], which returns the parent's end and the
// handle string to give the child, usually on its command line. The child
// turns that string back into its end with [OpenReader] or [OpenWriter].
//
// The package removes the traps of doing this by hand with os.Pipe and
// exec.Cmd.ExtraFiles:
//
//   - [Cmd.Start] closes the parent's copies of the child's ends, so the
//     parent sees EOF when the child exits, and [Cmd.Wait] closes the parent's
//     ends after the child exits.
//   - Every end is close-on-exec (not inheritable on Windows, where a child
//     end is inheritable only while [Cmd.Start] creates the child); a child
//     end goes only to the command it was made for, never to a sibling
//     started at the same time.
//   - The handle string is the descriptor number the child really sees.
//   - The child's end supports deadlines and Close unblocks a pending Read or
//     Write, as the parent's does (on Unix; see [Reader.SetReadDeadline] for
//     Windows).
//   - A write to a pipe whose reader is gone returns an error matching
//     [ErrBrokenPipe] instead of killing the process with SIGPIPE.
//   - [Writer.Drain] waits until the reader has consumed everything written,
//     on Linux, macOS, Windows, NetBSD and DragonFly; where the kernel cannot
//     tell (FreeBSD and OpenBSD pipes), it says so with an error instead of
//     guessing.
package anonpipe
