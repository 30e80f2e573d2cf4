package anonpipe_test

import (
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/anonpipe/anonpipe/anonpipe"
	"github.com/anonpipe/anonpipe/pipetest"
	"github.com/matryer/is"
	"golang.org/x/sys/windows"
)

// TestSuiteOnChildEnds runs the suite on the pipes ToChild and FromChild
// make, with the child's end, which is synchronous, in this process.
func TestSuiteOnChildEnds(t *testing.T) {
	for _, tc := range []struct {
		name       string
		childReads bool
	}{
		{"ToChild", true},
		{"FromChild", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pipetest.TestPipe(t, func() (io.ReadCloser, io.WriteCloser, func(), error) {
				r, w, err := anonpipe.PipeForChild(tc.childReads)
				if err != nil {
					return nil, nil, nil, err
				}
				return r, w, nil, nil
			})
		})
	}
}

// TestSuiteInAChildRunsEverySubTest runs the suite in a child, on ends
// opened there with OpenReader and OpenWriter, as TestSuiteAcrossProcesses
// does, for both kinds of handle a parent may pass: overlapped ones (from
// Pipe), and synchronous ones (from CreatePipe, as a C or .NET parent would
// pass). Every sub-test must run, none skipped: OpenReader and OpenWriter
// give a synchronous end deadlines and a Close that ends pending calls.
func TestSuiteInAChildRunsEverySubTest(t *testing.T) {
	for _, tc := range []struct {
		name string
		make func() (r, w *os.File, err error)
	}{
		{"overlapped", func() (*os.File, *os.File, error) {
			r, w, err := anonpipe.Pipe()
			if err != nil {
				return nil, nil, err
			}
			return r.File(), w.File(), nil
		}},
		{"synchronous", func() (*os.File, *os.File, error) {
			var r, w windows.Handle
			if err := windows.CreatePipe(&r, &w, nil, 0); err != nil {
				return nil, nil, err
			}
			return os.NewFile(uintptr(r), "r"), os.NewFile(uintptr(w), "w"), nil
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			is := is.New(t)
			c := child(t, "TestSuiteInAChild", "-test.run=^TestSuiteInAChild$", "-test.v")
			c.Env = slices.DeleteFunc(c.Env, func(kv string) bool { return strings.HasPrefix(kv, pipetest.ChildEnv+"=") })
			var ours []*os.File
			closeOurs := func() {
				for _, f := range ours {
					f.Close()
				}
				ours = nil
			}
			defer closeOurs()
			var handles []string
			for range suitePipes {
				r, w, err := tc.make()
				is.NoErr(err) // making a pipe to hand over
				ours = append(ours, r, w)
				handles = append(handles, inherit(t, c, r)+","+inherit(t, c, w))
			}
			c.Env = append(c.Env, suiteHandlesEnv+"="+strings.Join(handles, ";"))
			var out strings.Builder
			c.Stdout = &out
			is.NoErr(c.Start()) // starting the child
			closeOurs()
			err := c.Wait()
			ran := strings.Contains(out.String(), "--- PASS: TestSuiteInAChild (")
			skipped := strings.Contains(out.String(), "--- SKIP")
			if err != nil || !ran || skipped {
				t.Logf("the child's run:\n%s", out.String())
			}
			is.NoErr(err)     // the suite passes on ends opened in a child
			is.True(ran)      // and ran there
			is.True(!skipped) // every sub-test, deadlines included
		})
	}
}

// TestEveryEndHasDeadlines checks that no end refuses a deadline, which
// would make the suite skip its deadline sub-tests: not Pipe's, not those
// of ToChild and FromChild pipes, nor synchronous handles a parent passes
// that OpenReader and OpenWriter open.
func TestEveryEndHasDeadlines(t *testing.T) {
	ends := map[string]func() (*anonpipe.Reader, *anonpipe.Writer, error){
		"Pipe":      func() (*anonpipe.Reader, *anonpipe.Writer, error) { return anonpipe.Pipe() },
		"ToChild":   func() (*anonpipe.Reader, *anonpipe.Writer, error) { return anonpipe.PipeForChild(true) },
		"FromChild": func() (*anonpipe.Reader, *anonpipe.Writer, error) { return anonpipe.PipeForChild(false) },
		"CreatePipe": func() (*anonpipe.Reader, *anonpipe.Writer, error) {
			var r, w windows.Handle
			if err := windows.CreatePipe(&r, &w, nil, 0); err != nil {
				return nil, nil, err
			}
			return openEnds(strconv.FormatUint(uint64(r), 10), strconv.FormatUint(uint64(w), 10))
		},
	}
	for name, mk := range ends {
		t.Run(name, func(t *testing.T) {
			is := is.New(t)
			r, w, err := mk()
			is.NoErr(err) // making the ends
			defer r.Close()
			defer w.Close()
			is.NoErr(r.SetReadDeadline(time.Now().Add(time.Hour)))  // the read end takes a deadline
			is.NoErr(w.SetWriteDeadline(time.Now().Add(time.Hour))) // the write end takes a deadline
		})
	}
}
