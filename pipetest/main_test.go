package pipetest_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anonpipe/anonpipe/anonpipe"
	"github.com/anonpipe/anonpipe/pipetest"
)

func TestMain(m *testing.M) {
	pipetest.Main(m, map[string]func(args []string) int{
		"echo":   childEcho,
		"env":    childEnv,
		"exit":   childExit,
		"hang":   childHang,
		"nested": childNested,
		"relay":  childRelay,
		"stderr": childStderr,
	})
}

func fail(format string, args ...any) int {
	fmt.Fprintf(os.Stderr, "child: "+format+"\n", args...)
	return 1
}

// openPair opens the pipes named by the last two arguments: a read end,
// then a write end.
func openPair(args []string) (*anonpipe.Reader, *anonpipe.Writer, error) {
	if len(args) < 2 {
		return nil, nil, fmt.Errorf("want two handles at the end of %q", args)
	}
	r, err := anonpipe.OpenReader(args[len(args)-2])
	if err != nil {
		return nil, nil, err
	}
	w, err := anonpipe.OpenWriter(args[len(args)-1])
	if err != nil {
		r.Close()
		return nil, nil, err
	}
	return r, w, nil
}

// childEcho writes its whole argument list, %q-formatted, as one line to the
// pipe named by its last argument, then copies the pipe named by the one
// before into it until EOF.
func childEcho(args []string) int {
	r, w, err := openPair(args)
	if err != nil {
		return fail("%v", err)
	}
	if _, err := fmt.Fprintf(w, "%q\n", args); err != nil {
		return fail("write: %v", err)
	}
	if _, err := io.Copy(w, r); err != nil {
		return fail("copy: %v", err)
	}
	if err := w.Close(); err != nil {
		return fail("close: %v", err)
	}
	return 0
}

// childRelay copies the pipe named by args[0] into the one named by args[1]
// until EOF, then closes it, or until the second pipe's reader is gone: the
// far side of a cross-process pipe.
func childRelay(args []string) int {
	r, w, err := openPair(args)
	if err != nil {
		return fail("%v", err)
	}
	if _, err := io.Copy(w, r); errors.Is(err, anonpipe.ErrBrokenPipe) {
		return 0 // the parent closed its read end: nobody is left to relay to
	} else if err != nil {
		return fail("relay: %v", err)
	}
	if err := w.Close(); err != nil {
		return fail("close: %v", err)
	}
	return 0
}

// childExit exits with the code in args[0].
func childExit(args []string) int {
	code, err := strconv.Atoi(args[0])
	if err != nil {
		return fail("%v", err)
	}
	return code
}

// childEnv prints name=value to stdout for each variable named in args.
func childEnv(args []string) int {
	for _, name := range args {
		fmt.Printf("%s=%s\n", name, os.Getenv(name))
	}
	return 0
}

// childStderr writes its arguments to stderr, one per line, the last without
// a newline.
func childStderr(args []string) int {
	fmt.Fprint(os.Stderr, strings.Join(args, "\n"))
	return 0
}

// childHang writes its pid and a newline to the pipe named by args[0], then
// sleeps for ten minutes: only a kill ends it in time.
func childHang(args []string) int {
	w, err := anonpipe.OpenWriter(args[0])
	if err != nil {
		return fail("%v", err)
	}
	if _, err := fmt.Fprintln(w, os.Getpid()); err != nil {
		return fail("write: %v", err)
	}
	time.Sleep(10 * time.Minute)
	return fail("hang: not killed after ten minutes")
}

// childNested runs the child "env" with pipetest.Command, printing its own
// name and the grandchild's output, and the grandchild's stderr through the
// TB's log. A child has no *testing.T, so it makes its own testing.TB.
func childNested(args []string) int {
	tb := &childTB{name: "nested"}
	defer tb.done()
	c := pipetest.Command(tb, "env", pipetest.ChildEnv)
	out, err := c.Output()
	if err != nil {
		return fail("grandchild: %v", err)
	}
	fmt.Printf("%s=%s\ngrandchild: %s", pipetest.ChildEnv, os.Getenv(pipetest.ChildEnv), out)
	return 0
}

// childTB is the least testing.TB that pipetest.Command needs, for use in a
// child process. Calling a method it does not define panics.
type childTB struct {
	testing.TB
	name string

	mu       sync.Mutex
	failed   bool
	cleanups []func()
}

func (tb *childTB) Helper()      {}
func (tb *childTB) Name() string { return tb.name }
func (tb *childTB) Skipped() bool {
	return false
}

func (tb *childTB) Failed() bool {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	return tb.failed
}

func (tb *childTB) Cleanup(f func()) {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	tb.cleanups = append(tb.cleanups, f)
}

func (tb *childTB) Log(args ...any) { fmt.Fprintln(os.Stderr, args...) }

func (tb *childTB) Logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
}

func (tb *childTB) Errorf(format string, args ...any) {
	tb.Logf(format, args...)
	tb.mu.Lock()
	defer tb.mu.Unlock()
	tb.failed = true
}

func (tb *childTB) Fatalf(format string, args ...any) {
	panic(fmt.Sprintf(format, args...))
}

// done runs the cleanup functions, last registered first.
func (tb *childTB) done() {
	for i := len(tb.cleanups) - 1; i >= 0; i-- {
		tb.cleanups[i]()
	}
}

// firstLine reads the first line from r, without its newline; it may read,
// and lose, bytes after it.
func firstLine(r io.Reader) (string, error) {
	line, err := bufio.NewReader(r).ReadString('\n')
	return strings.TrimSuffix(line, "\n"), err
}
