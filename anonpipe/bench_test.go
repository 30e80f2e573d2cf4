package anonpipe_test

import (
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/anonpipe/anonpipe/anonpipe"
	"github.com/matryer/is"
)

// The benchmarks compare anonpipe with the same work done by hand with
// os.Pipe and exec.Cmd.ExtraFiles ("os"). scripts/bench runs them, with a C
// baseline, in interleaved rounds; see BENCHMARKS.md.
//
// Cross-process benchmarks re-execute the test binary as a child (see
// children in main_test.go): timing starts once the child is running and
// ends once it reports having consumed every byte.

// addBenchChildren adds the children the benchmarks start.
func addBenchChildren(m map[string]func([]string) int) {
	m["bench-sink"] = childBenchSink
	m["bench-sink-os"] = childBenchSinkOS
	m["bench-pong"] = childBenchPong
	m["bench-pong-os"] = childBenchPongOS
}

const benchMiB = 1 << 20

var benchSizes = []struct {
	name string
	n    int
}{{"4KiB", 4 << 10}, {"64KiB", 64 << 10}, {"1MiB", 1 << 20}}

var benchPipeSizes = []struct {
	name string
	n    int // 0 for the kernel's default
}{{"default", 0}, {"64KiB", 64 << 10}, {"1MiB", 1 << 20}}

// sinkAckSize is the size of a sink's report: the byte count, then the
// voluntary and involuntary context switches of the child while it read.
const sinkAckSize = 24

// sink drains r with reads of chunk bytes, then reports the byte count and
// its context switches on ack (sinkAckSize bytes). It first sends one byte
// on ack, so the parent can start its clock once the child runs.
func sink(r io.Reader, ack io.Writer, chunk int) int {
	if _, err := ack.Write([]byte{'r'}); err != nil {
		return fail("ready: %v", err)
	}
	vol0, invol0, _ := contextSwitches()
	buf := make([]byte, chunk)
	var total uint64
	for {
		n, err := r.Read(buf)
		total += uint64(n)
		if err == io.EOF {
			break
		}
		if err != nil {
			return fail("read: %v", err)
		}
	}
	vol1, invol1, _ := contextSwitches()
	report := binary.LittleEndian.AppendUint64(nil, total)
	report = binary.LittleEndian.AppendUint64(report, vol1-vol0)
	report = binary.LittleEndian.AppendUint64(report, invol1-invol0)
	if _, err := ack.Write(report); err != nil {
		return fail("ack: %v", err)
	}
	return 0
}

// childBenchSink is the anonpipe sink: args are the data and ack handles,
// the chunk size, then optionally a WithBusyPoll duration for the data
// Reader.
func childBenchSink(args []string) int {
	var opts []anonpipe.Option
	if len(args) > 3 {
		d, err := time.ParseDuration(args[3])
		if err != nil {
			return fail("%v", err)
		}
		opts = append(opts, anonpipe.WithBusyPoll(d))
	}
	r, ack, err := openEnds(args[0], args[1], opts...)
	if err != nil {
		return fail("%v", err)
	}
	chunk, _ := strconv.Atoi(args[2])
	return sink(r, ack, chunk)
}

// childBenchSinkOS is the hand-written sink: the data and ack pipes are
// descriptors 3 and 4 from ExtraFiles, in blocking mode as exec.Cmd leaves
// them; args[0] is the chunk size.
func childBenchSinkOS(args []string) int {
	chunk, _ := strconv.Atoi(args[0])
	return sink(os.NewFile(3, "data"), os.NewFile(4, "ack"), chunk)
}

// pong answers each byte read from r with that byte plus one, until EOF.
func pong(r io.Reader, w io.Writer) int {
	b := make([]byte, 1)
	for {
		if _, err := r.Read(b); err == io.EOF {
			return 0
		} else if err != nil {
			return fail("read: %v", err)
		}
		b[0]++
		if _, err := w.Write(b); err != nil {
			return fail("write: %v", err)
		}
	}
}

// childBenchPong answers on anonpipe ends: args are the handles, then
// optionally a WithBusyPoll duration.
func childBenchPong(args []string) int {
	var opts []anonpipe.Option
	if len(args) > 2 {
		d, err := time.ParseDuration(args[2])
		if err != nil {
			return fail("%v", err)
		}
		opts = append(opts, anonpipe.WithBusyPoll(d))
	}
	r, w, err := openEnds(args[0], args[1], opts...)
	if err != nil {
		return fail("%v", err)
	}
	return pong(r, w)
}

func childBenchPongOS([]string) int {
	return pong(os.NewFile(3, "down"), os.NewFile(4, "up"))
}

// benchPeer is a running benchmark child and the parent's ends of its two
// pipes.
type benchPeer struct {
	w    io.WriteCloser
	r    io.ReadCloser
	wait func() error
}

// startBenchChild starts role with a pipe to it (sized pipeSize, if not 0)
// and one back. The hand-written kind gets the child's ends as descriptors
// 3 and 4 through ExtraFiles; the anonpipe kind gets handles as arguments,
// before args, and busy, if not 0, for the pipe back (WithBusyPoll).
func startBenchChild(b *testing.B, kind, role string, pipeSize int, busy time.Duration, args ...string) *benchPeer {
	b.Helper()
	switch kind {
	case "os":
		if runtime.GOOS == "windows" {
			b.Skip("exec.Cmd.ExtraFiles is not supported on Windows")
		}
		dr, dw, err := os.Pipe()
		if err != nil {
			b.Fatal(err)
		}
		if pipeSize > 0 {
			if err := setPipeSize(dw, pipeSize); err != nil {
				b.Fatal(err)
			}
		}
		ur, uw, err := os.Pipe()
		if err != nil {
			b.Fatal(err)
		}
		cmd := exec.Command(os.Args[0], args...)
		cmd.Env = childEnviron(b, role+"-os")
		cmd.Stderr = os.Stderr
		cmd.ExtraFiles = []*os.File{dr, uw}
		err = cmd.Start()
		dr.Close()
		uw.Close()
		if err != nil {
			b.Fatal(err)
		}
		return &benchPeer{w: dw, r: ur, wait: func() error {
			dw.Close()
			err := cmd.Wait()
			ur.Close()
			return err
		}}
	case "anonpipe":
		cmd := anonpipe.Command(os.Args[0])
		cmd.Env = childEnviron(b, role)
		cmd.Stderr = os.Stderr
		var opts []anonpipe.Option
		if pipeSize > 0 {
			opts = append(opts, anonpipe.WithBufferSize(pipeSize))
		}
		w, down, err := cmd.ToChild(opts...)
		if err != nil {
			b.Fatal(err)
		}
		var back []anonpipe.Option
		if busy > 0 {
			back = append(back, anonpipe.WithBusyPoll(busy))
		}
		r, up, err := cmd.FromChild(back...)
		if err != nil {
			b.Fatal(err)
		}
		cmd.Args = append(cmd.Args, append([]string{down, up}, args...)...)
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		return &benchPeer{w: w, r: r, wait: func() error {
			w.Close()
			return cmd.Wait()
		}}
	}
	b.Fatalf("unknown kind %q", kind)
	return nil
}

// reportMiBps adds a MiB/s metric, which scripts/bench reads.
func reportMiBps(b *testing.B, bytesPerOp int64) {
	if s := b.Elapsed().Seconds(); s > 0 {
		b.ReportMetric(float64(bytesPerOp)*float64(b.N)/s/benchMiB, "MiB/s")
	}
}

// BenchmarkThroughput writes chunks to a child that reads them with
// buffers of the same size. In anonpipe-busypoll the child's Reader uses
// WithBusyPoll.
func BenchmarkThroughput(b *testing.B) {
	for _, kind := range []string{"os", "anonpipe", "anonpipe-busypoll"} {
		for _, cs := range benchSizes {
			for _, ps := range benchPipeSizes {
				b.Run(fmt.Sprintf("%s/chunk=%s/pipe=%s", kind, cs.name, ps.name), func(b *testing.B) {
					benchThroughput(b, kind, cs.n, ps.n)
				})
			}
		}
	}
}

func benchThroughput(b *testing.B, kind string, chunk, pipeSize int) {
	b.ReportAllocs()
	args := []string{strconv.Itoa(chunk)}
	if kind == "anonpipe-busypoll" {
		kind = "anonpipe"
		args = append(args, benchBusyPoll.String())
	}
	p := startBenchChild(b, kind, "bench-sink", pipeSize, 0, args...)
	buf := make([]byte, chunk)
	ack := make([]byte, sinkAckSize)
	if _, err := io.ReadFull(p.r, ack[:1]); err != nil {
		b.Fatalf("child not ready: %v", err)
	}
	b.SetBytes(int64(chunk))
	vol0, invol0, counted := contextSwitches()
	b.ResetTimer()
	for range b.N {
		if _, err := p.w.Write(buf); err != nil {
			b.Fatal(err)
		}
	}
	p.w.Close()
	if _, err := io.ReadFull(p.r, ack); err != nil {
		b.Fatalf("no count from the child: %v", err)
	}
	b.StopTimer()
	vol1, invol1, _ := contextSwitches()
	if got := binary.LittleEndian.Uint64(ack); got != uint64(chunk)*uint64(b.N) {
		b.Fatalf("child read %d bytes, want %d", got, chunk*b.N)
	}
	reportMiBps(b, int64(chunk))
	if counted {
		// Each voluntary switch is a sleep that a wake-up ends; involuntary
		// ones are preemptions, which cost a switch as well.
		vol := vol1 - vol0 + binary.LittleEndian.Uint64(ack[8:])
		invol := invol1 - invol0 + binary.LittleEndian.Uint64(ack[16:])
		b.ReportMetric(float64(vol)/float64(b.N), "vcsw/chunk")
		b.ReportMetric(float64(vol+invol)/float64(b.N), "wakeups/chunk")
	}
	if err := p.wait(); err != nil {
		b.Fatal(err)
	}
}

// benchBusyPoll is the WithBusyPoll duration of the busy-poll ping-pong.
const benchBusyPoll = 50 * time.Microsecond

// BenchmarkPingPong sends one byte to a child, which answers with one
// byte, on two pipes. In anonpipe-busypoll both Readers use WithBusyPoll.
func BenchmarkPingPong(b *testing.B) {
	for _, kind := range []string{"os", "anonpipe", "anonpipe-busypoll"} {
		b.Run(kind, func(b *testing.B) {
			b.ReportAllocs()
			var p *benchPeer
			if kind == "anonpipe-busypoll" {
				p = startBenchChild(b, "anonpipe", "bench-pong", 0, benchBusyPoll, benchBusyPoll.String())
			} else {
				p = startBenchChild(b, kind, "bench-pong", 0, 0)
			}
			benchPingPong(b, p.w, p.r)
			if err := p.wait(); err != nil {
				b.Fatal(err)
			}
		})
	}
}

func benchPingPong(b *testing.B, w io.Writer, r io.Reader) {
	one := []byte{0}
	// One round trip before the clock starts, so that the child is running.
	if _, err := w.Write(one); err != nil {
		b.Fatal(err)
	}
	if _, err := io.ReadFull(r, one); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		want := one[0] + 1
		if _, err := w.Write(one); err != nil {
			b.Fatal(err)
		}
		if _, err := r.Read(one); err != nil {
			b.Fatal(err)
		}
		if one[0] != want {
			b.Fatalf("reply %d, want %d", one[0], want)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e3, "µs/rtt")
}

// BenchmarkInProcessThroughput writes 64 KiB chunks to a goroutine that
// reads them.
func BenchmarkInProcessThroughput(b *testing.B) {
	const chunk = 64 << 10
	run := func(b *testing.B, r io.Reader, w io.WriteCloser) {
		b.ReportAllocs()
		b.SetBytes(chunk)
		done := make(chan error, 1)
		go func() {
			buf := make([]byte, chunk)
			for {
				if _, err := r.Read(buf); err != nil {
					if err == io.EOF {
						err = nil
					}
					done <- err
					return
				}
			}
		}()
		buf := make([]byte, chunk)
		b.ResetTimer()
		for range b.N {
			if _, err := w.Write(buf); err != nil {
				b.Fatal(err)
			}
		}
		w.Close()
		if err := <-done; err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		reportMiBps(b, chunk)
	}
	b.Run("os", func(b *testing.B) {
		r, w, err := os.Pipe()
		if err != nil {
			b.Fatal(err)
		}
		defer r.Close()
		run(b, r, w)
	})
	b.Run("anonpipe", func(b *testing.B) {
		r, w, err := anonpipe.Pipe()
		if err != nil {
			b.Fatal(err)
		}
		defer r.Close()
		run(b, r, w)
	})
}

// benchCopySize is what one op of BenchmarkCopy copies.
const benchCopySize = 64 << 20

// benchFile returns a file of size bytes in the page cache.
func benchFile(b *testing.B, size int) *os.File {
	b.Helper()
	f, err := os.CreateTemp(b.TempDir(), "bench")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { f.Close() })
	chunk := make([]byte, 1<<20)
	for i := range chunk {
		chunk[i] = byte(i * 7)
	}
	for n := 0; n < size; n += len(chunk) {
		if _, err := f.Write(chunk[:min(len(chunk), size-n)]); err != nil {
			b.Fatal(err)
		}
	}
	return f
}

// benchPipe returns a pipe's ends as the copy under test sees them
// (anonpipe's Reader and Writer, or *os.File) and as *os.File, for the
// helpers that feed and drain it. size is the pipe's, or 0 for the default.
func benchPipe(b *testing.B, kind string, size int) (r io.Reader, w io.WriteCloser, rf, wf *os.File) {
	b.Helper()
	if kind == "os" {
		rf, wf, err := os.Pipe()
		if err != nil {
			b.Fatal(err)
		}
		if size > 0 {
			if err := setPipeSize(wf, size); err != nil {
				b.Fatal(err)
			}
		}
		return rf, wf, rf, wf
	}
	var opts []anonpipe.Option
	if size > 0 {
		opts = append(opts, anonpipe.WithBufferSize(size))
	}
	ar, aw, err := anonpipe.Pipe(opts...)
	if err != nil {
		b.Fatal(err)
	}
	return ar, aw, ar.File(), aw.File()
}

// BenchmarkCopy times io.Copy between a pipe and a file, /dev/null or
// another pipe, with anonpipe's ends and with plain *os.File ends, with
// pipes of the default size and of 1 MiB. Whatever feeds or drains the pipes
// besides the copy under test is the same for both (a splice on Linux, so
// that it costs next to nothing but its wake-ups).
func BenchmarkCopy(b *testing.B) {
	for _, ps := range benchPipeSizes {
		b.Run("pipe="+ps.name, func(b *testing.B) { benchCopies(b, ps.n) })
	}
}

func benchCopies(b *testing.B, size int) {
	for _, kind := range []string{"os", "anonpipe"} {
		b.Run("file-to-pipe/"+kind, func(b *testing.B) {
			src := benchFile(b, benchCopySize)
			benchCopy(b, func() {
				_, w, rf, _ := benchPipe(b, kind, size)
				drained := drainPipe(rf)
				if _, err := src.Seek(0, io.SeekStart); err != nil {
					b.Fatal(err)
				}
				n, err := io.Copy(w, src)
				w.Close()
				benchCopied(b, n, err, <-drained)
			})
		})
		for _, dst := range []string{"devnull", "discard", "file", "pipe"} {
			b.Run("pipe-to-"+dst+"/"+kind, func(b *testing.B) {
				src := benchFile(b, benchCopySize)
				var out io.Writer
				var next func() (finish func() error)
				switch dst {
				case "devnull":
					null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
					if err != nil {
						b.Fatal(err)
					}
					defer null.Close()
					out = null
				case "discard":
					out = io.Discard
				case "file":
					f := benchFile(b, benchCopySize) // overwritten in place
					out = f
					next = func() func() error {
						if _, err := f.Seek(0, io.SeekStart); err != nil {
							b.Fatal(err)
						}
						return func() error { return nil }
					}
				case "pipe":
					next = func() func() error {
						_, w2, rf2, _ := benchPipe(b, kind, size)
						out = w2
						drained := drainPipe(rf2)
						return func() error {
							w2.Close()
							return <-drained
						}
					}
				}
				benchCopy(b, func() {
					finish := func() error { return nil }
					if next != nil {
						finish = next()
					}
					r, _, rf, wf := benchPipe(b, kind, size)
					fed := feedPipe(wf, src, benchCopySize)
					n, err := io.Copy(out, r)
					rf.Close()
					if ferr := <-fed; ferr != nil {
						b.Fatal(ferr)
					}
					benchCopied(b, n, err, finish())
				})
			})
		}
	}
}

func benchCopy(b *testing.B, op func()) {
	b.ReportAllocs()
	b.SetBytes(benchCopySize)
	b.ResetTimer()
	for range b.N {
		op()
	}
	b.StopTimer()
	reportMiBps(b, benchCopySize)
}

func benchCopied(b *testing.B, n int64, err, helperErr error) {
	b.Helper()
	if err != nil || helperErr != nil || n != benchCopySize {
		b.Fatalf("copied %d bytes of %d: %v, %v", n, benchCopySize, err, helperErr)
	}
}

// BenchmarkSpawn starts a child that exits at once, with one pipe each way:
// Command, ToChild, FromChild, Start and Wait against exec.Cmd, two
// os.Pipe calls and ExtraFiles. A child's start-up takes milliseconds and
// varies by tens of percent from one run to the next, so "paired"
// alternates the two within one run and reports both, for a ratio that
// such drift does not skew.
func BenchmarkSpawn(b *testing.B) {
	env := childEnviron(b, "exit")
	report := func(b *testing.B, total time.Duration, n int, unit string) {
		b.ReportMetric(float64(total.Nanoseconds())/float64(n)/1e3, unit)
	}
	b.Run("os", func(b *testing.B) {
		if runtime.GOOS == "windows" {
			b.Skip("exec.Cmd.ExtraFiles is not supported on Windows")
		}
		b.ReportAllocs()
		for range b.N {
			spawnOS(b, env)
		}
		report(b, b.Elapsed(), b.N, "µs/spawn")
	})
	b.Run("anonpipe", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			spawnAnonpipe(b, env)
		}
		report(b, b.Elapsed(), b.N, "µs/spawn")
	})
	b.Run("paired", func(b *testing.B) {
		if runtime.GOOS == "windows" {
			b.Skip("exec.Cmd.ExtraFiles is not supported on Windows")
		}
		var tOS, tAnonpipe time.Duration
		for i := range b.N {
			for k := range 2 {
				t0 := time.Now()
				if (i+k)%2 == 0 {
					spawnOS(b, env)
					tOS += time.Since(t0)
				} else {
					spawnAnonpipe(b, env)
					tAnonpipe += time.Since(t0)
				}
			}
		}
		report(b, tOS, b.N, "os-µs/spawn")
		report(b, tAnonpipe, b.N, "anonpipe-µs/spawn")
	})
}

func spawnOS(b *testing.B, env []string) {
	cmd := exec.Command(os.Args[0])
	cmd.Env = env
	dr, dw, err := os.Pipe()
	if err != nil {
		b.Fatal(err)
	}
	ur, uw, err := os.Pipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.ExtraFiles = []*os.File{dr, uw}
	err = cmd.Start()
	dr.Close()
	uw.Close()
	if err != nil {
		b.Fatal(err)
	}
	err = cmd.Wait()
	dw.Close()
	ur.Close()
	if err != nil {
		b.Fatal(err)
	}
}

func spawnAnonpipe(b *testing.B, env []string) {
	cmd := anonpipe.Command(os.Args[0])
	cmd.Env = env
	if _, _, err := cmd.ToChild(); err != nil {
		b.Fatal(err)
	}
	if _, _, err := cmd.FromChild(); err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		b.Fatal(err)
	}
}

// TestReadWriteDoNotAllocate checks that Read and Write on real pipe ends
// allocate nothing in steady state, in both read modes.
func TestReadWriteDoNotAllocate(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []anonpipe.Option
	}{
		{"default", nil},
		{"WithBusyPoll", []anonpipe.Option{anonpipe.WithBusyPoll(time.Microsecond)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, w := pipe(t, tc.opts...)
			checkNoAllocs(t, r, w)
		})
	}
}

// checkNoAllocs checks that a 4 KiB Write to w and the Reads of it from r
// allocate nothing, and neither does a Read from r that finds nothing and
// waits while another goroutine writes.
func checkNoAllocs(t *testing.T, r io.Reader, w io.Writer) {
	is := is.New(t)
	out, in := make([]byte, 4096), make([]byte, 4096)
	allocs := testing.AllocsPerRun(1000, func() {
		if _, err := w.Write(out); err != nil {
			panic(err)
		}
		if _, err := io.ReadFull(r, in); err != nil {
			panic(err)
		}
	})
	is.Equal(allocs, 0.0) // a Write and a Read allocate nothing
	kick := make(chan struct{})
	defer close(kick)
	go func() {
		for range kick {
			w.Write(out[:1])
		}
	}()
	allocs = testing.AllocsPerRun(1000, func() {
		kick <- struct{}{}
		if _, err := r.Read(in[:1]); err != nil {
			panic(err)
		}
	})
	is.Equal(allocs, 0.0) // a Read that waits allocates nothing
}
