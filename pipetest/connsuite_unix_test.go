//go:build unix

package pipetest_test

import (
	"fmt"
	"net"
	"os"
	"syscall"
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
