package anonpipe

import "os"

// onStdio is false on Windows, which has no SIGPIPE: a Writer there never
// takes the stdio path.
func onStdio(*os.File) bool { return false }

// writeStdio is write, should a Writer ever take the stdio path here.
func writeStdio(f *os.File, p []byte) (int, error) {
	return write(f, p)
}
