//go:build !unix

package pipetest_test

import (
	"errors"
	"fmt"
	"net"
	"runtime"
)

// socketpair fails: the system has no socketpair.
func socketpair() (net.Conn, net.Conn, error) {
	return nil, nil, fmt.Errorf("no socketpair on %s: %w", runtime.GOOS, errors.ErrUnsupported)
}
