package anonpipe_test

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"

	"github.com/matryer/is"
	"golang.org/x/sys/unix"
)

// platformWrongDescriptors adds Linux's anonymous-inode descriptors to
// TestReliabilityOpenRefusesMoreWrongDescriptors.
func platformWrongDescriptors(t *testing.T) []wrongDescriptor {
	ev, err := unix.Eventfd(0, unix.EFD_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(ev) })
	return []wrongDescriptor{{"eventfd", strconv.Itoa(ev), false, "not a pipe: an unknown file type"}}
}

func platformFuzzSlots(f *testing.F) []fuzzSlot {
	ev, err := unix.Eventfd(0, unix.EFD_CLOEXEC)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { unix.Close(ev) })
	return []fuzzSlot{{"eventfd", ev, false, false, false}}
}

func TestReliabilitySecurityProcFdReopensPipe(t *testing.T) {
	// Close-on-exec keeps a pipe from processes this one starts, not from
	// processes that look for it: on Linux, /proc/PID/fd/N names every open
	// descriptor, and opening that path opens the pipe anew, in either
	// direction. The kernel allows it to processes that may ptrace-read
	// this one: the same user, or root; others get EACCES.
	is := is.New(t)
	sh := needTool(t, "sh")
	r, w := pipe(t)
	rc, err := w.File().SyscallConn()
	is.NoErr(err) // reaching the write end's descriptor
	var fd uintptr
	is.NoErr(rc.Control(func(d uintptr) { fd = d })) // reading its number
	path := fmt.Sprintf("/proc/%d/fd/%d", os.Getpid(), fd)
	lines := bufio.NewReader(r)

	is.NoErr(exec.Command(sh, "-c", "echo injected >"+path).Run()) // a same-user process opens the write end's path
	got, err := lines.ReadString('\n')
	is.NoErr(err)               // reading the pipe
	is.Equal(got, "injected\n") // the bytes it wrote are in the pipe

	_, err = io.WriteString(w, "secret\n")
	is.NoErr(err) // writing to the pipe
	out, err := exec.Command(sh, "-c", "head -c 7 "+path).Output()
	is.NoErr(err)                     // a same-user process opens the same path for reading
	is.Equal(string(out), "secret\n") // and takes the bytes meant for our reader

	if os.Geteuid() != 0 {
		t.Logf("verified that a same-user process can write and read a pipe through %s; not root, so the other-user check is skipped", path)
		return
	}
	other := exec.Command(sh, "-c", "echo injected >"+path)
	other.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	msg, err := other.CombinedOutput()
	is.True(err != nil) // another user's process cannot open the path
	_, err = io.WriteString(w, "end\n")
	is.NoErr(err) // writing a marker
	got, err = lines.ReadString('\n')
	is.NoErr(err)          // reading the pipe
	is.Equal(got, "end\n") // nothing was injected before the marker
	t.Logf("verified that a same-user process can write and read a pipe through %s, and that uid 65534 cannot: %q", path, msg)
}
