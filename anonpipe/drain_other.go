//go:build unix && !linux

package anonpipe

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
)

// drain is not implemented here. On BSD kernels and macOS the bytes written
// to a pipe wait in the read end's buffer, and each kernel tells the write
// end something different about them, if anything; none of that can be run
// and tested here, so Drain says it is unsupported rather than guess.
func drain(_ context.Context, f *os.File) error {
	if err := checkOpen("drain", f); err != nil {
		return err
	}
	return fmt.Errorf("anonpipe: Drain is not supported on %s: %w", runtime.GOOS, errors.ErrUnsupported)
}
