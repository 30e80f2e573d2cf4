//go:build unix

package pipetest_test

import (
	"fmt"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/anonpipe/anonpipe/pipetest"
	"github.com/matryer/is"
)

// socketpair returns the two ends of a new Unix stream socketpair, as the
// *net.UnixConn values net.FileConn makes of them.
func socketpair() (net.Conn, net.Conn, error) {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("socketpair: %w", err)
	}
	conns := make([]net.Conn, 2)
	for i, fd := range fds {
		syscall.CloseOnExec(fd)
		f := os.NewFile(uintptr(fd), fmt.Sprintf("socketpair[%d]", i))
		conns[i], err = net.FileConn(f)
		f.Close() // FileConn made a copy
		if err != nil {
			if i == 0 {
				syscall.Close(fds[1])
			} else {
				conns[0].Close()
			}
			return nil, nil, fmt.Errorf("net.FileConn of a socketpair end: %w", err)
		}
	}
	return conns[0], conns[1], nil
}

// hiddenSocket hides the type of a socketpair's end from TestConn.
type hiddenSocket struct{ *net.UnixConn }

// TestConnSuiteSocketCloseRead shows why CloseReadBreaksPeer skips for a
// *net.UnixConn: with its type hidden, a socketpair fails it, as a Write
// of the peer blocked when CloseRead is called stays blocked.
func TestConnSuiteSocketCloseRead(t *testing.T) {
	if os.Getenv(catchEnv) == "hidden socketpair" {
		pipetest.TestConn(t, func() (net.Conn, net.Conn, func(), error) {
			c1, c2, err := socketpair()
			if err != nil {
				return nil, nil, nil, err
			}
			return hiddenSocket{c1.(*net.UnixConn)}, hiddenSocket{c2.(*net.UnixConn)}, nil, nil
		})
		return
	}
	out := connRun(t, "hidden socketpair", "-test.run=^"+t.Name()+"$/^CloseReadBreaksPeer$")
	is := is.New(t)
	test := t.Name() + "/CloseReadBreaksPeer"
	is.Equal(verdict(out, test), test+" FAIL")                                                     // the socketpair fails the sub-test
	is.True(strings.Contains(out, "c2.Write blocked when c1.CloseRead was called: still pending")) // as its blocked Write stays blocked
}
