// Package pipetest tests code that talks to a child process over pipes.
//
// [Pipe] makes an in-memory pipe that behaves as a Linux pipe: it blocks
// when full, counting its 64 KiB (512 KiB once it streams) in pages, keeps
// Writes of up to 4096 bytes atomic, reports EOF and broken pipes when an
// end closes, and honours deadlines, where an io.Pipe or a bytes.Buffer lets
// tests pass on code that fails on a real pipe. Options make it misbehave
// as a child can.
//
// [TestPipe] checks these behaviours on any pipe. [Main] and [Command] run
// the test binary itself as a child process.
package pipetest
