package pipetest_test

import (
	"os"
	"strconv"
	"syscall"

	"github.com/anonpipe/anonpipe/anonpipe"
	"golang.org/x/sys/windows"
)

// inherit hands f to cmd's child and returns its handle string there.
func inherit(cmd *anonpipe.Cmd, f *os.File) string {
	rc, err := f.SyscallConn()
	if err != nil {
		panic(err)
	}
	var h uintptr
	rc.Control(func(fd uintptr) { h = fd })
	if err := windows.SetHandleInformation(windows.Handle(h), windows.HANDLE_FLAG_INHERIT, windows.HANDLE_FLAG_INHERIT); err != nil {
		panic(err)
	}
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.AdditionalInheritedHandles = append(cmd.SysProcAttr.AdditionalInheritedHandles, syscall.Handle(h))
	return strconv.FormatUint(uint64(h), 10)
}
