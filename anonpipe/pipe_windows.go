package anonpipe

import (
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/windows"
)

func newPipe(c config) (*Reader, *Writer, error) {
	var r, w windows.Handle
	// A nil SECURITY_ATTRIBUTES makes both handles non-inheritable; Cmd.Start
	// marks only the child's end inheritable, and only while it creates the
	// child, which alone gets it through the handle list.
	if err := windows.CreatePipe(&r, &w, nil, uint32(c.bufferSize)); err != nil {
		return nil, nil, fmt.Errorf("anonpipe: CreatePipe: %w", err)
	}
	return &Reader{f: os.NewFile(uintptr(r), "|0")}, &Writer{f: os.NewFile(uintptr(w), "|1")}, nil
}

// writeChunk bounds each WriteFile. A synchronous pipe write that is cut
// short (by Close, or by the reader leaving) reports 0 bytes written however
// much of it the reader already took, so a big write is made in pieces and
// at most one piece is unaccounted for.
const writeChunk = 4096

// fileCopyKeepsCount says whether a copy into a Writer may bypass its Write.
// Not on Windows: only write's pieces keep the count of a copy cut short.
const fileCopyKeepsCount = false

func write(f *os.File, p []byte) (int, error) {
	n := 0
	for n < len(p) {
		m, err := f.Write(p[n:min(len(p), n+writeChunk)])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// closeFile closes f and makes sure a Read or Write pending on it returns.
// os.File.Close cancels (CancelIoEx) only the I/O already issued, then waits
// for it to finish: a ReadFile issued just after the cancel would block Close
// until data came. So the cancel is repeated until Close returns, through a
// duplicate of the handle, which names the same pipe but stays valid however
// f's own handle is closed and its value reused.
func closeFile(f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return f.Close()
	}
	var dup windows.Handle
	p := windows.CurrentProcess()
	if rc.Control(func(fd uintptr) {
		windows.DuplicateHandle(p, windows.Handle(fd), p, &dup, 0, false, windows.DUPLICATE_SAME_ACCESS)
	}) != nil || dup == 0 {
		return f.Close() // already closed, or no duplicate: Close alone is the best left
	}
	defer windows.CloseHandle(dup)
	done := make(chan error, 1)
	go func() { done <- f.Close() }()
	for {
		select {
		case err := <-done:
			return err
		case <-time.After(time.Millisecond):
			windows.CancelIoEx(dup, nil)
		}
	}
}

func isBrokenPipe(err error) bool {
	return errors.Is(err, windows.ERROR_BROKEN_PIPE) || errors.Is(err, windows.ERROR_NO_DATA)
}

// errNoDeadline explains why os.ErrNoDeadline is returned for every pipe end
// on Windows.
var errNoDeadline = errors.New("anonpipe: Windows anonymous pipes are synchronous and have no deadlines")

func wrapDeadlineError(err error) error {
	if errors.Is(err, os.ErrNoDeadline) {
		return fmt.Errorf("%w: %w", errNoDeadline, err)
	}
	return err
}
