package anonpipe

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"syscall"

	"golang.org/x/sys/windows"
)

// attach lists the child's end in AdditionalInheritedHandles and leaves it
// not inheritable: startChild marks it inheritable only while the child is
// created. syscall.StartProcess passes only listed handles
// (PROC_THREAD_ATTRIBUTE_HANDLE_LIST), so a sibling that Go starts at the
// same time cannot inherit it even then.
func (c *Cmd) attach(end *os.File) (string, error) {
	if c.SysProcAttr != nil && c.SysProcAttr.NoInheritHandles {
		return "", errors.New("anonpipe: SysProcAttr.NoInheritHandles is set, so the child could not inherit its pipe end")
	}
	rc, err := end.SyscallConn()
	if err != nil {
		return "", err
	}
	var h windows.Handle
	if err := rc.Control(func(fd uintptr) { h = windows.Handle(fd) }); err != nil {
		return "", err
	}
	if c.SysProcAttr == nil {
		c.SysProcAttr = &syscall.SysProcAttr{}
	}
	c.SysProcAttr.AdditionalInheritedHandles = append(c.SysProcAttr.AdditionalInheritedHandles, syscall.Handle(h))
	return strconv.FormatUint(uint64(h), 10), nil
}

// checkAttached makes sure each child end is still listed for the child to
// inherit, so that the handle the child was told names the end.
func (c *Cmd) checkAttached() error {
	for _, e := range c.childEnds {
		h, _ := strconv.ParseUint(e.handle, 10, 64) // attach formatted it
		switch {
		case c.SysProcAttr != nil && c.SysProcAttr.NoInheritHandles:
			return fmt.Errorf("anonpipe: Start: SysProcAttr.NoInheritHandles was set after %s, so the child could not inherit handle %q", e.by, e.handle)
		case c.SysProcAttr == nil || !slices.Contains(c.SysProcAttr.AdditionalInheritedHandles, syscall.Handle(h)):
			return fmt.Errorf("anonpipe: Start: handle %q, which %s made, is no longer in SysProcAttr.AdditionalInheritedHandles; "+
				"entries must not be removed, nor SysProcAttr replaced, after ToChild/FromChild", e.handle, e.by)
		}
	}
	return nil
}

// startChild runs exec.Cmd.Start with the child's ends inheritable, and
// makes them not inheritable again as soon as it returns (Start then closes
// them). CreateProcess passes only inheritable handles, even those named in
// the handle list, so the flag cannot be avoided; and exec.Cmd has no hook
// closer to CreateProcess, nor does Go hold a lock there (syscall.ForkLock
// is unused on Windows), so this is the narrowest window there is.
func (c *Cmd) startChild() error {
	// Clearing the flag on an end it was never set on is harmless.
	defer func() {
		for _, end := range c.childEnds {
			setInheritable(end.File, false)
		}
	}()
	for _, end := range c.childEnds {
		if err := setInheritable(end.File, true); err != nil {
			return err
		}
	}
	return c.Cmd.Start()
}

// setInheritable sets or clears HANDLE_FLAG_INHERIT on f's handle.
func setInheritable(f *os.File, on bool) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var flags uint32
	if on {
		flags = windows.HANDLE_FLAG_INHERIT
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = windows.SetHandleInformation(windows.Handle(fd), windows.HANDLE_FLAG_INHERIT, flags)
	}); err != nil {
		return err
	}
	if serr != nil {
		return os.NewSyscallError("SetHandleInformation", serr)
	}
	return nil
}
