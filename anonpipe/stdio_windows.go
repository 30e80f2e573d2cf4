package anonpipe

import "os"

// onStdio is false on Windows, which has no SIGPIPE.
func onStdio(*os.File) bool { return false }

// writeStdio needs no SIGPIPE guard on Windows, which has no SIGPIPE, but
// keeps write's 4096-byte pieces, so that a write cut short counts exactly
// the bytes delivered.
func writeStdio(f *os.File, p []byte) (int, error) {
	return write(f, p)
}
