package anonpipe_test

import (
	"errors"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/anonpipe/anonpipe/anonpipe"
	"github.com/matryer/is"
	"golang.org/x/sys/windows"
)

// addReliabilityPlatformChildren adds nothing: the Windows checks are made
// by behaviour, with the children every OS has.
func addReliabilityPlatformChildren(map[string]func([]string) int) {}

// inheritedFDs reports nothing: Windows has no cheap, reliable listing of a
// process's handles (see fdCount), so the sibling checks rely on EOF.
func inheritedFDs() string { return "" }

func inheritedFDsWant(int) string { return "" }

// platformScale shortens the default run further: a process takes about
// 130 ms to start under Wine, and its pipes move a few MiB/s.
func platformScale(s reliabilityScale) reliabilityScale {
	if s.name == "full" {
		return s
	}
	s.name += ", Windows"
	s.bytes = min(s.bytes, 16<<20)
	s.cycles = min(s.cycles, 100)
	s.concurrent = min(s.concurrent, 50)
	s.loadFor = min(s.loadFor, time.Second)
	return s
}

// stdoutHandle is the decimal value of this process's standard output
// handle, the handle string a Windows parent would pass for it.
func stdoutHandle() string {
	h, err := windows.GetStdHandle(windows.STD_OUTPUT_HANDLE)
	if err != nil {
		return ""
	}
	return strconv.FormatUint(uint64(h), 10)
}

// dupHandle duplicates the handle named by h, not inheritable.
func dupHandle(h string) (string, error) {
	v, err := strconv.ParseUint(h, 10, 64)
	if err != nil {
		return "", err
	}
	p := windows.CurrentProcess()
	var d windows.Handle
	if err := windows.DuplicateHandle(p, windows.Handle(v), p, &d, 0, false, windows.DUPLICATE_SAME_ACCESS); err != nil {
		return "", err
	}
	return strconv.FormatUint(uint64(d), 10), nil
}

// handleFlags returns the flags (HANDLE_FLAG_INHERIT...) of h, and whether h
// is open.
func handleFlags(h windows.Handle) (uint32, bool) {
	var flags uint32
	get := windows.NewLazySystemDLL("kernel32.dll").NewProc("GetHandleInformation")
	ok, _, _ := get.Call(uintptr(h), uintptr(unsafe.Pointer(&flags)))
	return flags, ok != 0
}

func TestReliabilitySecurityNoEndIsInheritable(t *testing.T) {
	is := is.New(t)
	inheritable := func(c interface{ Fd() uintptr }) bool {
		flags, ok := handleFlags(windows.Handle(c.Fd()))
		is.True(ok) // the handle is open
		return flags&windows.HANDLE_FLAG_INHERIT != 0
	}
	r, w := pipe(t)
	is.True(!inheritable(r.File())) // Pipe's read end is not inheritable
	is.True(!inheritable(w.File())) // Pipe's write end is not inheritable
	c := child(t, "cat")
	tw, th, err := c.ToChild()
	is.NoErr(err)                    // attaching a pipe to the child
	is.True(!inheritable(tw.File())) // the parent's end is not inheritable
	c.Args = append(c.Args, th)
	var out strings.Builder
	c.Stdout = &out
	is.NoErr(c.Start())              // starting the child, which alone gets its end through the handle list
	is.True(!inheritable(tw.File())) // the parent's end is still not inheritable after Start
	_, err = io.WriteString(tw, "listed")
	is.NoErr(err)                    // writing
	is.NoErr(tw.Close())             // EOF for the child
	is.NoErr(c.Wait())               // the child exits
	is.Equal(out.String(), "listed") // and got the data
}

// fuzzOpen is the body of FuzzOpenReader (write false) and FuzzOpenWriter.
// Windows hands out handle values itself, so no handle can be placed where
// the fuzzer will name it: the target checks refusals only, and skips values
// that name a handle this process has open.
func fuzzOpen(f *testing.F, write bool) {
	f.Fuzz(func(t *testing.T, s string) {
		if v, ok := canonicalHandle(s, 32); ok && v != 0 && v%4 == 0 {
			if _, open := handleFlags(windows.Handle(v)); open {
				t.Skip("names a handle this process uses")
			}
		}
		var err error
		if write {
			_, err = anonpipe.OpenWriter(s)
		} else {
			_, err = anonpipe.OpenReader(s)
		}
		if !errors.Is(err, anonpipe.ErrInvalidHandle) {
			t.Fatalf("Open(%q): %v, want ErrInvalidHandle", s, err)
		}
		if !strings.Contains(err.Error(), strconv.Quote(s)) {
			t.Fatalf("Open(%q): %v does not name the handle", s, err)
		}
	})
}
