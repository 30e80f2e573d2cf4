//go:build unix && !linux && !darwin && !dragonfly && !freebsd && !netbsd && !openbsd

package anonpipe

import (
	"context"
	"errors"
	"os"
	"runtime"
)

func drain(context.Context, *os.File) error {
	return errors.New("anonpipe: Drain is not implemented on " + runtime.GOOS)
}
