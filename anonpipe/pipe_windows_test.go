package anonpipe_test

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"unsafe"

	"github.com/matryer/is"
	"golang.org/x/sys/windows"
)

// cCatEnv names the cat.exe built from testdata/c/cat.c, which
// scripts/test-windows builds with mingw-w64.
const cCatEnv = "ANONPIPE_C_CAT"

// queryFile calls NtQueryInformationFile for h and class into buf.
func queryFile(h windows.Handle, class uintptr, buf unsafe.Pointer, size uintptr) error {
	var iosb windows.IO_STATUS_BLOCK
	st, _, _ := windows.NewLazySystemDLL("ntdll.dll").NewProc("NtQueryInformationFile").Call(
		uintptr(h), uintptr(unsafe.Pointer(&iosb)), uintptr(buf), size, class)
	if st != 0 {
		return windows.NTStatus(st)
	}
	return nil
}

// overlapped reports whether h was opened for overlapped I/O, that is
// without FILE_SYNCHRONOUS_IO_ALERT or _NONALERT in its FileModeInformation.
func overlapped(h windows.Handle) (bool, error) {
	var mode uint32
	if err := queryFile(h, 16, unsafe.Pointer(&mode), unsafe.Sizeof(mode)); err != nil {
		return false, err
	}
	return mode&(windows.FILE_SYNCHRONOUS_IO_ALERT|windows.FILE_SYNCHRONOUS_IO_NONALERT) == 0, nil
}

// handleOf returns the handle named by a handle string.
func handleOf(t *testing.T, s string) windows.Handle {
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		t.Fatalf("handle string %q: %v", s, err)
	}
	return windows.Handle(v)
}

// fileHandle returns f's handle without Fd, which would take it off the
// poller.
func fileHandle(t *testing.T, f *os.File) windows.Handle {
	rc, err := f.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var h windows.Handle
	if err := rc.Control(func(fd uintptr) { h = windows.Handle(fd) }); err != nil {
		t.Fatal(err)
	}
	return h
}

// TestPipeHasNoName checks that another process has no way to the pipe:
// it has no name to open it by (the file system answers a name query with
// an error, or an empty name), and even through one of its own handles no
// second client connects. CreatePipe's pipes, which anonpipe made before,
// have names (under Wine \Win32.Pipes.<pid>.<n>).
func TestPipeHasNoName(t *testing.T) {
	r, w := pipe(t)
	c := child(t, "exit")
	_, th, err := c.ToChild()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ends := map[string]windows.Handle{
		"Pipe's read end":             fileHandle(t, r.File()),
		"Pipe's write end":            fileHandle(t, w.File()),
		"ToChild's end for the child": handleOf(t, th),
	}
	for name, h := range ends {
		t.Run(name, func(t *testing.T) {
			is := is.New(t)
			var info struct {
				Length uint32
				Name   [256]uint16
			}
			err := queryFile(h, 9, unsafe.Pointer(&info), unsafe.Sizeof(info)) // FileNameInformation
			got := ""
			if err == nil {
				got = windows.UTF16ToString(info.Name[:info.Length/2])
			}
			is.True(err != nil || got == "" || got == `\`) // the pipe has no name that could be opened

			// Opening relative to an end's handle, as the client is opened
			// relative to the server's, reaches the pipe, whose one instance
			// is taken.
			for _, access := range []uint32{windows.GENERIC_READ, windows.GENERIC_WRITE} {
				var second windows.Handle
				var iosb windows.IO_STATUS_BLOCK
				oa := &windows.OBJECT_ATTRIBUTES{RootDirectory: h, ObjectName: &windows.NTUnicodeString{}}
				oa.Length = uint32(unsafe.Sizeof(*oa))
				err = windows.NtCreateFile(&second, access|windows.SYNCHRONIZE, oa, &iosb, nil, 0,
					windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE, windows.FILE_OPEN, windows.FILE_NON_DIRECTORY_FILE, 0, 0)
				if err == nil {
					windows.CloseHandle(second)
				}
				is.True(err != nil) // no second client connects, to read or to write
			}
		})
	}
}

// TestEndModes checks which ends are overlapped: those this process keeps,
// so that the poller serves them, and not a child's, which any program
// must be able to use with plain ReadFile and WriteFile.
func TestEndModes(t *testing.T) {
	is := is.New(t)
	r, w := pipe(t)
	c := child(t, "exit")
	tw, th, err := c.ToChild()
	is.NoErr(err) // attaching a pipe to the child
	fr, fh, err := c.FromChild()
	is.NoErr(err) // attaching a pipe from the child
	defer c.Close()
	for _, tc := range []struct {
		name string
		h    windows.Handle
		want bool
	}{
		{"Pipe's read end", fileHandle(t, r.File()), true},
		{"Pipe's write end", fileHandle(t, w.File()), true},
		{"ToChild's end for the parent", fileHandle(t, tw.File()), true},
		{"FromChild's end for the parent", fileHandle(t, fr.File()), true},
		{"ToChild's end for the child", handleOf(t, th), false},
		{"FromChild's end for the child", handleOf(t, fh), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			is := is.New(t)
			got, err := overlapped(tc.h)
			is.NoErr(err)          // querying the handle's mode
			is.Equal(got, tc.want) // overlapped exactly if this process keeps the end
		})
	}
}

// childCatThroughC opens the read end args[0] and the write end args[1],
// checks that both are synchronous, and runs the C program args[2] with
// them, through File, as its standard input and output.
func childCatThroughC(args []string) int {
	r, w, err := openEnds(args[0], args[1])
	if err != nil {
		return fail("%v", err)
	}
	for _, f := range []*os.File{r.File(), w.File()} {
		if o, err := overlapped(windows.Handle(f.Fd())); err != nil || o {
			return fail("%s: overlapped %v, %v; want a synchronous handle", f.Name(), o, err)
		}
	}
	cat := exec.Command(args[2])
	cat.Stdin, cat.Stdout, cat.Stderr = r.File(), w.File(), os.Stderr
	if err := cat.Run(); err != nil {
		return fail("%s: %v", args[2], err)
	}
	return 0
}

// TestGrandchildInCUsesEndsThroughFile passes a child its ends, which it
// hands on through File as the standard input and output of a C program
// that reads and writes them with plain ReadFile and WriteFile, as most
// non-Go programs do. An overlapped end would make such calls misbehave:
// see golang/go#80979.
func TestGrandchildInCUsesEndsThroughFile(t *testing.T) {
	cat := os.Getenv(cCatEnv)
	if cat == "" {
		t.Skipf("no C program: %s is unset (scripts/test-windows builds testdata/c/cat.c with mingw-w64 and sets it)", cCatEnv)
	}
	if _, err := os.Stat(cat); err != nil {
		t.Skipf("no C program: %s: %v", cCatEnv, err)
	}
	is := is.New(t)
	c := child(t, "cat-through-c")
	w, wh, err := c.ToChild()
	is.NoErr(err) // attaching a pipe to the child
	r, rh, err := c.FromChild()
	is.NoErr(err) // attaching a pipe from the child
	c.Args = append(c.Args, wh, rh, cat)
	is.NoErr(c.Start()) // starting the child

	// More than the pipes hold, so that the grandchild's calls block.
	want := bytes.Repeat([]byte("through a C grandchild\n"), 20000)
	go func() {
		w.Write(want)
		w.Close()
	}()
	got, err := io.ReadAll(r)
	is.NoErr(err)                   // reading what the grandchild wrote
	is.Equal(len(got), len(want))   // every byte came back
	is.True(bytes.Equal(got, want)) // in order
	is.NoErr(c.Wait())              // the child and the grandchild exit cleanly
}
