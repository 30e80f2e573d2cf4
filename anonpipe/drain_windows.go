package anonpipe

import (
	"context"
	"errors"
	"os"
	"runtime"
	"syscall"
	"time"

	"golang.org/x/sys/windows"
)

// drain calls FlushFileBuffers, which on a pipe returns once the reader has
// read everything. It blocks even on an overlapped handle, and the poller
// neither bounds it nor ends it at Close: so it runs on a locked thread
// that CancelSynchronousIo can target, and is cancelled when ctx ends or
// when f turns out closed. Close cancels a flush already started, but not
// one about to start, so this looks for Close too, every millisecond at
// first, then every 50.
func drain(ctx context.Context, f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	for {
		err := flushUntil(ctx, f, rc)
		// A synchronous end's deadline cancels every call on its handle
		// (see syncEnd), this flush too: flush again.
		if !errors.Is(err, windows.ERROR_OPERATION_ABORTED) || ctx.Err() != nil || checkOpen("drain", f) != nil {
			return err
		}
	}
}

// flushUntil flushes f once, cancelling the flush if ctx ends or f is
// closed first.
func flushUntil(ctx context.Context, f *os.File, rc syscall.RawConn) error {
	thread := make(chan windows.Handle, 1)
	done := make(chan error, 1)
	release := make(chan struct{})
	defer close(release)
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
		// The thread stays locked until no CancelSynchronousIo can come,
		// so that none reaches another goroutine's call on it.
		<-release
	}()
	th := <-thread
	if th == 0 {
		return <-done
	}
	defer windows.CloseHandle(th)

	wait := time.Millisecond
	timer := time.NewTimer(wait)
	defer timer.Stop()
	var stop error // why the flush is cancelled
	for stop == nil {
		select {
		case err := <-done:
			if errors.Is(err, windows.ERROR_OPERATION_ABORTED) && checkOpen("drain", f) != nil {
				return errClosed("drain", f) // Close cancelled it
			}
			return err
		case <-ctx.Done():
			stop = ctx.Err()
		case <-timer.C:
			if checkOpen("drain", f) != nil {
				stop = errClosed("drain", f)
			}
			wait = min(2*wait, 50*time.Millisecond)
			timer.Reset(wait)
		}
	}
	// The flush may not have started when a cancel comes: cancel until the
	// goroutine reports back.
	cancel := windows.NewLazySystemDLL("kernel32.dll").NewProc("CancelSynchronousIo")
	for {
		cancel.Call(uintptr(th))
		timer.Reset(time.Millisecond)
		select {
		case err := <-done:
			if errors.Is(err, windows.ERROR_OPERATION_ABORTED) {
				return stop
			}
			return err // nil if the reader finished first
		case <-timer.C:
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
