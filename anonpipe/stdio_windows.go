package anonpipe

import "os"

// onStdio is false on Windows, which has no SIGPIPE.
func onStdio(*os.File) bool { return false }

// writeStdio needs no special path on Windows, which has no SIGPIPE.
func writeStdio(f *os.File, p []byte) (int, error) {
	return f.Write(p)
}
