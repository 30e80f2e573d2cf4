// Package pipetest tests code that talks to a child process over pipes.
//
// [Pipe] makes an in-memory pipe that behaves as a Linux pipe made by
// [anonpipe.Pipe]: it holds 64 KiB, counted in pages as Linux counts them,
// and blocks when full; it keeps Writes of up to 4096 bytes atomic, delivers
// io.EOF only once the writer is closed, reports a broken pipe once the
// reader is, and honours deadlines. An io.Pipe or a bytes.Buffer does none
// of this, so tests that use one pass on code that deadlocks or mishandles
// errors on a real pipe. Options make the pipe misbehave as a child can.
//
// [TestPipe] is the conformance suite behind these claims. It passes for
// os.Pipe on Unix, anonpipe.Pipe and Pipe, fails io.Pipe and a
// bytes.Buffer, and can check any pipe-like type.
//
// [Main] and [Command] run the test binary itself as a child process, for
// tests that need a real one.
package pipetest
