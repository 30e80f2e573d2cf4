package anonpipe_test

import (
	"os"
	"strconv"
	"syscall"
	"testing"

	"github.com/anonpipe/anonpipe/anonpipe"
	"golang.org/x/sys/windows"
)

// fdCount reports false: Windows has no cheap, reliable way to list a
// process's handles (Wine reports none), so leak checks by count are made
// on Unix only, and Windows relies on the behaviour checks beside them.
func fdCount() (int, bool) {
	return 0, false
}

// addPlatformChildren adds the Windows children; the Unix-only ones list
// descriptors or use descriptor numbers that mean nothing on Windows.
func addPlatformChildren(m map[string]func([]string) int) {
	m["cat-through-c"] = childCatThroughC
}

func closeInheritedOnExec() {}

// inherit hands f to c's child, through the list of handles it inherits,
// and returns its handle string there. The handle must be inheritable to
// be in the list; only the child named by the list inherits it.
func inherit(t *testing.T, c *anonpipe.Cmd, f *os.File) string {
	h := f.Fd()
	if err := windows.SetHandleInformation(windows.Handle(h), windows.HANDLE_FLAG_INHERIT, windows.HANDLE_FLAG_INHERIT); err != nil {
		t.Fatalf("making handle %d inheritable: %v", h, err)
	}
	if c.SysProcAttr == nil {
		c.SysProcAttr = &syscall.SysProcAttr{}
	}
	c.SysProcAttr.AdditionalInheritedHandles = append(c.SysProcAttr.AdditionalInheritedHandles, syscall.Handle(h))
	return strconv.FormatUint(uint64(h), 10)
}
