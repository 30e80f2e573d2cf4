//go:build unix && !linux && !darwin && !dragonfly && !freebsd && !netbsd && !openbsd

package anonpipe

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
)

func drain(context.Context, *os.File) error {
	return fmt.Errorf("anonpipe: Drain is not implemented on %s: %w", runtime.GOOS, errors.ErrUnsupported)
}
