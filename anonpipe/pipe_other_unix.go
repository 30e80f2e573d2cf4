//go:build unix && !linux

package anonpipe

import "os"

// setBufferSize does nothing: BSD and macOS kernels size pipe buffers
// themselves and offer no call to change them.
func setBufferSize(*os.File, int) error {
	return nil
}

// newGrowth returns nil: these kernels size a pipe's buffer themselves.
func newGrowth(*os.File, config) *growth { return nil }
