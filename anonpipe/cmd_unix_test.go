//go:build unix

package anonpipe_test

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/anonpipe/anonpipe/anonpipe"
	"github.com/matryer/is"
)

// The checks in this file count descriptors, which only Unix lets a test
// do cheaply and exactly.

func TestChildHoldsOnlyItsOwnDescriptors(t *testing.T) {
	is := is.New(t)
	// A pipe the child must not get: made by Pipe, never handed over.
	stray, strayW, err := anonpipe.Pipe()
	is.NoErr(err) // making an unrelated pipe
	defer stray.Close()
	defer strayW.Close()

	c := child(t, "fds")
	devnull, err := os.Open(os.DevNull)
	is.NoErr(err) // opening a file the user passes on their own
	defer devnull.Close()
	c.ExtraFiles = []*os.File{devnull}
	w, h, err := c.ToChild()
	is.NoErr(err)    // attaching a pipe after the user's ExtraFiles entry
	is.Equal(h, "4") // the handle counts the user's entry: 3 + index in ExtraFiles
	c.Args = append(c.Args, h)
	go func() {
		io.WriteString(w, "mine")
		w.Close()
	}()
	out, err := c.Output()
	is.NoErr(err)                                         // the child lists its descriptors
	is.Equal(lines(string(out)), []string{"3 4", "mine"}) // the child holds the user's file and its pipe, nothing else
}

func TestPipesAreNotInheritedByUnrelatedChildren(t *testing.T) {
	is := is.New(t)
	r, w, err := anonpipe.Pipe()
	is.NoErr(err) // making a pipe that is never handed over
	defer r.Close()
	defer w.Close()
	out, err := child(t, "fds").Output()
	is.NoErr(err)               // an unrelated child runs
	is.Equal(string(out), "\n") // and holds no descriptor beyond stdio
}

func TestConcurrentStartsLeakNothingIntoSiblings(t *testing.T) {
	const n = 30
	var wg sync.WaitGroup
	outs := make([]string, n)
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := child(t, "fds")
			w, h, err := c.ToChild()
			if err != nil {
				errs[i] = err
				return
			}
			_, _, err = c.FromChild() // a second, unused pipe per child
			if err != nil {
				errs[i] = err
				return
			}
			c.Args = append(c.Args, h)
			go func() {
				fmt.Fprintf(w, "child %d", i)
				w.Close()
			}()
			out, err := c.Output()
			outs[i], errs[i] = string(out), err
		}()
	}
	wg.Wait()
	is := is.New(t)
	for i := range n {
		is.NoErr(errs[i])                                                     // every child ran
		is.Equal(lines(outs[i]), []string{"3 4", fmt.Sprintf("child %d", i)}) // each child holds exactly its own two ends and reads its own data
	}
}

func TestStartWaitCyclesKeepDescriptorCount(t *testing.T) {
	is := is.New(t)
	run := func() {
		c := child(t, "echo")
		in, ih, err := c.ToChild()
		is.NoErr(err) // attaching the input
		out, oh, err := c.FromChild()
		is.NoErr(err) // attaching the output
		c.Args = append(c.Args, ih, oh)
		is.NoErr(c.Start()) // starting the child
		_, err = io.WriteString(in, "ping")
		is.NoErr(err)        // writing
		is.NoErr(in.Close()) // EOF for the child
		b, err := io.ReadAll(out)
		is.NoErr(err)               // reading the echo
		is.Equal(string(b), "ping") // the echo is intact
		is.NoErr(c.Wait())          // Wait closes what is left
	}
	run() // the first run opens the runtime's own descriptors (the poller)
	before, _ := fdCount()
	cycles := 300
	if testing.Short() || raceEnabled {
		cycles = 30
	}
	for range cycles {
		run()
	}
	after, _ := fdCount()
	is.Equal(after, before) // hundreds of start/wait cycles leave the descriptor count unchanged
}

func TestChildRefusesWrongDescriptors(t *testing.T) {
	regular, err := os.CreateTemp(t.TempDir(), "regular")
	if err != nil {
		t.Fatal(err)
	}
	defer regular.Close()
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	defer pw.Close()
	for _, tc := range []struct {
		name string
		file *os.File
		dir  string
		want string
	}{
		{"regular file", regular, "r", "not a pipe: a regular file"},
		{"write end for reading", pw, "r", "the write end of a pipe, not a read end"},
		{"read end for writing", pr, "w", "the read end of a pipe, not a write end"},
		{"read end for reading", pr, "r", "ok"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			is := is.New(t)
			c := child(t, "open", "3", tc.dir)
			c.ExtraFiles = []*os.File{tc.file}
			out, err := c.Output()
			is.NoErr(err)                                   // the child reports the result
			is.True(strings.Contains(string(out), tc.want)) // the child sees the reason
			if tc.want != "ok" {
				is.True(strings.Contains(string(out), `"3"`)) // the error names the handle
			}
		})
	}
}

// childWaitFails ignores SIGCHLD, which makes the kernel reap its children
// itself, so that waiting for one fails; it then checks that Wait closed
// the parent's ends anyway. Its exit code says what went wrong.
func childWaitFails([]string) int {
	signal.Ignore(syscall.SIGCHLD)
	c := grandchild("exit")
	w, _, err := c.ToChild()
	if err != nil {
		return fail("ToChild: %v", err)
	}
	r, _, err := c.FromChild()
	if err != nil {
		return fail("FromChild: %v", err)
	}
	if err := c.Start(); err != nil {
		return fail("Start: %v", err)
	}
	if err := c.Wait(); err == nil || c.ProcessState != nil {
		return fail("Wait succeeded (%v): the test no longer tests what it should", err)
	}
	if err := w.Close(); !errors.Is(err, os.ErrClosed) {
		return fail("Writer left open by the failed Wait: Close returned %v", err)
	}
	if err := r.Close(); !errors.Is(err, os.ErrClosed) {
		return fail("Reader left open by the failed Wait: Close returned %v", err)
	}
	return 0
}

func TestFailedWaitClosesParentEnds(t *testing.T) {
	is := is.New(t)
	is.NoErr(child(t, "wait-fails").Run()) // Wait closed both of the parent's ends though it failed
}

// TestStartRefusesChangedExtraFiles changes ExtraFiles after ToChild and
// FromChild, so that a handle the child was told would name another file,
// or none; Start must refuse, name the handle, and close every end.
func TestStartRefusesChangedExtraFiles(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(c *anonpipe.Cmd, user *os.File)
		want   string
	}{
		{"moved", func(c *anonpipe.Cmd, user *os.File) {
			c.ExtraFiles = append([]*os.File{user}, c.ExtraFiles...)
		}, `ExtraFiles[0] (handle "3") is no longer the pipe end ToChild made`},
		{"replaced", func(c *anonpipe.Cmd, user *os.File) {
			c.ExtraFiles[1] = user
		}, `ExtraFiles[1] (handle "4") is no longer the pipe end FromChild made`},
		{"removed", func(c *anonpipe.Cmd, _ *os.File) {
			c.ExtraFiles = c.ExtraFiles[:1]
		}, `ExtraFiles[1] (handle "4") is no longer the pipe end FromChild made`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			is := is.New(t)
			user, err := os.Open(os.DevNull)
			is.NoErr(err) // opening a file of the user's own
			defer user.Close()
			before, _ := fdCount()
			c := child(t, "exit")
			w, wh, err := c.ToChild()
			is.NoErr(err) // attaching a pipe to the child
			r, rh, err := c.FromChild()
			is.NoErr(err) // attaching a pipe from the child
			c.Args = append(c.Args, wh, rh)
			tc.change(c, user)

			err = c.Start()
			is.True(err != nil)                             // Start refuses
			is.True(strings.Contains(err.Error(), tc.want)) // naming the entry and the handle
			is.True(c.Process == nil)                       // and starts nothing
			_, err = w.Write([]byte("x"))
			is.True(errors.Is(err, os.ErrClosed)) // the failed Start closed the parent's write end
			_, err = r.Read(make([]byte, 1))
			is.True(errors.Is(err, os.ErrClosed)) // and its read end
			after, _ := fdCount()
			is.Equal(after, before) // and the child's ends
			_, err = user.Stat()
			is.NoErr(err)       // but not the user's file
			is.NoErr(c.Close()) // Close has nothing left to do
		})
	}
}
