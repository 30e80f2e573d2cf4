//go:build unix

package anonpipe_test

import (
	"net"
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// startSocketpairChild starts the benchmark child with one end of a stream
// socketpair as descriptor 3, as go-plugin hands a plugin its connection.
func startSocketpairChild(b *testing.B, env, args []string) (duplex, func() error) {
	b.Helper()
	fds, err := socketpair(unix.SOCK_STREAM)
	if err != nil {
		b.Fatal(err)
	}
	ours, theirs := os.NewFile(uintptr(fds[0]), "socketpair"), os.NewFile(uintptr(fds[1]), "socketpair")
	c, err := net.FileConn(ours)
	ours.Close()
	if err != nil {
		theirs.Close()
		b.Fatal(err)
	}
	cmd := newBenchCmd(env, args)
	cmd.ExtraFiles = []*os.File{theirs}
	err = cmd.Start()
	theirs.Close()
	if err != nil {
		c.Close()
		b.Fatal(err)
	}
	return c.(duplex), func() error {
		c.(duplex).CloseWrite()
		err := cmd.Wait()
		c.Close()
		return err
	}
}
