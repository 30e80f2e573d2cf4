package anonpipe_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/anonpipe/anonpipe/anonpipe"
	"github.com/matryer/is"
)

// catChild returns a child, not yet started, that copies a pipe to its
// standard output, out, and the parent's end of that pipe.
func catChild(t *testing.T) (c *anonpipe.Cmd, w *anonpipe.Writer, out *bytes.Buffer) {
	t.Helper()
	is := is.New(t)
	c = child(t, "cat")
	w, h, err := c.ToChild()
	is.NoErr(err) // attaching a pipe to the child
	c.Args = append(c.Args, h)
	out = new(bytes.Buffer)
	c.Stdout = out
	return c, w, out
}

func TestServerClosesPipe_ClientReceivesEOF(t *testing.T) {
	is := is.New(t)
	c, w, out := catChild(t)
	is.NoErr(c.Start()) // starting the child

	_, err := io.WriteString(w, "hello, child")
	is.NoErr(err)                          // writing to the child
	is.NoErr(w.Close())                    // closing our end is the child's EOF
	is.NoErr(c.Wait())                     // the child saw EOF and exited by itself
	is.Equal(out.String(), "hello, child") // the child read everything before EOF
}

func TestClientClosesPipe_ServerReceivesEOF(t *testing.T) {
	is := is.New(t)
	c := child(t, "closewriter")
	r, rh, err := c.FromChild()
	is.NoErr(err) // attaching the child's output pipe
	keepAlive, kh, err := c.ToChild()
	is.NoErr(err) // attaching the pipe that keeps the child alive
	c.Args = append(c.Args, rh, kh)
	is.NoErr(c.Start()) // starting the child

	b, err := io.ReadAll(r)
	is.NoErr(err)               // EOF arrives while the child is still running
	is.Equal(string(b), "x")    // what the child wrote before closing
	is.NoErr(keepAlive.Close()) // letting the child exit
	is.NoErr(c.Wait())          // the child exits cleanly
}

func TestPingPong(t *testing.T) {
	is := is.New(t)
	c := child(t, "pingpong")
	w, wh, err := c.ToChild()
	is.NoErr(err) // attaching the ping pipe
	r, rh, err := c.FromChild()
	is.NoErr(err) // attaching the pong pipe
	c.Args = append(c.Args, wh, rh)
	is.NoErr(c.Start()) // starting the child

	b := []byte{0}
	for i := range 200 {
		b[0] = byte(i)
		_, err := w.Write(b)
		is.NoErr(err) // ping
		_, err = io.ReadFull(r, b)
		is.NoErr(err)             // pong
		is.Equal(b[0], byte(i+1)) // the child answers every byte with its successor
	}
	is.NoErr(w.Close()) // ending the game
	is.NoErr(c.Wait())  // the child exits at EOF
}

func TestWriteToExitedChildIsBrokenPipe(t *testing.T) {
	is := is.New(t)
	c := child(t, "exit")
	w, h, err := c.ToChild()
	is.NoErr(err) // attaching a pipe the child never reads
	c.Args = append(c.Args, h)
	is.NoErr(c.Run()) // the child exits without reading

	_, err = w.Write([]byte("anyone?"))
	is.True(errors.Is(err, os.ErrClosed)) // Wait closed the parent's end

	c = child(t, "exit")
	w, h, err = c.ToChild()
	is.NoErr(err) // attaching a pipe the child never reads
	c.Args = append(c.Args, h)
	is.NoErr(c.Start())    // starting the child
	is.NoErr(c.Cmd.Wait()) // waiting through exec.Cmd, which leaves our end open
	_, err = w.Write([]byte("anyone?"))
	is.True(errors.Is(err, anonpipe.ErrBrokenPipe)) // the write fails instead of raising SIGPIPE
	err = w.Drain(context.Background())
	is.True(errors.Is(err, anonpipe.ErrBrokenPipe)) // Drain reports it too
	is.NoErr(c.Close())                             // Close releases the end Wait never closed
}

func TestDrainAcrossProcesses(t *testing.T) {
	is := is.New(t)
	c, w, out := catChild(t)
	is.NoErr(c.Start()) // starting the child

	_, err := io.WriteString(w, "SYNC\n")
	is.NoErr(err)                           // sending SYNC
	is.NoErr(w.Drain(context.Background())) // the child reads it
	is.NoErr(w.Close())                     // closing
	is.NoErr(c.Wait())                      // the child exits
	is.Equal(out.String(), "SYNC\n")        // the child got what was drained
}

func TestFailedStartLeaksNothing(t *testing.T) {
	is := is.New(t)
	before, countable := fdCount()
	c := anonpipe.Command("/nonexistent/anonpipe-test-binary")
	w, _, err := c.ToChild()
	is.NoErr(err) // attaching a pipe
	r, _, err := c.FromChild()
	is.NoErr(err)             // attaching another
	is.True(c.Start() != nil) // Start fails for a missing binary

	_, err = w.Write([]byte("x"))
	is.True(errors.Is(err, os.ErrClosed)) // the failed Start closed the parent's write end
	_, err = r.Read(make([]byte, 1))
	is.True(errors.Is(err, os.ErrClosed)) // and the parent's read end
	if after, _ := fdCount(); countable {
		is.Equal(after, before) // and every child end
	}
	is.NoErr(c.Close()) // Close after a failed Start has nothing left to do
}

func TestDoubleStart(t *testing.T) {
	is := is.New(t)
	c, w, out := catChild(t)
	is.NoErr(c.Start())       // the first Start succeeds
	is.True(c.Start() != nil) // the second Start fails

	_, err := io.WriteString(w, "still here")
	is.NoErr(err)                        // the failed second Start closed nothing
	is.NoErr(w.Close())                  // closing
	is.NoErr(c.Wait())                   // the child exits
	is.Equal(out.String(), "still here") // the child got the data
	_, _, err = c.ToChild()
	is.True(err != nil) // no pipe can be attached after Start
}

func TestCloseBeforeStart(t *testing.T) {
	is := is.New(t)
	before, countable := fdCount()
	c := anonpipe.Command("unused")
	w, _, err := c.ToChild()
	is.NoErr(err) // attaching a pipe
	_, _, err = c.FromChild()
	is.NoErr(err)       // attaching another
	is.NoErr(c.Close()) // releasing a command that never starts
	is.NoErr(c.Close()) // Close may be called again
	_, err = w.Write([]byte("x"))
	is.True(errors.Is(err, os.ErrClosed)) // the parent's end is closed
	if after, _ := fdCount(); countable {
		is.Equal(after, before) // and so is every other end
	}
}

func TestOutputAndCombinedOutput(t *testing.T) {
	is := is.New(t)
	c := child(t, "cat")
	w, h, err := c.ToChild()
	is.NoErr(err) // attaching a pipe
	c.Args = append(c.Args, h)
	go func() {
		io.WriteString(w, "via Output")
		w.Close()
	}()
	out, err := c.Output()
	is.NoErr(err)                       // Output runs the child
	is.Equal(string(out), "via Output") // and returns its stdout

	c = child(t, "cat")
	c.Stderr = nil
	w, h, err = c.ToChild()
	is.NoErr(err) // attaching a pipe
	c.Args = append(c.Args, h)
	go func() {
		io.WriteString(w, "via CombinedOutput")
		w.Close()
	}()
	out, err = c.CombinedOutput()
	is.NoErr(err)                               // CombinedOutput runs the child
	is.Equal(string(out), "via CombinedOutput") // and returns its output

	c = child(t, "cat")
	c.Stderr = nil
	c.Args = append(c.Args, "not-a-handle")
	_, err = c.Output()
	var ee *exec.ExitError
	is.True(errors.As(err, &ee))                                 // the child fails on a bad handle
	is.True(strings.Contains(string(ee.Stderr), "not-a-handle")) // Output keeps its stderr in the ExitError
}

// TestOutputKeepsStderrAsExecDoes compares the standard error that Output
// keeps for a failed child with what exec.Cmd.Output keeps, from short
// output to output far beyond the 2×32 KiB kept.
func TestOutputKeepsStderrAsExecDoes(t *testing.T) {
	for _, n := range []int{0, 100, 32 << 10, 64<<10 - 18, 64 << 10, 70000, 300000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			is := is.New(t)
			c := child(t, "stderr-fail", fmt.Sprint(n))
			c.Stderr = nil
			_, err := c.Output()
			var got *exec.ExitError
			is.True(errors.As(err, &got)) // the child fails

			ec := child(t, "stderr-fail", fmt.Sprint(n)).Cmd
			ec.Stderr = nil
			_, err = ec.Output()
			var want *exec.ExitError
			is.True(errors.As(err, &want)) // the same child run by exec fails too

			is.True(bytes.HasSuffix(got.Stderr, []byte("FATAL: the reason\n"))) // the last line, which says why, is kept
			is.Equal(string(got.Stderr), string(want.Stderr))                   // and everything kept is what exec keeps
		})
	}
}

func TestWrappingAnExistingCmd(t *testing.T) {
	is := is.New(t)
	ec := exec.Command(os.Args[0])
	ec.Env = childEnviron(t, "cat")
	c := &anonpipe.Cmd{Cmd: ec}
	w, h, err := c.ToChild()
	is.NoErr(err) // attaching to a wrapped exec.Cmd
	c.Args = append(c.Args, h)
	go func() {
		io.WriteString(w, "wrapped")
		w.Close()
	}()
	out, err := c.Output()
	is.NoErr(err)                    // the wrapped command runs
	is.Equal(string(out), "wrapped") // and gets the pipe

	_, _, err = (&anonpipe.Cmd{}).ToChild()
	is.True(err != nil) // a Cmd without an exec.Cmd is refused, not a panic
}

func TestManyPipesToOneChild(t *testing.T) {
	is := is.New(t)
	c := child(t, "echo")
	in, ih, err := c.ToChild()
	is.NoErr(err) // attaching the input
	out, oh, err := c.FromChild(anonpipe.WithBufferSize(1 << 20))
	is.NoErr(err) // attaching the output with a bigger buffer
	c.Args = append(c.Args, ih, oh)
	is.NoErr(c.Start()) // starting the child
	data := bytes.Repeat([]byte("echo "), 200_000)
	go func() {
		in.Write(data)
		in.Close()
	}()
	got, err := io.ReadAll(out)
	is.NoErr(err)                   // reading the echo
	is.True(bytes.Equal(got, data)) // a megabyte goes there and back intact
	is.NoErr(c.Wait())              // the child exits
}

func TestConcurrentStartsKeepPipesApart(t *testing.T) {
	const n = 20
	var wg sync.WaitGroup
	results := make([]string, n)
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := child(t, "cat")
			w, h, err := c.ToChild()
			if err != nil {
				errs[i] = err
				return
			}
			c.Args = append(c.Args, h)
			go func() {
				fmt.Fprintf(w, "token %d", i)
				w.Close()
			}()
			out, err := c.Output()
			results[i], errs[i] = string(out), err
		}()
	}
	wg.Wait()
	is := is.New(t)
	for i := range n {
		is.NoErr(errs[i])                                // every child ran
		is.Equal(results[i], fmt.Sprintf("token %d", i)) // every child read its own pipe, and saw EOF
	}
}

// TestCloseWhileWaitPending closes the Cmd, as a deferred Close does, while
// another goroutine waits for a child that is blocked reading its pipe.
func TestCloseWhileWaitPending(t *testing.T) {
	is := is.New(t)
	c, w, out := catChild(t)
	is.NoErr(c.Start()) // starting the child
	waited := make(chan error, 1)
	func() {
		defer c.Close()
		go func() { waited <- c.Wait() }()
		_, err := io.WriteString(w, "before Close")
		is.NoErr(err) // writing while Wait is pending
	}()
	is.NoErr(<-waited)                     // Close gave the child EOF, and Wait saw it exit cleanly
	is.Equal(out.String(), "before Close") // the child read everything before EOF
	_, err := w.Write([]byte("x"))
	is.True(errors.Is(err, os.ErrClosed)) // our end stays closed
}

// TestCloseConcurrentWithStart races Close against Start. Either Start wins,
// and Close then gives the child EOF, or Close wins, and Start refuses to
// start a child whose ends are closed.
func TestCloseConcurrentWithStart(t *testing.T) {
	is := is.New(t)
	c := child(t, "cat")
	w, h, err := c.ToChild()
	is.NoErr(err) // attaching a pipe
	c.Args = append(c.Args, h)
	started := make(chan error, 1)
	go func() { started <- c.Start() }()
	is.NoErr(c.Close()) // Close runs while Start may be running
	if err := <-started; err != nil {
		t.Log("Close ran first")
		is.True(strings.Contains(err.Error(), "after Close")) // Start lost the race and says why
		is.True(c.Process == nil)                             // it started nothing
		return
	}
	t.Log("Start ran first")
	_, err = w.Write([]byte("x"))
	is.True(errors.Is(err, os.ErrClosed)) // Start won, and Close then closed our end
	is.NoErr(c.Wait())                    // the child saw EOF and exited cleanly
}

// TestWaitAfterStartOutsideCmdStart starts the command through the embedded
// exec.Cmd, which knows nothing of the pipes, and checks that Wait still
// closes every end and reports the mistake.
func TestWaitAfterStartOutsideCmdStart(t *testing.T) {
	for _, tc := range []struct {
		name  string
		start func(*exec.Cmd) error
	}{
		{"Start", (*exec.Cmd).Start},
		{"Run", (*exec.Cmd).Run},
		{"Output", func(c *exec.Cmd) error { _, err := c.Output(); return err }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			is := is.New(t)
			before, countable := fdCount()
			c := child(t, "fail")
			w, _, err := c.ToChild()
			is.NoErr(err) // attaching a pipe to the child
			r, _, err := c.FromChild()
			is.NoErr(err) // attaching a pipe from the child
			if err := tc.start(c.Cmd); c.Process == nil {
				t.Skipf("exec.Cmd.%s started no child (%v): Windows refuses handles not marked inheritable, which only Cmd.Start marks", tc.name, err)
			}

			err = c.Wait()
			is.True(err != nil)                                         // Wait fails
			is.True(strings.Contains(err.Error(), "outside Cmd.Start")) // saying the command was started outside Cmd.Start
			var ee *exec.ExitError
			is.Equal(errors.As(err, &ee), tc.name == "Start") // and with exec.Cmd.Wait's result, the child's exit status if nothing waited for it before
			_, err = w.Write([]byte("x"))
			is.True(errors.Is(err, os.ErrClosed)) // Wait closed the parent's write end
			_, err = r.Read(make([]byte, 1))
			is.True(errors.Is(err, os.ErrClosed)) // and the parent's read end
			if after, _ := fdCount(); countable {
				is.Equal(after, before) // and the parent's copies of the child's ends
			}
			is.NoErr(c.Close()) // Close then has nothing left to do
		})
	}
}

// TestCloseAfterStartOutsideCmdStart releases a command that the embedded
// exec.Cmd started with Close alone.
func TestCloseAfterStartOutsideCmdStart(t *testing.T) {
	is := is.New(t)
	before, countable := fdCount()
	c := child(t, "exit")
	w, _, err := c.ToChild()
	is.NoErr(err) // attaching a pipe to the child
	if err := c.Cmd.Start(); c.Process == nil {
		t.Skipf("exec.Cmd.Start started no child (%v): Windows refuses handles not marked inheritable, which only Cmd.Start marks", err)
	}
	is.NoErr(c.Close()) // Close releases the ends
	_, err = w.Write([]byte("x"))
	is.True(errors.Is(err, os.ErrClosed)) // the parent's end is closed
	is.NoErr(c.Cmd.Wait())                // exec.Cmd.Wait, which closes no pipe end, reaps the child
	if after, _ := fdCount(); countable {
		is.Equal(after, before) // and the parent's copy of the child's end is closed too
	}
	err = c.Wait()
	is.True(err != nil)                                         // Wait then fails
	is.True(strings.Contains(err.Error(), "outside Cmd.Start")) // saying the command was started outside Cmd.Start
}
