// Package pipetest tests code that talks to a child process over pipes.
//
// [Pipe] makes an in-memory pipe whose ends behave as those of a Linux pipe
// made by [anonpipe.Pipe], with options that make it misbehave as a child
// can; [TestPipe] is the conformance suite that shows the fake, os.Pipe and
// anonpipe.Pipe behave alike, and that any other pipe can be run through.
// The package also runs the test binary itself as a child, with [Command]
// and [Main], for tests that need a real process.
//
// # Why not io.Pipe or bytes.Buffer
//
// Unit tests of code that writes to a child, or reads from one, usually put
// an io.Pipe or a bytes.Buffer where the pipe goes. Neither behaves like a
// pipe, so such tests pass on code that fails in production:
//
//   - A bytes.Buffer never fills, so a Write never blocks: code that writes
//     a whole request before reading the reply, or that has no deadline for
//     a child that stops reading, passes and then deadlocks on a real pipe,
//     which holds 64 KiB on Linux. Its Read returns io.EOF whenever it is
//     empty, not once the writer has closed; Close does nothing; it has no
//     deadlines and never reports a broken pipe.
//   - An io.Pipe holds nothing: every Write, even of no bytes, waits for a
//     Read, and Read of no bytes waits for a Write, so tests hang on code
//     that is fine. It reports io.ErrClosedPipe where a pipe reports a
//     broken pipe ([anonpipe.ErrBrokenPipe]) or a closed end (os.ErrClosed),
//     so error handling is tested against errors production never sees, and
//     it has no deadlines.
//
// A [Pipe] blocks once full, and counts its room as a Linux pipe does: in
// slots of one 4096-byte page each, 16 of them (64 KiB) unless
// [WithCapacity] says otherwise. A write puts its bytes beyond whole pages
// into the newest page only if they all fit there, and the rest into fresh
// pages, a slot each; a read frees a slot only once it has read its page to
// the end. So small writes can fill the pipe with far fewer than 64 KiB
// unread; other systems count their room otherwise (macOS in bytes) and
// block at other points. It keeps writes of up to 4096 bytes atomic;
// delivers the bytes still buffered after the writer closes, then io.EOF;
// fails writes once the reader is closed with an error matching
// anonpipe.ErrBrokenPipe, use of a closed end with os.ErrClosed and calls
// past a deadline with os.ErrDeadlineExceeded, as *os.PathError values like
// those of an *os.File; unblocks pending calls on Close and on deadlines;
// and has Drain, WriteTo and ReadFrom as anonpipe's ends do. It needs no
// descriptor and starts no goroutine, its Reads and Writes do not allocate,
// and it is faster than an os.Pipe.
//
// # Faults
//
// Options make the far end of a Pipe misbehave as children do, so a test
// can show what the code under test does then: reads that return few bytes
// ([WithReadLimit]) or random amounts ([WithReadRandom]), a read or write
// that fails after some bytes ([WithReadError], [WithWriteError]), a child
// that stops reading ([WithReadHang]) or crashes ([WithReadClose]), and a
// slow child ([WithReadLatency]). The examples test a small function that sends
// a job to a worker process against each.
//
// # Conformance
//
// TestPipe checks a pipe against the behaviours above, each in a named
// sub-test, in the manner of testing/fstest and golang.org/x/net/nettest. The
// package's own tests run it on os.Pipe, anonpipe.Pipe and Pipe at several
// capacities, and show that it fails io.Pipe and a bytes.Buffer.
//
// What a Pipe cannot mimic: its ends have no File method and no descriptor,
// so they cannot be handed to a real process; and each end is one value,
// where a real end can be duplicated into several processes, all of which
// must close it.
package pipetest
