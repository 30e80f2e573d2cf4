package anonpipe_test

// The reliability suite: every test is named TestReliability..., so
//
//	go test -run Reliability ./anonpipe
//
// runs it alone. Each test logs what it loaded (bytes, cycles, children,
// goroutines), what it broke, and what it verified, with the figures.
//
// The default run is shortened so that go test ./... stays quick; set
// ANONPIPE_RELIABILITY=full for the full figures (a GiB each way, 10,000
// start/wait cycles, ten seconds of load), which take minutes. The race
// detector shortens the default run further, as it makes every child slow to
// start.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
	"math/rand/v2"
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

// reliabilityEnv set to "full" runs the suite at full size.
const reliabilityEnv = "ANONPIPE_RELIABILITY"

// hangLimit bounds every wait for something that must happen soon (EOF after
// a kill, a broken pipe, a child's exit). It is not a timing assertion: it
// only turns a hang into a failure that names what hung.
const hangLimit = 10 * time.Second

type reliabilityScale struct {
	name       string
	bytes      int64         // integrity: bytes sent each way
	cycles     int           // leaks: start/wait cycles
	concurrent int           // leaks: children started at once
	goroutines int           // load: ping-pong goroutines, one child each
	loadFor    time.Duration // load: how long they play
}

func scale() reliabilityScale {
	return platformScale(baseScale())
}

func baseScale() reliabilityScale {
	switch {
	case os.Getenv(reliabilityEnv) == "full":
		return reliabilityScale{"full", 1 << 30, 10_000, 100, 64, 10 * time.Second}
	case raceEnabled:
		return reliabilityScale{"shortened, race", 16 << 20, 40, 50, 64, time.Second}
	case testing.Short():
		return reliabilityScale{"short", 16 << 20, 100, 50, 64, time.Second}
	}
	return reliabilityScale{"shortened (" + reliabilityEnv + "=full for the full run)", 64 << 20, 300, 100, 64, 2 * time.Second}
}

// addReliabilityChildren adds the roles the reliability tests start.
func addReliabilityChildren(m map[string]func([]string) int) {
	m["rel-hash"] = childHash
	m["rel-gen"] = childGen
	m["rel-middle"] = childMiddle
	m["rel-grand"] = childGrand
	m["rel-spawn"] = childSpawn
	m["rel-hold"] = childHold
	m["rel-sibling"] = childSibling
	m["rel-interop"] = childInterop
	addReliabilityPlatformChildren(m)
}

// stream is a deterministic source of n pseudo-random bytes: the output of a
// ChaCha8 generator seeded with seed, eight bytes at a time, the same bytes
// whatever the sizes of the reads that take them. Nothing is held in memory.
type stream struct {
	rng  *rand.ChaCha8
	left int64
	buf  [8]byte
	used int // bytes of buf already handed out
}

func newStream(seed uint64, n int64) *stream {
	var s [32]byte
	binary.LittleEndian.PutUint64(s[:], seed)
	return &stream{rng: rand.NewChaCha8(s), left: n, used: 8}
}

func (s *stream) Read(p []byte) (int, error) {
	if s.left == 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > s.left {
		p = p[:s.left]
	}
	n := copy(p, s.buf[s.used:])
	s.used += n
	for ; len(p)-n >= 8; n += 8 {
		binary.LittleEndian.PutUint64(p[n:], s.rng.Uint64())
	}
	if n < len(p) {
		binary.LittleEndian.PutUint64(s.buf[:], s.rng.Uint64())
		s.used = copy(p[n:], s.buf[:])
		n += s.used
	}
	s.left -= int64(n)
	return n, nil
}

// sizes returns a seeded source of I/O sizes from 1 byte to 256 KiB, spread
// evenly over their orders of magnitude, so that tiny writes and reads mix
// with ones larger than any pipe buffer.
func sizes(seed uint64) func() int {
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	return func() int { return 1 + rng.IntN(1<<rng.IntN(19)) }
}

const maxIOSize = 256 << 10

// writeRandom copies src to w in writes of random sizes, and returns the
// count and SHA-256 of what w accepted.
func writeRandom(w io.Writer, src io.Reader, sizeSeed uint64) (int64, [32]byte, error) {
	next := sizes(sizeSeed)
	buf := make([]byte, maxIOSize)
	h := sha256.New()
	var total int64
	for {
		n, err := io.ReadFull(src, buf[:next()])
		if n > 0 {
			m, werr := w.Write(buf[:n])
			h.Write(buf[:m])
			total += int64(m)
			if werr != nil {
				return total, sum(h), werr
			}
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return total, sum(h), nil
		}
		if err != nil {
			return total, sum(h), err
		}
	}
}

// readRandom reads r to EOF in reads of random sizes, and returns the count
// and SHA-256 of what it read.
func readRandom(r io.Reader, sizeSeed uint64) (int64, [32]byte, error) {
	next := sizes(sizeSeed)
	buf := make([]byte, maxIOSize)
	h := sha256.New()
	var total int64
	for {
		n, err := r.Read(buf[:next()])
		h.Write(buf[:n])
		total += int64(n)
		if err == io.EOF {
			return total, sum(h), nil
		}
		if err != nil {
			return total, sum(h), err
		}
	}
}

func sum(h hash.Hash) (s [32]byte) {
	h.Sum(s[:0])
	return s
}

func report(n int64, s [32]byte) string { return fmt.Sprintf("%d %x\n", n, s) }

func mibps(n int64, d time.Duration) string {
	return fmt.Sprintf("%.0f MiB/s", float64(n)/(1<<20)/d.Seconds())
}

// childHash reads the pipe named by args[0] to EOF in reads of random sizes
// (seeded by args[1]) and prints the count and SHA-256 of what it read.
func childHash(args []string) int {
	r, err := anonpipe.OpenReader(args[0])
	if err != nil {
		return fail("%v", err)
	}
	seed, _ := strconv.ParseUint(args[1], 10, 64)
	n, s, err := readRandom(r, seed)
	if err != nil {
		return fail("read after %d bytes: %v", n, err)
	}
	fmt.Print(report(n, s))
	return 0
}

// childGen writes args[1] bytes of the stream seeded by args[2] to the pipe
// named by args[0], in writes of random sizes (seeded by args[3]), closes it,
// and prints the count and SHA-256 of what it wrote.
func childGen(args []string) int {
	w, err := anonpipe.OpenWriter(args[0])
	if err != nil {
		return fail("%v", err)
	}
	size, _ := strconv.ParseInt(args[1], 10, 64)
	seed, _ := strconv.ParseUint(args[2], 10, 64)
	sizeSeed, _ := strconv.ParseUint(args[3], 10, 64)
	n, s, err := writeRandom(w, newStream(seed, size), sizeSeed)
	if err != nil {
		return fail("write after %d bytes: %v", n, err)
	}
	if err := w.Close(); err != nil {
		return fail("close: %v", err)
	}
	fmt.Print(report(n, s))
	return 0
}

func TestReliabilityIntegrity(t *testing.T) {
	sc := scale()
	t.Run("parent to child", func(t *testing.T) {
		is := is.New(t)
		c := child(t, "rel-hash")
		w, h, err := c.ToChild()
		is.NoErr(err) // attaching the pipe
		c.Args = append(c.Args, h, "11")
		var out bytes.Buffer
		c.Stdout = &out
		is.NoErr(c.Start()) // starting the child
		start := time.Now()
		n, s, err := writeRandom(w, newStream(1, sc.bytes), 12)
		is.NoErr(err)       // every write succeeds
		is.NoErr(w.Close()) // EOF for the child
		is.NoErr(c.Wait())  // the child read to EOF and exited
		d := time.Since(start)
		is.Equal(n, sc.bytes)                // the whole stream was written
		is.Equal(out.String(), report(n, s)) // the child read the same count and SHA-256
		t.Logf("loaded %d bytes of seeded random data, writes and reads of 1 B-256 KiB at random; verified count and SHA-256 %x on both sides; %v, %s",
			n, s[:8], d.Round(time.Millisecond), mibps(n, d))
	})
	t.Run("child to parent", func(t *testing.T) {
		is := is.New(t)
		c := child(t, "rel-gen")
		r, h, err := c.FromChild()
		is.NoErr(err) // attaching the pipe
		c.Args = append(c.Args, h, strconv.FormatInt(sc.bytes, 10), "2", "21")
		var out bytes.Buffer
		c.Stdout = &out
		is.NoErr(c.Start()) // starting the child
		start := time.Now()
		n, s, err := readRandom(r, 22)
		is.NoErr(err)      // every read succeeds until EOF
		is.NoErr(c.Wait()) // the child exits after closing its end
		d := time.Since(start)
		is.Equal(n, sc.bytes)                // the whole stream arrived
		is.Equal(out.String(), report(n, s)) // the child wrote the same count and SHA-256
		t.Logf("loaded %d bytes of seeded random data, writes and reads of 1 B-256 KiB at random; verified count and SHA-256 %x on both sides; %v, %s",
			n, s[:8], d.Round(time.Millisecond), mibps(n, d))
	})
	t.Run("zero-copy through files", func(t *testing.T) {
		// A regular file goes into the child with Writer.ReadFrom (called
		// directly: io.Copy would prefer *os.File's own WriteTo), the child
		// echoes it with io.Copy between its two ends (Reader.WriteTo into a
		// *Writer), and the echo lands in another file with io.Copy, that is
		// Reader.WriteTo(*os.File). Whatever fast paths exist run here.
		is := is.New(t)
		dir := t.TempDir()
		src, err := os.Create(dir + "/src")
		is.NoErr(err) // creating the source file
		defer src.Close()
		h := sha256.New()
		_, err = io.Copy(io.MultiWriter(src, h), newStream(3, sc.bytes))
		is.NoErr(err) // filling it with seeded random data
		want := sum(h)
		_, err = src.Seek(0, io.SeekStart)
		is.NoErr(err) // rewinding it
		dst, err := os.Create(dir + "/dst")
		is.NoErr(err) // creating the destination file
		defer dst.Close()

		c := child(t, "echo")
		w, wh, err := c.ToChild()
		is.NoErr(err) // attaching the pipe to the child
		r, rh, err := c.FromChild()
		is.NoErr(err) // attaching the pipe back
		c.Args = append(c.Args, wh, rh)
		is.NoErr(c.Start()) // starting the echo
		start := time.Now()
		sent := make(chan error, 1)
		go func() {
			_, err := w.ReadFrom(src)
			sent <- errors.Join(err, w.Close())
		}()
		n, err := io.Copy(dst, r)
		is.NoErr(err)      // Reader.WriteTo into the file succeeds
		is.NoErr(<-sent)   // Writer.ReadFrom from the file succeeds
		is.NoErr(c.Wait()) // the echo exits at EOF
		d := time.Since(start)
		is.Equal(n, sc.bytes) // every byte came back
		_, err = dst.Seek(0, io.SeekStart)
		is.NoErr(err) // rewinding the copy
		h.Reset()
		_, err = io.Copy(h, dst)
		is.NoErr(err)          // hashing the copy
		is.Equal(sum(h), want) // the copy is the original
		t.Logf("loaded %d bytes file -> Writer.ReadFrom -> child io.Copy(*Writer, *Reader) -> io.Copy(file, *Reader); verified SHA-256 %x; %v, %s",
			n, want[:8], d.Round(time.Millisecond), mibps(n, d))
	})
}

// await returns what ch delivers, or fails the test if nothing arrives
// within limit: a generous bound that names what hung, not a timing check.
func await[T any](t testing.TB, ch <-chan T, limit time.Duration, what string) T {
	t.Helper()
	timer := time.NewTimer(limit)
	defer timer.Stop()
	select {
	case v := <-ch:
		return v
	case <-timer.C:
		t.Fatalf("%s: nothing after %v", what, limit)
		panic("unreachable")
	}
}

type ioResult struct {
	n   int64
	err error
	at  time.Time
}

func TestReliabilityChildKilledMidStream(t *testing.T) {
	is := is.New(t)
	c := child(t, "echo")
	w, wh, err := c.ToChild()
	is.NoErr(err) // attaching the pipe to the child
	r, rh, err := c.FromChild()
	is.NoErr(err) // attaching the pipe back
	c.Args = append(c.Args, wh, rh)
	is.NoErr(c.Start()) // starting the echo

	flowing, wrote, read := echoUntilError(w, r, 4)
	await(t, flowing, hangLimit, "the first MiB of the echo")
	killed := time.Now()
	is.NoErr(c.Process.Kill()) // SIGKILL in mid-stream
	wr := await(t, wrote, hangLimit, "the parent's Write after the kill")
	rr := await(t, read, hangLimit, "the parent's Read after the kill")
	is.True(errors.Is(wr.err, anonpipe.ErrBrokenPipe)) // the parent's Write fails with ErrBrokenPipe, no SIGPIPE
	is.Equal(rr.err, io.EOF)                           // the parent's Read ends with EOF
	err = c.Wait()
	var ee *exec.ExitError
	is.True(errors.As(err, &ee)) // the child died of the kill
	t.Logf("loaded an endless echo; broke it with SIGKILL after %d bytes sent, %d echoed; verified: Write -> ErrBrokenPipe %v after the kill (%v), Read -> EOF %v after it; the parent process survived; child: %v",
		wr.n, rr.n, wr.at.Sub(killed).Round(time.Microsecond), wr.err, rr.at.Sub(killed).Round(time.Microsecond), c.ProcessState)
}

// childMiddle is the middle of a three-process chain. It starts the
// grandchild (rel-grand) with a pipe each way and streams through them until
// it is killed. The grandchild inherits this process's stderr, on which it
// reports.
func childMiddle([]string) int {
	gc := grandchild("rel-grand")
	to, th, err := gc.ToChild()
	if err != nil {
		return fail("%v", err)
	}
	from, fh, err := gc.FromChild()
	if err != nil {
		return fail("%v", err)
	}
	gc.Args = append(gc.Args, th, fh)
	if err := gc.Start(); err != nil {
		return fail("%v", err)
	}
	go io.Copy(io.Discard, from)
	io.Copy(to, newStream(5, 1<<62))
	return fail("the stream to the grandchild ended before this process was killed")
}

// childGrand reads and writes its pipes until its parent is killed, and
// reports on stderr what each saw. It exits on its own after a minute, so
// that a test that failed leaves no process behind.
func childGrand(args []string) int {
	time.AfterFunc(time.Minute, func() { os.Exit(3) })
	r, w, err := openEnds(args[0], args[1])
	if err != nil {
		return fail("%v", err)
	}
	var flowing sync.WaitGroup
	flowing.Add(2)
	go func() {
		flowing.Wait()
		fmt.Fprintln(os.Stderr, "grandchild: streaming")
	}()
	results := make(chan string, 2)
	go func() {
		var n int64
		buf := make([]byte, 32<<10)
		for {
			m, err := r.Read(buf)
			if n < 1<<20 && n+int64(m) >= 1<<20 {
				flowing.Done()
			}
			n += int64(m)
			if err != nil {
				results <- fmt.Sprintf("read: %s", errClass(err))
				return
			}
		}
	}()
	go func() {
		var n int64
		src := newStream(6, 1<<62)
		buf := make([]byte, 32<<10)
		for {
			src.Read(buf)
			m, err := w.Write(buf)
			if n < 1<<20 && n+int64(m) >= 1<<20 {
				flowing.Done()
			}
			n += int64(m)
			if err != nil {
				results <- fmt.Sprintf("write: %s", errClass(err))
				return
			}
		}
	}()
	a, b := <-results, <-results
	if a > b {
		a, b = b, a
	}
	fmt.Fprintf(os.Stderr, "grandchild: %s; %s\n", a, b)
	return 0
}

// errClass names the kind of an error, for reports that must not depend on
// the operating system's wording.
func errClass(err error) string {
	switch {
	case err == nil:
		return "ok"
	case err == io.EOF:
		return "EOF"
	case errors.Is(err, anonpipe.ErrBrokenPipe):
		return "broken pipe"
	case errors.Is(err, os.ErrClosed):
		return "closed"
	case errors.Is(err, os.ErrDeadlineExceeded):
		return "deadline exceeded"
	case errors.Is(err, anonpipe.ErrInvalidHandle):
		return "invalid handle"
	}
	return "other: " + err.Error()
}

// stderrPipe gives c a pipe for its standard error, which its children
// inherit, and returns the read end. It reaches EOF only when every process
// holding the write end has exited, and is how a grandchild reports.
func stderrPipe(t *testing.T, c *anonpipe.Cmd) *bufio.Reader {
	t.Helper()
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pr.Close(); pw.Close() })
	c.Stderr = pw
	return bufio.NewReader(pr)
}

// readLine reads a line from r, failing the test if none arrives within
// hangLimit.
func readLine(t *testing.T, r *bufio.Reader, what string) string {
	t.Helper()
	ch := make(chan string, 1)
	go func() {
		l, err := r.ReadString('\n')
		if err != nil {
			l += "<" + errClass(err) + ">"
		}
		ch <- l
	}()
	return await(t, ch, hangLimit, what)
}

func TestReliabilityParentKilled(t *testing.T) {
	is := is.New(t)
	c := child(t, "rel-middle")
	reports := stderrPipe(t, c)
	is.NoErr(c.Start())                                                     // starting the middle process, which starts the grandchild
	c.Stderr.(*os.File).Close()                                             // the middle and the grandchild hold the report pipe now
	is.Equal(readLine(t, reports, "grandchild"), "grandchild: streaming\n") // a MiB flowed each way between middle and grandchild
	killed := time.Now()
	is.NoErr(c.Process.Kill()) // SIGKILL to the middle process
	got := readLine(t, reports, "the grandchild's report")
	d := time.Since(killed)
	is.Equal(got, "grandchild: read: EOF; write: broken pipe\n")      // the orphaned grandchild saw EOF and ErrBrokenPipe
	is.Equal(readLine(t, reports, "EOF of the report pipe"), "<EOF>") // and exited
	is.True(c.Wait() != nil)                                          // the middle process died of the kill
	t.Logf("loaded a three-process chain streaming both ways; broke it by SIGKILL to the middle process; verified the grandchild's Read -> EOF and Write -> ErrBrokenPipe, reported %v after the kill",
		d.Round(time.Millisecond))
}

// childSpawn starts a grandchild (rel-hold) that outlives it, and exits
// without waiting for it. args[0] says what the grandchild gets:
//
//   - "nothing": this process opens the pipe named by args[1] and the
//     grandchild inherits nothing of it.
//   - "pipe": this process opens the pipe and hands it to the grandchild as
//     its standard output.
//   - "stdout": the grandchild inherits this process's standard output.
//   - "unopened": this process never opens the pipe named by args[1], so
//     on Unix the grandchild inherits it as it was inherited here.
//
// The grandchild always inherits this process's stdin, which keeps it alive,
// and its stderr, on which it reports.
func childSpawn(args []string) int {
	gc := grandchild("rel-hold")
	gc.Stdin = os.Stdin
	out := io.Writer(os.Stdout)
	switch args[0] {
	case "nothing", "pipe":
		w, err := anonpipe.OpenWriter(args[1])
		if err != nil {
			return fail("%v", err)
		}
		out = w
		if args[0] == "pipe" {
			gc.Stdout = w.File()
		}
	case "stdout":
		gc.Stdout = os.Stdout
	case "unopened":
		out = io.Discard
	}
	if err := gc.Start(); err != nil {
		return fail("%v", err)
	}
	if _, err := io.WriteString(out, "child done\n"); err != nil {
		return fail("%v", err)
	}
	return 0
}

// childHold reports "alive" on stderr, holds on until its stdin reaches EOF,
// then writes "late" to its stdout if that is a pipe and reports how the
// write went, and reports "bye".
func childHold([]string) int {
	time.AfterFunc(time.Minute, func() { os.Exit(3) })
	fmt.Fprintln(os.Stderr, "alive")
	io.Copy(io.Discard, os.Stdin)
	w, err := anonpipe.OpenWriter(stdoutHandle())
	if err != nil {
		fmt.Fprintln(os.Stderr, "late: stdout is not a pipe")
	} else {
		_, err := io.WriteString(w, "late\n")
		fmt.Fprintln(os.Stderr, "late:", errClass(err))
	}
	fmt.Fprintln(os.Stderr, "bye")
	return 0
}

// spawn starts the child rel-spawn with a FromChild pipe (unless mode is
// "stdout") and returns the pipe, the grandchild's reports, and the write end
// of the child's stdin, which keeps the grandchild alive until closed.
func spawn(t *testing.T, mode string) (*anonpipe.Cmd, *anonpipe.Reader, *bufio.Reader, *os.File) {
	t.Helper()
	is := is.NewRelaxed(t)
	c := child(t, "rel-spawn", mode)
	var r *anonpipe.Reader
	if mode != "stdout" { // every other mode gets a pipe
		var h string
		var err error
		r, h, err = c.FromChild()
		is.NoErr(err) // attaching the pipe
		c.Args = append(c.Args, h)
	}
	reports := stderrPipe(t, c)
	lifeR, lifeW, err := os.Pipe()
	is.NoErr(err) // making the grandchild's lifeline
	t.Cleanup(func() { lifeR.Close(); lifeW.Close() })
	c.Stdin = lifeR
	return c, r, reports, lifeW
}

func TestReliabilityGrandchild(t *testing.T) {
	t.Run("inherited nothing", func(t *testing.T) {
		is := is.New(t)
		c, r, reports, life := spawn(t, "nothing")
		is.NoErr(c.Start()) // starting the child
		c.Stderr.(*os.File).Close()
		c.Stdin.(*os.File).Close()
		is.Equal(readLine(t, reports, "grandchild"), "alive\n") // the grandchild runs
		got := make(chan string, 1)
		go func() {
			b, err := io.ReadAll(r)
			got <- string(b) + "<" + errClass(err) + ">"
		}()
		is.Equal(await(t, got, hangLimit, "EOF from a child whose grandchild lives on"), "child done\n<ok>") // EOF arrives while the grandchild lives
		is.NoErr(c.Wait())                                                                                   // the child exited
		is.NoErr(life.Close())                                                                               // letting the grandchild go
		is.Equal(readLine(t, reports, "grandchild"), "late: stdout is not a pipe\n")                         // the grandchild was still alive when EOF came
		is.Equal(readLine(t, reports, "grandchild"), "bye\n")                                                // and it ends
		t.Logf("loaded a child that opened its pipe and started a grandchild holding only stdin and stderr; verified EOF reached the parent while the grandchild lived")
	})
	t.Run("handed our pipe, Wait closes it", func(t *testing.T) {
		// The parent reads the pipe in a goroutine and calls Wait, as the
		// documentation says not to: Wait returns when the child exits,
		// without waiting for the grandchild, and the pending Read returns
		// os.ErrClosed. The grandchild's later write is a broken pipe.
		is := is.New(t)
		c, r, reports, life := spawn(t, "pipe")
		c.WaitDelay = time.Hour // shows that WaitDelay plays no part
		is.NoErr(c.Start())     // starting the child
		c.Stderr.(*os.File).Close()
		c.Stdin.(*os.File).Close()
		is.Equal(readLine(t, reports, "grandchild"), "alive\n") // the grandchild holds the pipe
		read := make(chan error, 1)
		go func() {
			_, err := io.ReadAll(r)
			read <- err
		}()
		start := time.Now()
		waited := make(chan error, 1)
		go func() { waited <- c.Wait() }()
		is.NoErr(await(t, waited, hangLimit, "Wait")) // Wait returns once the child exits
		d := time.Since(start)
		err := await(t, read, hangLimit, "the pending Read")
		is.True(errors.Is(err, os.ErrClosed))                               // the pending Read ends because Wait closed the reader
		is.NoErr(life.Close())                                              // letting the grandchild go
		is.Equal(readLine(t, reports, "grandchild"), "late: broken pipe\n") // it outlived Wait and finds the pipe closed
		is.Equal(readLine(t, reports, "grandchild"), "bye\n")               // and ends
		t.Logf("loaded a grandchild handed the child's pipe; verified anonpipe's Wait returned %v after the child exited, with WaitDelay 1h unused, and the pending Read got os.ErrClosed", d.Round(time.Millisecond))
	})
	t.Run("handed our pipe, reading to EOF", func(t *testing.T) {
		// The parent reads before Wait, as it should: the pipe does not
		// reach EOF when the child exits, but when the grandchild does.
		is := is.New(t)
		c, r, reports, life := spawn(t, "pipe")
		is.NoErr(c.Start()) // starting the child
		c.Stderr.(*os.File).Close()
		c.Stdin.(*os.File).Close()
		is.Equal(readLine(t, reports, "grandchild"), "alive\n") // the grandchild holds the pipe
		b := make([]byte, len("child done\n"))
		_, err := io.ReadFull(r, b)
		is.NoErr(err)                       // reading what the child wrote
		is.Equal(string(b), "child done\n") // before it exited
		is.NoErr(c.Cmd.Wait())              // the child has exited (exec.Cmd's Wait leaves our pipe open)
		is.NoErr(life.Close())              // now letting the grandchild go
		got := make(chan string, 1)
		go func() {
			b, err := io.ReadAll(r)
			got <- string(b) + "<" + errClass(err) + ">"
		}()
		is.Equal(await(t, got, hangLimit, "EOF once the grandchild exits"), "late\n<ok>") // no EOF before the grandchild wrote and exited
		is.Equal(readLine(t, reports, "grandchild"), "late: ok\n")                        // the grandchild's write went through
		is.Equal(readLine(t, reports, "grandchild"), "bye\n")                             // and it ended
		is.NoErr(c.Close())                                                               // releasing the reader exec.Cmd's Wait left open
		t.Logf("loaded a grandchild handed the child's pipe; verified the parent's Read got the grandchild's data after the child exited, and EOF only when the grandchild exited")
	})
	t.Run("handed exec's stdout pipe, WaitDelay", func(t *testing.T) {
		// With Stdout an io.Writer, exec copies from a pipe of its own in a
		// goroutine, and Wait waits for that copy: WaitDelay bounds it.
		is := is.New(t)
		c, _, reports, life := spawn(t, "stdout")
		var out bytes.Buffer
		c.Stdout = &out
		c.WaitDelay = time.Second
		is.NoErr(c.Start()) // starting the child
		c.Stderr.(*os.File).Close()
		c.Stdin.(*os.File).Close()
		is.Equal(readLine(t, reports, "grandchild"), "alive\n") // the grandchild holds exec's stdout pipe
		start := time.Now()
		waited := make(chan error, 1)
		go func() { waited <- c.Wait() }()
		err := await(t, waited, c.WaitDelay+hangLimit, "Wait")
		d := time.Since(start)
		is.True(errors.Is(err, exec.ErrWaitDelay))                          // Wait gave up on the pipe after WaitDelay
		is.True(d >= c.WaitDelay)                                           // not before
		is.Equal(out.String(), "child done\n")                              // what the child wrote was copied
		is.NoErr(life.Close())                                              // letting the grandchild go
		is.Equal(readLine(t, reports, "grandchild"), "late: broken pipe\n") // exec closed its end after WaitDelay
		is.Equal(readLine(t, reports, "grandchild"), "bye\n")               // and the grandchild ends
		t.Logf("loaded a grandchild holding exec's stdout pipe; verified Wait returned exec.ErrWaitDelay after %v (WaitDelay %v)", d.Round(time.Millisecond), c.WaitDelay)
	})
}

// newCycleCmd returns a child command for the leak cycles, which start too
// many children to register a cleanup for each as pipetest.Command does.
func newCycleCmd(env []string) *anonpipe.Cmd {
	c := anonpipe.Command(os.Args[0])
	c.Env = env
	c.Stderr = os.Stderr
	c.WaitDelay = hangLimit
	return c
}

// settledGoroutines returns the number of goroutines once it stops falling:
// goroutines that exec starts for a command can still be returning when
// Wait has.
func settledGoroutines(want int) int {
	deadline := time.Now().Add(hangLimit)
	for {
		n := runtime.NumGoroutine()
		if n <= want || time.Now().After(deadline) {
			return n
		}
		time.Sleep(time.Millisecond)
	}
}

func TestReliabilityStartWaitCycles(t *testing.T) {
	is := is.New(t)
	sc := scale()
	env := childEnviron(t, "echo")
	cycle := func(i int) error {
		c := newCycleCmd(env)
		defer c.Close()
		in, ih, err := c.ToChild()
		if err != nil {
			return err
		}
		out, oh, err := c.FromChild()
		if err != nil {
			return err
		}
		c.Args = append(c.Args, ih, oh)
		if err := c.Start(); err != nil {
			return err
		}
		// A pipe that never reaches EOF fails the cycle instead of hanging
		// the test (Windows has no deadlines; a hang there ends at the
		// test binary's timeout).
		out.SetReadDeadline(time.Now().Add(hangLimit))
		msg := fmt.Sprintf("cycle %d", i)
		_, werr := io.WriteString(in, msg)
		cerr := in.Close()
		b, rerr := io.ReadAll(out)
		if err := errors.Join(werr, cerr, rerr, c.Wait()); err != nil {
			return err
		}
		if string(b) != msg {
			return fmt.Errorf("cycle %d: echo %q", i, b)
		}
		return nil
	}
	is.NoErr(cycle(-1)) // a first cycle opens the runtime's own descriptors
	fdsBefore, countable := fdCount()
	gBefore := runtime.NumGoroutine()
	start := time.Now()
	for i := range sc.cycles {
		if err := cycle(i); err != nil {
			is.NoErr(err) // every cycle echoes its message and exits cleanly
		}
	}
	d := time.Since(start)
	fdsAfter, _ := fdCount()
	gAfter := settledGoroutines(gBefore)
	if countable {
		is.Equal(fdsAfter, fdsBefore) // no descriptor leaked
	}
	is.Equal(gAfter, gBefore) // no goroutine leaked
	t.Logf("loaded %d start/wait cycles (%s), two pipes each; verified descriptors %d -> %d (countable: %v), goroutines %d -> %d; %v, %v per cycle",
		sc.cycles, sc.name, fdsBefore, fdsAfter, countable, gBefore, gAfter, d.Round(time.Millisecond), (d / time.Duration(sc.cycles)).Round(time.Microsecond))
}

// childSibling reports the descriptors it inherited (Unix; nothing on
// Windows), then reads the pipe args[0] to EOF, writes what it read to the
// pipe args[1] and closes it, and stays alive until the pipe args[2]
// reaches EOF. A sibling that inherited another's pipe would keep that pipe
// from reaching EOF until it exits: with every child held alive until all
// have seen EOF, such a leak is a hang.
func childSibling(args []string) int {
	inherited := inheritedFDs()
	r, err := anonpipe.OpenReader(args[0])
	if err != nil {
		return fail("%v", err)
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return fail("read: %v", err)
	}
	w, err := anonpipe.OpenWriter(args[1])
	if err != nil {
		return fail("%v", err)
	}
	if _, err := fmt.Fprintf(w, "fds=[%s] data=%s", inherited, data); err != nil {
		return fail("write: %v", err)
	}
	if err := w.Close(); err != nil {
		return fail("close: %v", err)
	}
	release, err := anonpipe.OpenReader(args[2])
	if err != nil {
		return fail("%v", err)
	}
	io.Copy(io.Discard, release)
	return 0
}

func TestReliabilityConcurrentChildren(t *testing.T) {
	sc := scale()
	n := sc.concurrent
	type sibling struct {
		c       *anonpipe.Cmd
		release *anonpipe.Writer
		got     string
		err     error
	}
	sibs := make([]sibling, n)
	var started, eofs sync.WaitGroup
	env := childEnviron(t, "rel-sibling")
	start := time.Now()
	for i := range sibs {
		started.Add(1)
		eofs.Add(1)
		go func() {
			defer eofs.Done()
			s := &sibs[i]
			s.c = newCycleCmd(env)
			t.Cleanup(func() { s.c.Close() })
			in, ih, err1 := s.c.ToChild()
			out, oh, err2 := s.c.FromChild()
			rel, rh, err3 := s.c.ToChild()
			if s.err = errors.Join(err1, err2, err3); s.err != nil {
				started.Done()
				return
			}
			s.release = rel
			s.c.Args = append(s.c.Args, ih, oh, rh)
			s.err = s.c.Start()
			started.Done()
			if s.err != nil {
				return
			}
			started.Wait() // every child is running before any gets data
			_, err1 = fmt.Fprintf(in, "child %d", i)
			err2 = in.Close()
			b, err3 := io.ReadAll(out)
			s.got, s.err = string(b), errors.Join(err1, err2, err3)
		}()
	}
	started.Wait() // so that the watchdog below reads Process after Start wrote it
	allEOF := make(chan struct{})
	go func() { eofs.Wait(); close(allEOF) }()
	select {
	case <-allEOF:
	case <-time.After(time.Minute + time.Duration(n)*time.Second):
		for i := range sibs {
			if s := &sibs[i]; s.c.Process != nil {
				s.c.Process.Kill()
			}
			sibs[i].c.Close() // in case this process holds what keeps EOF away
		}
		<-allEOF
		t.Errorf("a pipe did not reach EOF while all %d children were alive: a sibling holds it", n)
	}
	d := time.Since(start)
	is := is.New(t)
	want := inheritedFDsWant(3)
	for i := range sibs {
		s := &sibs[i]
		is.NoErr(s.err)                                                 // the child ran, and its pipe reached EOF while all siblings lived
		is.Equal(s.got, fmt.Sprintf("fds=[%s] data=child %d", want, i)) // it held only its own three ends and read its own data
	}
	for i := range sibs {
		if s := &sibs[i]; s.release != nil {
			s.release.Close()
		}
	}
	for i := range sibs {
		if s := &sibs[i]; s.c.Process != nil {
			is.NoErr(s.c.Wait()) // every child exits once released
		}
	}
	t.Logf("loaded %d children started at once, three pipes each, all alive until every pipe reached EOF; verified each inherited exactly [%s] and read only its own data; %v",
		n, want, d.Round(time.Millisecond))
}

func TestReliabilityLoadPingPong(t *testing.T) {
	sc := scale()
	type result struct {
		trips, bytes int64
		err          error
	}
	results := make([]result, sc.goroutines)
	var wg sync.WaitGroup
	env := childEnviron(t, "echo")
	ready := make(chan struct{})
	var startWG sync.WaitGroup
	for id := range sc.goroutines {
		wg.Add(1)
		startWG.Add(1)
		go func() {
			defer wg.Done()
			res := &results[id]
			c := newCycleCmd(env)
			defer c.Close()
			w, wh, err1 := c.ToChild()
			r, rh, err2 := c.FromChild()
			if res.err = errors.Join(err1, err2); res.err == nil {
				c.Args = append(c.Args, wh, rh)
				res.err = c.Start()
			}
			startWG.Done()
			if res.err != nil {
				return
			}
			<-ready
			rng := rand.New(rand.NewPCG(uint64(id), 7))
			payload := make([]byte, 16<<10)
			for i := range payload {
				payload[i] = 'a' + byte(rng.IntN(26))
			}
			got := make([]byte, 16<<10+64)
			// Writes go through a goroutine of their own, so that a message
			// larger than both pipes' buffers (a Windows pipe holds 4 KiB)
			// cannot deadlock against the echo.
			msgs := make(chan []byte)
			wrote := make(chan error, 1)
			go func() {
				var err error
				for m := range msgs {
					if err == nil {
						_, err = w.Write(m)
					}
				}
				wrote <- err
			}()
			end := time.Now().Add(sc.loadFor)
			r.SetReadDeadline(end.Add(hangLimit)) // a lost echo fails instead of hanging (not on Windows)
			// At least minTrips round trips, so that every goroutine plays
			// however late the scheduler runs it; then until the end.
			const minTrips = 20
			for seq := 0; seq < minTrips || time.Now().Before(end); seq++ {
				msg := fmt.Appendf(nil, "id=%02d seq=%08d ", id, seq)
				off := rng.IntN(len(payload))
				msg = append(msg, payload[off:off+rng.IntN(len(payload)-off)]...)
				msg = append(msg, '\n')
				msgs <- msg
				if _, err := io.ReadFull(r, got[:len(msg)]); err != nil {
					res.err = fmt.Errorf("goroutine %d, message %d: read: %w", id, seq, err)
					break
				}
				if !bytes.Equal(got[:len(msg)], msg) {
					res.err = fmt.Errorf("goroutine %d, message %d: echo %.40q, want %.40q", id, seq, got[:len(msg)], msg)
					break
				}
				res.trips++
				res.bytes += int64(len(msg))
			}
			if res.err != nil {
				w.Close() // unblocks a pending Write
			}
			close(msgs)
			werr := errors.Join(<-wrote, w.Close())
			if res.err != nil {
				return
			}
			rest, rerr := io.ReadAll(r)
			if len(rest) > 0 {
				rerr = errors.Join(rerr, fmt.Errorf("goroutine %d: %d stray bytes after the last echo", id, len(rest)))
			}
			res.err = errors.Join(werr, rerr, c.Wait())
		}()
	}
	startWG.Wait()
	start := time.Now()
	close(ready)
	wg.Wait()
	d := time.Since(start)
	is := is.New(t)
	var trips, total int64
	for id := range results {
		is.NoErr(results[id].err)        // every goroutine's messages came back intact, in order, and its child exited cleanly
		is.True(results[id].trips >= 20) // every goroutine played
		trips += results[id].trips
		total += results[id].bytes
	}
	t.Logf("loaded %d goroutines each playing ping-pong with its own child for %v (%s); verified %d round trips, %d bytes each way, every message (id, sequence, random payload) echoed exactly; %.0f round trips/s in %v",
		sc.goroutines, sc.loadFor, sc.name, trips, total, float64(trips)/d.Seconds(), d.Round(time.Millisecond))
}

// childInterop answers every line read from the pipe args[0] with "go:" and
// the line on the pipe args[1], waiting with Drain until the peer has read
// each answer, and prints how many lines it answered on stderr at EOF. If
// args[1] is "dup", it answers on a duplicate of args[0]'s descriptor (a
// stream socket carries both directions).
func childInterop(args []string) int {
	r, err := anonpipe.OpenReader(args[0])
	if err != nil {
		return fail("%v", err)
	}
	out := args[1]
	if out == "dup" {
		if out, err = dupHandle(args[0]); err != nil {
			return fail("dup: %v", err)
		}
	}
	w, err := anonpipe.OpenWriter(out)
	if err != nil {
		return fail("%v", err)
	}
	lines := bufio.NewScanner(r)
	n := 0
	for lines.Scan() {
		if _, err := fmt.Fprintf(w, "go:%s\n", lines.Text()); err != nil {
			return fail("write: %v", err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), hangLimit)
		err := w.Drain(ctx)
		cancel()
		if err != nil {
			return fail("drain: %v", err)
		}
		n++
	}
	if err := lines.Err(); err != nil {
		return fail("read: %v", err)
	}
	if err := w.Close(); err != nil {
		return fail("close: %v", err)
	}
	fmt.Fprintf(os.Stderr, "go child: answered and drained %d lines\n", n)
	return 0
}

// interopLines returns n lines with varied content to send through a peer.
func interopLines(n int) []string {
	ls := make([]string, n)
	for i := range ls {
		ls[i] = fmt.Sprintf("line %d %s", i, strings.Repeat("x", i%97))
	}
	return ls
}

// echoUntilError writes a stream seeded with seed to w and reads r, each in
// a goroutine until its call fails, and reports each side's count, error
// and time of failure; flowing is closed once the first MiB has been read.
func echoUntilError(w io.Writer, r io.Reader, seed uint64) (flowing chan struct{}, wrote, read chan ioResult) {
	flowing = make(chan struct{})
	wrote, read = make(chan ioResult, 1), make(chan ioResult, 1)
	go func() {
		var res ioResult
		src := newStream(seed, 1<<62)
		buf := make([]byte, 32<<10)
		for res.err == nil {
			src.Read(buf)
			var n int
			n, res.err = w.Write(buf)
			res.n += int64(n)
		}
		res.at = time.Now()
		wrote <- res
	}()
	go func() {
		var res ioResult
		buf := make([]byte, 32<<10)
		for res.err == nil {
			var n int
			n, res.err = r.Read(buf)
			if res.n < 1<<20 && res.n+int64(n) >= 1<<20 {
				close(flowing)
			}
			res.n += int64(n)
		}
		res.at = time.Now()
		read <- res
	}()
	return flowing, wrote, read
}
