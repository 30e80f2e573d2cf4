package anonpipe

import (
	"context"
	"errors"
	"os"
	"runtime"
	"time"

	"golang.org/x/sys/windows"
)

// drain calls FlushFileBuffers, which on a pipe returns once the reader has
// read everything. It cannot be interrupted, so it runs on a locked thread
// that CancelSynchronousIo can target when ctx ends.
func drain(ctx context.Context, f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	thread := make(chan windows.Handle, 1)
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		var th windows.Handle
		p := windows.CurrentProcess()
		if err := windows.DuplicateHandle(p, windows.CurrentThread(), p, &th, 0, false, windows.DUPLICATE_SAME_ACCESS); err != nil {
			thread <- 0
			done <- os.NewSyscallError("DuplicateHandle", err)
			return
		}
		thread <- th
		var ferr error
		if err := rc.Control(func(fd uintptr) {
			ferr = flush(windows.Handle(fd))
		}); err != nil {
			ferr = errClosed("drain", f)
		} else if ferr != nil {
			ferr = &os.PathError{Op: "FlushFileBuffers", Path: f.Name(), Err: ferr}
		}
		done <- ferr
	}()
	th := <-thread
	if th != 0 {
		defer windows.CloseHandle(th)
	}
	select {
	case err := <-done:
		// Close cancels a pending flush (see closeFile): report that as
		// the closed end it is.
		if errors.Is(err, windows.ERROR_OPERATION_ABORTED) && checkOpen("drain", f) != nil {
			return errClosed("drain", f)
		}
		return err
	case <-ctx.Done():
	}
	// The flush may not have started yet when the first cancel is sent, so
	// cancel until the goroutine reports back.
	cancel := windows.NewLazySystemDLL("kernel32.dll").NewProc("CancelSynchronousIo")
	for {
		cancel.Call(uintptr(th))
		select {
		case err := <-done:
			if errors.Is(err, windows.ERROR_OPERATION_ABORTED) {
				return ctx.Err()
			}
			return err // nil if the reader finished first
		case <-time.After(time.Millisecond):
		}
	}
}

// flush waits for the reader to read everything in h, or fails with
// ERROR_BROKEN_PIPE if it is gone. FlushFileBuffers alone returns success
// at once when the reader is gone (seen under Wine), so the pipe's state is
// checked too.
func flush(h windows.Handle) error {
	if err := windows.FlushFileBuffers(h); err != nil {
		return err
	}
	gone, err := readerGone(h)
	if err != nil {
		return err
	}
	if gone {
		return windows.ERROR_BROKEN_PIPE
	}
	return nil
}
