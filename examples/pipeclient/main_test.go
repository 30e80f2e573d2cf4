package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/anonpipe/anonpipe/examples/internal/exampletest"
	"github.com/matryer/is"
)

func TestMain(m *testing.M) {
	os.Exit(exampletest.Main(m, nil, "."))
}

func client(t *testing.T, args ...string) *exec.Cmd {
	return exampletest.Command(t, exampletest.Bin("pipeclient"), args...)
}

func TestPythonServer(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the Python server passes a descriptor with pass_fds, which Windows lacks")
	}
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not found:", err)
	}
	is := is.New(t)
	const server = `
import os, subprocess, sys
r, w = os.pipe()
p = subprocess.Popen([sys.argv[1], str(r)], pass_fds=(r,))
os.close(r)
os.write(w, b"SYNC\nhi\n")
os.close(w)
sys.exit(p.wait())
`
	res := exampletest.Run(t, exampletest.Command(t, python, "-c", server, exampletest.Bin("pipeclient")))
	is.True(res.State.Success())                                           // the server's exit status, which is the client's
	is.Equal(res.Stderr, "")                                               // nothing on stderr
	is.Equal(res.Stdout, "[CLIENT] Wait for sync...\n[CLIENT] Echo: hi\n") // the client's output
}

// The client can read its standard input when that is a pipe.
func TestStdinHandle(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("0 is not the standard input's handle on Windows")
	}
	is := is.New(t)
	cmd := client(t, "0")
	cmd.Stdin = strings.NewReader("before\nSYNC now\nhello\r\n\nworld")
	res := exampletest.Run(t, cmd)
	is.True(res.State.Success()) // pipeclient's exit status
	is.Equal(res.Stderr, "")     // nothing on stderr
	want := "[CLIENT] Wait for sync...\n[CLIENT] Echo: hello\n[CLIENT] Echo: \n[CLIENT] Echo: world\n"
	is.Equal(res.Stdout, want) // lines after SYNC are echoed, without their line ends
}

func TestEOFBeforeSync(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("0 is not the standard input's handle on Windows")
	}
	is := is.New(t)
	cmd := client(t, "0")
	cmd.Stdin = strings.NewReader("hello\n")
	res := exampletest.Run(t, cmd)
	is.Equal(res.State.ExitCode(), 1)                                 // pipeclient's exit status
	is.Equal(res.Stderr, "[CLIENT] Error: pipe closed before SYNC\n") // the one error line
}

func TestUsage(t *testing.T) {
	for _, args := range [][]string{nil, {"3", "4"}} {
		t.Run(strconv.Itoa(len(args)), func(t *testing.T) {
			is := is.New(t)
			res := exampletest.Run(t, client(t, args...))
			is.Equal(res.State.ExitCode(), 2)                  // pipeclient's exit status
			is.Equal(res.Stderr, "usage: pipeclient HANDLE\n") // the usage line
			is.Equal(res.Stdout, "")                           // nothing on stdout
		})
	}
}

func TestInvalidHandle(t *testing.T) {
	unix := runtime.GOOS != "windows"
	tests := []struct {
		name, handle, reason string
		extra                func(t *testing.T) *os.File // passed as descriptor 3
		unixOnly             bool
	}{
		{name: "letters", handle: "abc", reason: "decimal"},
		{name: "empty", handle: "", reason: "empty"},
		{name: "hex", handle: "0x3", reason: "decimal"},
		{name: "not open", handle: "99", reason: "not an open", unixOnly: true},
		{name: "regular file", handle: "3", reason: "not a pipe", extra: regularFile, unixOnly: true},
		{name: "write end", handle: "3", reason: "write end", extra: writeEnd, unixOnly: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.unixOnly && !unix {
				t.Skip("exec.Cmd.ExtraFiles and descriptor numbers are Unix only")
			}
			is := is.New(t)
			cmd := client(t, tt.handle)
			if tt.extra != nil {
				cmd.ExtraFiles = []*os.File{tt.extra(t)}
			}
			res := exampletest.Run(t, cmd)
			named := regexp.MustCompile(regexp.QuoteMeta(strconv.Quote(tt.handle)) + `: \S`)
			is.Equal(res.State.ExitCode(), 1)                // pipeclient's exit status
			is.Equal(strings.Count(res.Stderr, "\n"), 1)     // one line on stderr
			is.True(strings.HasSuffix(res.Stderr, "\n"))     // a whole line
			is.True(named.MatchString(res.Stderr))           // the error names the handle, then a reason
			is.True(strings.Contains(res.Stderr, tt.reason)) // the reason
			is.Equal(res.Stdout, "")                         // nothing on stdout
		})
	}
}

func regularFile(t *testing.T) *os.File {
	is := is.New(t)
	f, err := os.Create(filepath.Join(t.TempDir(), "file"))
	is.NoErr(err) // creating a regular file
	t.Cleanup(func() { f.Close() })
	return f
}

func writeEnd(t *testing.T) *os.File {
	is := is.New(t)
	r, w, err := os.Pipe()
	is.NoErr(err) // making a pipe
	t.Cleanup(func() { r.Close(); w.Close() })
	return w
}
