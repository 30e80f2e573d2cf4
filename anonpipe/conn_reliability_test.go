package anonpipe_test

// The reliability suite's checks of Conn; see reliability_test.go for how
// the suite is run and sized.

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/rpc"
	"net/rpc/jsonrpc"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anonpipe/anonpipe/anonpipe"
	"github.com/matryer/is"
)

func addConnReliabilityChildren(m map[string]func([]string) int) {
	m["rel-conn-both"] = childConnBoth
	m["rel-conn-rpc"] = childConnRPC
}

// connIO writes the seeded stream of size bytes on c, then closes c's
// writing half, while it reads c to EOF; both in writes and reads of random
// sizes. It returns the reports (count and SHA-256) of what it wrote and of
// what it read.
func connIO(c *anonpipe.Conn, size int64, seed, writeSizes, readSizes uint64) (wrote, read string, err error) {
	var wg sync.WaitGroup
	var werr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		n, s, err := writeRandom(c, newStream(seed, size), writeSizes)
		wrote, werr = report(n, s), errors.Join(err, c.CloseWrite())
	}()
	n, s, rerr := readRandom(c, readSizes)
	wg.Wait()
	return wrote, report(n, s), errors.Join(werr, rerr)
}

// childConnBoth streams args[1] bytes seeded by args[2] to the Conn args[0]
// while reading what comes from it, and prints the reports of what it wrote
// and what it read.
func childConnBoth(args []string) int {
	c, err := anonpipe.OpenConn(args[0])
	if err != nil {
		return fail("%v", err)
	}
	defer c.Close()
	size, _ := strconv.ParseInt(args[1], 10, 64)
	seed, _ := strconv.ParseUint(args[2], 10, 64)
	wrote, read, err := connIO(c, size, seed, seed+1, seed+2)
	if err != nil {
		return fail("%v", err)
	}
	fmt.Print(wrote, read)
	return 0
}

func TestReliabilityConnBothWaysAtOnce(t *testing.T) {
	is := is.New(t)
	sc := scale()
	c := child(t, "rel-conn-both")
	conn, h, err := c.Conn()
	is.NoErr(err) // attaching the Conn
	c.Args = append(c.Args, h, strconv.FormatInt(sc.bytes, 10), "31")
	var out bytes.Buffer
	c.Stdout = &out
	is.NoErr(c.Start()) // starting the child
	start := time.Now()
	wrote, read, err := connIO(conn, sc.bytes, 41, 42, 43)
	is.NoErr(err)      // every write and read succeeds, and each side reaches EOF
	is.NoErr(c.Wait()) // the child did the same and exited
	d := time.Since(start)
	childWrote, childRead, _ := strings.Cut(out.String(), "\n")
	is.Equal(childRead, wrote)                                             // the child read what the parent wrote: count and SHA-256
	is.Equal(childWrote+"\n", read)                                        // the parent read what the child wrote
	is.True(strings.HasPrefix(wrote, strconv.FormatInt(sc.bytes, 10)+" ")) // the whole stream went each way
	t.Logf("loaded %d bytes of seeded random data each way at once (%s), each side writing and reading concurrently in sizes of 1 B-256 KiB at random; verified count and SHA-256 on both sides, no deadlock; %v, %s each way",
		sc.bytes, sc.name, d.Round(time.Millisecond), mibps(sc.bytes, d))
}

func TestReliabilityConnChildKilledMidConversation(t *testing.T) {
	is := is.New(t)
	c := child(t, "conn-echo")
	conn, h, err := c.Conn()
	is.NoErr(err) // attaching the Conn
	c.Args = append(c.Args, h)
	is.NoErr(c.Start()) // starting the echo

	flowing, wrote, read := echoUntilError(conn, conn, 8)
	await(t, flowing, hangLimit, "the first MiB of the echo")
	killed := time.Now()
	is.NoErr(c.Process.Kill()) // killed mid-conversation
	wr := await(t, wrote, hangLimit, "the parent's Write after the kill")
	rr := await(t, read, hangLimit, "the parent's Read after the kill")
	is.True(errors.Is(wr.err, anonpipe.ErrBrokenPipe)) // the parent's Write fails with ErrBrokenPipe
	is.Equal(rr.err, io.EOF)                           // the parent's Read ends with io.EOF
	var ee *exec.ExitError
	is.True(errors.As(c.Wait(), &ee)) // the child died of the kill
	t.Logf("loaded an endless echo over a Conn; broke it by killing the child after %d bytes sent, %d echoed; verified Write -> ErrBrokenPipe %v after the kill, Read -> EOF %v after it",
		wr.n, rr.n, wr.at.Sub(killed).Round(time.Microsecond), rr.at.Sub(killed).Round(time.Microsecond))
}

// Worker is the RPC service of childConnRPC.
type Worker struct{}

// Add returns the sum of its two numbers.
func (Worker) Add(args [2]int, sum *int) error {
	*sum = args[0] + args[1]
	return nil
}

// Hang says "hanging" on standard output and never answers.
func (Worker) Hang(_ int, _ *int) error {
	fmt.Println("hanging")
	select {}
}

// childConnRPC serves Worker with JSON-RPC on the Conn args[0]. It exits
// on its own after a minute, so that a failed test leaves nothing behind.
func childConnRPC(args []string) int {
	time.AfterFunc(time.Minute, func() { os.Exit(3) })
	c, err := anonpipe.OpenConn(args[0])
	if err != nil {
		return fail("%v", err)
	}
	srv := rpc.NewServer()
	if err := srv.Register(Worker{}); err != nil {
		return fail("%v", err)
	}
	srv.ServeCodec(jsonrpc.NewServerCodec(c))
	return 0
}

func TestReliabilityConnChildKilledDuringRPC(t *testing.T) {
	is := is.New(t)
	c := child(t, "rel-conn-rpc")
	conn, h, err := c.Conn()
	is.NoErr(err) // attaching the Conn
	c.Args = append(c.Args, h)
	stdout, err := c.StdoutPipe()
	is.NoErr(err)       // reading what the child says
	is.NoErr(c.Start()) // starting the worker
	client := jsonrpc.NewClient(conn)
	defer client.Close()
	var sum int
	is.NoErr(client.Call("Worker.Add", [2]int{2, 3}, &sum)) // a call answered
	is.Equal(sum, 5)                                        // correctly

	var none int
	call := client.Go("Worker.Hang", 0, &none, nil)
	line, err := bufio.NewReader(stdout).ReadString('\n')
	is.NoErr(err)               // the worker says it is in the call
	is.Equal(line, "hanging\n") // ...
	killed := time.Now()
	is.NoErr(c.Process.Kill()) // killed during the call
	done := await(t, call.Done, hangLimit, "the call pending when the worker was killed")
	d := time.Since(killed)
	is.True(done.Error != nil) // the call fails rather than hang
	err = client.Call("Worker.Add", [2]int{1, 1}, &sum)
	is.Equal(err, rpc.ErrShutdown) // and later calls fail at once
	var ee *exec.ExitError
	is.True(errors.As(c.Wait(), &ee)) // the worker died of the kill
	t.Logf("loaded a JSON-RPC call the worker never answers; broke it by killing the worker; verified the pending call failed with %q %v after the kill, later calls with rpc.ErrShutdown",
		done.Error, d.Round(time.Microsecond))
}

// connChildren is how many Conn children TestReliabilityConnChildren starts.
func connChildren(sc reliabilityScale) int {
	if sc.name == "full" {
		return 1000
	}
	return min(sc.cycles, 100)
}

func TestReliabilityConnChildren(t *testing.T) {
	is := is.New(t)
	sc := scale()
	n := connChildren(sc)
	env := childEnviron(t, "conn-echo")
	cycle := func(i int) error {
		c := newCycleCmd(env)
		defer c.Close()
		conn, h, err := c.Conn()
		if err != nil {
			return err
		}
		c.Args = append(c.Args, h)
		if err := c.Start(); err != nil {
			return err
		}
		// A Conn that never reaches EOF fails the cycle rather than hang
		// it, where there are deadlines.
		conn.SetReadDeadline(time.Now().Add(hangLimit))
		msg := fmt.Sprintf("child %d", i)
		got, err := exchange(conn, []byte(msg), conn)
		if err := errors.Join(err, c.Wait()); err != nil {
			return fmt.Errorf("child %d: %w", i, err)
		}
		if string(got) != msg {
			return fmt.Errorf("child %d: echo %q", i, got)
		}
		if _, err := conn.Read(make([]byte, 1)); !errors.Is(err, os.ErrClosed) {
			return fmt.Errorf("child %d: Read after Wait: %v, want os.ErrClosed", i, err)
		}
		return nil
	}
	is.NoErr(cycle(-1)) // a first child opens the runtime's own descriptors
	fdsBefore, countable := fdCount()
	gBefore := runtime.NumGoroutine()
	start := time.Now()
	for i := range n {
		if err := cycle(i); err != nil {
			is.NoErr(err) // every child echoes its message and exits cleanly, and Wait closes the Conn
		}
	}
	d := time.Since(start)
	fdsAfter, _ := fdCount()
	gAfter := settledGoroutines(gBefore)
	if countable {
		is.Equal(fdsAfter, fdsBefore) // no descriptor left behind
	}
	is.Equal(gAfter, gBefore) // no goroutine left behind
	t.Logf("loaded %d Conn children started and waited for one after another (%s); verified each echo, the Conn closed by Wait, descriptors %d -> %d (countable: %v), goroutines %d -> %d; %v, %v per child",
		n, sc.name, fdsBefore, fdsAfter, countable, gBefore, gAfter, d.Round(time.Millisecond), (d / time.Duration(n)).Round(time.Microsecond))
}
