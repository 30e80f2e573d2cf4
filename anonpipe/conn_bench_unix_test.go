//go:build unix

package anonpipe_test

import (
	"net"
	"os"
	"syscall"
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

// BenchmarkConnKernelCost writes 64 KiB into a pipe or a socketpair and
// reads them back, in one thread, with blocking system calls: what the
// kernel alone costs to move the bytes of one direction of a 64 KiB round
// trip, with no wake-up, poller or second process. It explains the 64 KiB
// rows of BenchmarkConnRoundTrip (see BENCHMARKS.md).
func BenchmarkConnKernelCost(b *testing.B) {
	for _, kind := range []string{"pipe", "socketpair"} {
		b.Run(kind, func(b *testing.B) {
			var fds [2]int
			var err error
			if kind == "pipe" {
				syscall.ForkLock.Lock() // as socketpair does: no child gets these
				if err = unix.Pipe(fds[:]); err == nil {
					unix.CloseOnExec(fds[0])
					unix.CloseOnExec(fds[1])
				}
				syscall.ForkLock.Unlock()
			} else {
				fds, err = socketpair(unix.SOCK_STREAM)
			}
			if err != nil {
				b.Fatal(err)
			}
			defer unix.Close(fds[0])
			defer unix.Close(fds[1])
			buf := make([]byte, 64<<10) // what the default pipe holds
			b.ReportAllocs()
			b.SetBytes(int64(len(buf)))
			for range b.N {
				if n, err := unix.Write(fds[1], buf); err != nil || n != len(buf) {
					b.Fatalf("write: %d, %v", n, err)
				}
				for got := 0; got < len(buf); {
					n, err := unix.Read(fds[0], buf[got:])
					if err != nil {
						b.Fatal(err)
					}
					got += n
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e3, "µs/op")
		})
	}
}
