package anonpipe

import (
	"errors"
	"os"
	"strconv"
	"syscall"

	"golang.org/x/sys/windows"
)

// attach makes the child's end inheritable and lists it in
// AdditionalInheritedHandles. syscall.StartProcess passes only listed handles
// (PROC_THREAD_ATTRIBUTE_HANDLE_LIST), so a sibling started at the same time
// cannot inherit it.
func (c *Cmd) attach(end *os.File) (string, error) {
	if c.SysProcAttr != nil && c.SysProcAttr.NoInheritHandles {
		return "", errors.New("anonpipe: SysProcAttr.NoInheritHandles is set, so the child could not inherit its pipe end")
	}
	rc, err := end.SyscallConn()
	if err != nil {
		return "", err
	}
	var h windows.Handle
	var serr error
	if err := rc.Control(func(fd uintptr) {
		h = windows.Handle(fd)
		serr = windows.SetHandleInformation(h, windows.HANDLE_FLAG_INHERIT, windows.HANDLE_FLAG_INHERIT)
	}); err != nil {
		return "", err
	}
	if serr != nil {
		return "", os.NewSyscallError("SetHandleInformation", serr)
	}
	if c.SysProcAttr == nil {
		c.SysProcAttr = &syscall.SysProcAttr{}
	}
	c.SysProcAttr.AdditionalInheritedHandles = append(c.SysProcAttr.AdditionalInheritedHandles, syscall.Handle(h))
	return strconv.FormatUint(uint64(h), 10), nil
}
