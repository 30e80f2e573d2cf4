package anonpipe_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"testing"

	"github.com/anonpipe/anonpipe/anonpipe"
	"github.com/anonpipe/anonpipe/pipetest"
)

// children are the roles the test binary plays when pipetest.Command
// re-executes it. Each gets the arguments after the binary's name and
// returns an exit code.
func children() map[string]func(args []string) int {
	m := map[string]func(args []string) int{
		"cat":         childCat,
		"echo":        childEcho,
		"pingpong":    childPingPong,
		"closewriter": childCloseWriter,
		"exit":        func([]string) int { return 0 },
		"fail":        func([]string) int { return 1 },
		"open":        childOpen,
		"write":       childWrite,
		"stderr-fail": childStderrFail,
		"head":        childHead,
	}
	addPlatformChildren(m)
	addBenchChildren(m)
	addReliabilityChildren(m)
	addConnChildren(m)
	return m
}

func TestMain(m *testing.M) {
	if os.Getenv(pipetest.ChildEnv) == "" {
		// Not in children: a child that starts a process before it opens
		// its ends passes them on, as TestReliabilitySecurityNoEndIsInheritable shows.
		closeInheritedOnExec()
	}
	pipetest.Main(m, children())
}

// child returns a command that re-runs the test binary as the named child,
// as pipetest.Command does: bounded by the test's deadline, its standard
// error in the test's log, killed and waited for when the test ends.
func child(t testing.TB, name string, args ...string) *anonpipe.Cmd {
	t.Helper()
	return pipetest.Command(t, name, args...)
}

// childEnviron is the environment pipetest.Command gives the named child,
// for commands it does not make: exec.Cmds, other languages' parents of a
// Go child, and children started in loops too long to register a cleanup
// for each.
func childEnviron(t testing.TB, name string) []string {
	t.Helper()
	return pipetest.Command(t, name).Env
}

// grandchild returns a command that runs this test binary again in role,
// for use in a child, whose environment already has what pipetest.Command
// gave it. Its standard error is the child's.
func grandchild(role string, args ...string) *anonpipe.Cmd {
	c := anonpipe.Command(os.Args[0], args...)
	c.Env = append(os.Environ(), pipetest.ChildEnv+"="+role) // the last of a key wins
	c.Stderr = os.Stderr
	return c
}

// openEnds opens the read end named by rh and the write end named by wh, as
// a child given both does; on error it closes what it opened.
func openEnds(rh, wh string, opts ...anonpipe.Option) (*anonpipe.Reader, *anonpipe.Writer, error) {
	r, err := anonpipe.OpenReader(rh, opts...)
	if err != nil {
		return nil, nil, err
	}
	w, err := anonpipe.OpenWriter(wh)
	if err != nil {
		r.Close()
		return nil, nil, err
	}
	return r, w, nil
}

func fail(format string, args ...any) int {
	fmt.Fprintf(os.Stderr, "child: "+format+"\n", args...)
	return 1
}

// childCat copies the pipe named by args[0] to stdout.
func childCat(args []string) int {
	r, err := anonpipe.OpenReader(args[0])
	if err != nil {
		return fail("%v", err)
	}
	if _, err := io.Copy(os.Stdout, r); err != nil {
		return fail("copy: %v", err)
	}
	return 0
}

// childEcho copies the pipe named by args[0] into the one named by args[1].
func childEcho(args []string) int {
	r, w, err := openEnds(args[0], args[1])
	if err != nil {
		return fail("%v", err)
	}
	if _, err := io.Copy(w, r); err != nil {
		return fail("copy: %v", err)
	}
	if err := w.Close(); err != nil {
		return fail("close: %v", err)
	}
	return 0
}

// childPingPong answers every byte read from args[0] with that byte plus one
// on args[1], until EOF.
func childPingPong(args []string) int {
	r, w, err := openEnds(args[0], args[1])
	if err != nil {
		return fail("%v", err)
	}
	b := make([]byte, 1)
	for {
		if _, err := io.ReadFull(r, b); err == io.EOF {
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

// childCloseWriter writes "x" to args[0] and closes it, then stays alive
// until args[1] reaches EOF.
func childCloseWriter(args []string) int {
	w, err := anonpipe.OpenWriter(args[0])
	if err != nil {
		return fail("%v", err)
	}
	if _, err := w.Write([]byte("x")); err != nil {
		return fail("write: %v", err)
	}
	if err := w.Close(); err != nil {
		return fail("close: %v", err)
	}
	r, err := anonpipe.OpenReader(args[1])
	if err != nil {
		return fail("%v", err)
	}
	if _, err := io.Copy(io.Discard, r); err != nil {
		return fail("copy: %v", err)
	}
	return 0
}

// childOpen tries OpenReader (args[1] == "r") or OpenWriter on args[0] and
// prints the error, or "ok".
func childOpen(args []string) int {
	var err error
	if args[1] == "r" {
		_, err = anonpipe.OpenReader(args[0])
	} else {
		_, err = anonpipe.OpenWriter(args[0])
	}
	if err != nil {
		fmt.Println(err)
		if !errors.Is(err, anonpipe.ErrInvalidHandle) {
			return fail("error does not match ErrInvalidHandle: %v", err)
		}
		return 0
	}
	fmt.Println("ok")
	return 0
}

// childWrite writes the lines of args[1:] to the pipe named by args[0].
func childWrite(args []string) int {
	w, err := anonpipe.OpenWriter(args[0])
	if err != nil {
		return fail("%v", err)
	}
	bw := bufio.NewWriter(w)
	for _, l := range args[1:] {
		fmt.Fprintln(bw, l)
	}
	if err := bw.Flush(); err != nil {
		return fail("write: %v", err)
	}
	return 0
}

// childStderrFail writes args[0] bytes of a repeating alphabet to its
// standard error, in writes of sizes from 1 byte to 9 KiB, then a last line
// saying why it fails, and exits 1.
func childStderrFail(args []string) int {
	n, err := strconv.Atoi(args[0])
	if err != nil {
		return fail("%v", err)
	}
	b := make([]byte, n)
	for i := range b {
		b[i] = 'a' + byte(i%26)
	}
	for size := 1; len(b) > 0; size = size*7%9001 + 1 {
		k := min(size, len(b))
		os.Stderr.Write(b[:k])
		b = b[k:]
	}
	fmt.Fprintln(os.Stderr, "FATAL: the reason")
	return 1
}

// childHead reads args[0] bytes of its standard input and exits without
// reading the rest, as head -c does.
func childHead(args []string) int {
	n, err := strconv.Atoi(args[0])
	if err != nil {
		return fail("%v", err)
	}
	if _, err := io.ReadFull(os.Stdin, make([]byte, n)); err != nil {
		return fail("read: %v", err)
	}
	return 0
}
