//go:build !unix && !windows

package anonpipe

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
)

// On systems with neither Unix pipes nor Windows handles (js, wasip1, plan9)
// the package compiles, and every constructor fails with errUnsupported.

var errUnsupported = fmt.Errorf("anonpipe: not supported on %s: %w", runtime.GOOS, errors.ErrUnsupported)

func newPipe(config) (*Reader, *Writer, error) { return nil, nil, errUnsupported }

func open(string, bool) (*os.File, func(), error) { return nil, nil, errUnsupported }

func newEndIO(*os.File, bool) endIO { return nil }

func (c *Cmd) attach(*os.File) (string, error) { return "", errUnsupported }

func (c *Cmd) checkAttached() error { return errUnsupported }

func (c *Cmd) startChild() error { return errUnsupported }

func isBrokenPipe(error) bool { return false }

func wrapDeadlineError(err error) error { return err }

func drain(context.Context, *os.File) error { return errUnsupported }

const handleBits = 64

func checkHandle(string, bool) (int, error) { return 0, errUnsupported }
