package anonpipe_test

import (
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/anonpipe/anonpipe/anonpipe"
)

// The Conn benchmarks compare a Conn between a parent and its child with
// the two other private channels a parent can give a child: a Unix
// socketpair, which go-plugin uses on Unix, and a TCP connection over
// loopback, which it uses on Windows. The same child code runs on each,
// through net.Conn; scripts/bench runs them in interleaved rounds.

func addConnBenchChildren(m map[string]func([]string) int) {
	m["bench-conn"] = childBenchConn
}

// connKinds are the channels compared. conn-busypoll is a Conn with
// WithBusyPoll on both sides; conn-256KiB one whose pipes hold 256 KiB
// (WithBufferSize), a socket's buffering rather than a pipe's 64 KiB.
var connKinds = []string{"conn", "conn-busypoll", "conn-256KiB", "socketpair", "tcp"}

// connBufferSize is conn-256KiB's WithBufferSize.
const connBufferSize = 256 << 10

// duplex is what the benchmarks need of a channel.
type duplex interface {
	io.ReadWriteCloser
	CloseWrite() error
}

// childBenchConn is the child of the Conn benchmarks. args: the kind of
// channel; what names it (a handle string, an address, or nothing for a
// socketpair, which is descriptor 3); the role, "pong" or "sink"; and the
// message or chunk size.
func childBenchConn(args []string) int {
	var c duplex
	var err error
	switch args[0] {
	case "conn", "conn-256KiB":
		c, err = anonpipe.OpenConn(args[1])
	case "conn-busypoll":
		c, err = anonpipe.OpenConn(args[1], anonpipe.WithBusyPoll(benchBusyPoll))
	case "socketpair":
		var nc net.Conn
		f := os.NewFile(3, "socketpair")
		nc, err = net.FileConn(f)
		f.Close()
		if err == nil {
			c = nc.(duplex)
		}
	case "tcp":
		var nc net.Conn
		if nc, err = net.Dial("tcp", args[1]); err == nil {
			c = nc.(duplex)
		}
	default:
		err = fmt.Errorf("unknown kind %q", args[0])
	}
	if err != nil {
		return fail("%v", err)
	}
	defer c.Close()
	size, _ := strconv.Atoi(args[3])
	if args[2] == "sink" {
		return sink(c, c, size)
	}
	buf := make([]byte, size)
	for {
		if _, err := io.ReadFull(c, buf); err == io.EOF {
			return 0
		} else if err != nil {
			return fail("read: %v", err)
		}
		if _, err := c.Write(buf); err != nil {
			return fail("write: %v", err)
		}
	}
}

// startConnChild starts the benchmark child on a channel of the given kind,
// in role with size, and returns the parent's side and a function that
// closes it and waits for the child.
func startConnChild(b *testing.B, kind, role string, size int) (duplex, func() error) {
	b.Helper()
	args := func(target string) []string { return []string{kind, target, role, strconv.Itoa(size)} }
	env := childEnviron(b, "bench-conn")
	switch kind {
	case "conn", "conn-busypoll", "conn-256KiB":
		cmd := anonpipe.Command(os.Args[0])
		cmd.Env = env
		cmd.Stderr = os.Stderr
		var opts []anonpipe.Option
		switch kind {
		case "conn-busypoll":
			opts = append(opts, anonpipe.WithBusyPoll(benchBusyPoll))
		case "conn-256KiB":
			opts = append(opts, anonpipe.WithBufferSize(connBufferSize))
		}
		c, h, err := cmd.Conn(opts...)
		if err != nil {
			b.Fatal(err)
		}
		cmd.Args = append(cmd.Args, args(h)...)
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		return c, func() error {
			c.CloseWrite()
			return cmd.Wait()
		}
	case "socketpair":
		return startSocketpairChild(b, env, args("-"))
	case "tcp":
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		defer ln.Close()
		cmd := newBenchCmd(env, args(ln.Addr().String()))
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		c, err := ln.Accept()
		if err != nil {
			cmd.Process.Kill()
			cmd.Wait()
			b.Fatal(err)
		}
		return c.(duplex), func() error {
			c.(duplex).CloseWrite()
			err := cmd.Wait()
			c.Close()
			return err
		}
	}
	b.Fatalf("unknown kind %q", kind)
	return nil, nil
}

// connMessageSizes are the sizes of BenchmarkConnRoundTrip's messages.
var connMessageSizes = []struct {
	name string
	n    int
}{{"1B", 1}, {"1KiB", 1 << 10}, {"64KiB", 64 << 10}}

// BenchmarkConnRoundTrip sends a message to a child, which sends it back:
// a request and its response, in µs per round trip.
func BenchmarkConnRoundTrip(b *testing.B) {
	for _, ms := range connMessageSizes {
		for _, kind := range connKinds {
			b.Run(ms.name+"/"+kind, func(b *testing.B) {
				b.ReportAllocs()
				c, wait := startConnChild(b, kind, "pong", ms.n)
				out, in := make([]byte, ms.n), make([]byte, ms.n)
				// One round trip before the clock starts, so that the child runs.
				roundTrip := func() {
					if _, err := c.Write(out); err != nil {
						b.Fatal(err)
					}
					if _, err := io.ReadFull(c, in); err != nil {
						b.Fatal(err)
					}
				}
				roundTrip()
				b.ResetTimer()
				for range b.N {
					roundTrip()
				}
				b.StopTimer()
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e3, "µs/rtt")
				if err := wait(); err != nil {
					b.Fatal(err)
				}
			})
		}
	}
}

// BenchmarkConnStream writes 64 KiB chunks to a child that reads them with
// a buffer of the same size and reports the count at EOF.
func BenchmarkConnStream(b *testing.B) {
	const chunk = 64 << 10
	for _, kind := range connKinds {
		b.Run(kind, func(b *testing.B) {
			b.ReportAllocs()
			c, wait := startConnChild(b, kind, "sink", chunk)
			buf := make([]byte, chunk)
			ack := make([]byte, sinkAckSize)
			if _, err := io.ReadFull(c, ack[:1]); err != nil {
				b.Fatalf("child not ready: %v", err)
			}
			b.SetBytes(chunk)
			b.ResetTimer()
			for range b.N {
				if _, err := c.Write(buf); err != nil {
					b.Fatal(err)
				}
			}
			if err := c.CloseWrite(); err != nil {
				b.Fatal(err)
			}
			if _, err := io.ReadFull(c, ack); err != nil {
				b.Fatalf("no count from the child: %v", err)
			}
			b.StopTimer()
			if got := binary.LittleEndian.Uint64(ack); got != uint64(chunk)*uint64(b.N) {
				b.Fatalf("child read %d bytes, want %d", got, chunk*b.N)
			}
			reportMiBps(b, chunk)
			if err := wait(); err != nil {
				b.Fatal(err)
			}
		})
	}
}

// newBenchCmd returns an exec.Cmd of this test binary as the benchmark child.
func newBenchCmd(env, args []string) *anonpipe.Cmd {
	cmd := anonpipe.Command(os.Args[0], args...)
	cmd.Env = env
	cmd.Stderr = os.Stderr
	cmd.WaitDelay = time.Minute
	return cmd
}
