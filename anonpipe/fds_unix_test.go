//go:build unix

package anonpipe_test

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/anonpipe/anonpipe/anonpipe"
	"golang.org/x/sys/unix"
)

// openFDs lists the descriptors above 2 open in this process. Unlike a
// listing of /proc/self/fd it opens nothing itself, so it works before the
// runtime's poller exists and on every Unix.
func openFDs() []int {
	var fds []int
	for fd := 3; fd < 1024; fd++ {
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err == nil {
			fds = append(fds, fd)
		}
	}
	return fds
}

// fdCount counts this process's open descriptors.
func fdCount() (int, bool) {
	return len(openFDs()), true
}

// childFDs prints the descriptors it inherited, then, if args[0] names a
// pipe, the pipe's content. Inherited descriptors are the open ones without
// close-on-exec: exec clears the flag on those it hands over, while the Go
// runtime opens its own (cgroup files for GOMAXPROCS, the poller) with it.
func childFDs(args []string) int {
	var s []string
	for _, fd := range openFDs() {
		if flags, _ := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); flags&unix.FD_CLOEXEC == 0 {
			s = append(s, strconv.Itoa(fd))
		}
	}
	fmt.Println(strings.Join(s, " "))
	if len(args) == 0 {
		return 0
	}
	r, err := anonpipe.OpenReader(args[0])
	if err != nil {
		return fail("%v", err)
	}
	if _, err := io.Copy(os.Stdout, r); err != nil {
		return fail("copy: %v", err)
	}
	return 0
}

// lines splits s, such as what childFDs prints, into lines, dropping the
// last empty one.
func lines(s string) []string {
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}

// closeInheritedOnExec marks close-on-exec every descriptor this test binary
// inherited beyond stdio, such as those a shell or CI runner leaked to it, so
// that the children's descriptor lists show only what anonpipe handed them.
func closeInheritedOnExec() {
	for _, fd := range openFDs() {
		unix.CloseOnExec(fd)
	}
}

// addPlatformChildren adds the children that only Unix tests use.
func addPlatformChildren(m map[string]func([]string) int) {
	m["fds"] = childFDs
	m["stdout-broken"] = childStdoutBroken
	m["stdio-closed"] = childStdioClosed
	m["wait-fails"] = childWaitFails
	addEdgeChildren(m)
}

// inherit hands f to c's child, after the files already in ExtraFiles, and
// returns its handle string there.
func inherit(_ *testing.T, c *anonpipe.Cmd, f *os.File) string {
	c.ExtraFiles = append(c.ExtraFiles, f)
	return strconv.Itoa(2 + len(c.ExtraFiles))
}
