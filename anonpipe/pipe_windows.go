package anonpipe

import (
	"errors"
	"fmt"
	"os"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"
)

// defaultBufferSize is a pipe's quota without WithBufferSize: Linux's
// default capacity. CreatePipe's default, 4096 bytes, would cut every Write
// into pieces that small (see asyncWriter).
const defaultBufferSize = 64 << 10

// newPipe makes a pipe with no name: its server end is created in the named
// pipe file system's root with an empty name, and its one client end is
// opened relative to the server's handle. Without a name, only a holder of
// one of the two handles can reach the pipe, and with a single instance,
// already connected, no second client can connect through the server's.
//
// The end this process keeps is the server, overlapped, which os.NewFile
// puts on the runtime's completion port: the poller then gives it deadlines
// and ends its pending calls at Close. A child's end (c.childReads,
// c.childWrites) is the client, opened synchronous, because a program using
// plain ReadFile and WriteFile cannot use an overlapped handle. For Pipe,
// the read end is the server and both ends are overlapped.
func newPipe(c config) (*Reader, *Writer, error) {
	size := c.bufferSize
	if size == 0 {
		size = defaultBufferSize
	}
	serverReads := !c.childReads
	server, client, err := createPipe(uint32(size), serverReads, c.childReads || c.childWrites)
	if err != nil {
		if c.bufferSize > 0 {
			return nil, nil, fmt.Errorf("anonpipe: WithBufferSize(%d): %w", c.bufferSize, err)
		}
		return nil, nil, fmt.Errorf("anonpipe: %w", err)
	}
	r, w := client, server
	if serverReads {
		r, w = server, client
	}
	rf, wf := os.NewFile(uintptr(r), "|0"), os.NewFile(uintptr(w), "|1")
	return &Reader{f: rf, io: newEndIO(rf, false)}, &Writer{f: wf, io: newEndIO(wf, true)}, nil
}

// createPipe makes a pipe of quota size bytes, whose server end reads if
// serverReads and writes otherwise, and whose client end is synchronous if
// clientSync. Both handles are not inheritable.
func createPipe(size uint32, serverReads, clientSync bool) (server, client windows.Handle, err error) {
	root, err := ntOpen(0, `\Device\NamedPipe\`, windows.GENERIC_READ|windows.SYNCHRONIZE, windows.FILE_SYNCHRONOUS_IO_NONALERT)
	if err != nil {
		return 0, 0, os.NewSyscallError("NtCreateFile(\\Device\\NamedPipe\\)", err)
	}
	defer windows.CloseHandle(root)

	// The share mode of a pipe's server says what a client may do: write
	// into a pipe whose server reads, read one whose server writes.
	readEnd := uint32(windows.GENERIC_READ | windows.FILE_WRITE_ATTRIBUTES | windows.SYNCHRONIZE)
	writeEnd := uint32(windows.GENERIC_WRITE | windows.FILE_READ_ATTRIBUTES | windows.SYNCHRONIZE)
	serverAccess, clientAccess, share := readEnd, writeEnd, uint32(windows.FILE_SHARE_WRITE)
	if !serverReads {
		serverAccess, clientAccess, share = writeEnd, readEnd, windows.FILE_SHARE_READ
	}
	oa := objectAttributes(root, "")
	var iosb windows.IO_STATUS_BLOCK
	timeout := int64(-50 * 1000 * 1000) // 5 s, relative, in 100 ns units: unused, as no client waits
	// One instance: once the client is connected nobody else can be. No
	// remote client could name the pipe; it is refused all the same.
	if err := windows.NtCreateNamedPipeFile(&server, serverAccess, oa, &iosb, share, windows.FILE_CREATE, 0,
		windows.FILE_PIPE_BYTE_STREAM_TYPE|windows.FILE_PIPE_REJECT_REMOTE_CLIENTS, windows.FILE_PIPE_BYTE_STREAM_MODE,
		windows.FILE_PIPE_QUEUE_OPERATION, 1, size, size, &timeout); err != nil {
		return 0, 0, os.NewSyscallError("NtCreateNamedPipeFile", err)
	}
	options := uint32(windows.FILE_NON_DIRECTORY_FILE)
	if clientSync {
		options |= windows.FILE_SYNCHRONOUS_IO_NONALERT
	}
	if client, err = ntOpen(server, "", clientAccess, options); err != nil {
		windows.CloseHandle(server)
		return 0, 0, os.NewSyscallError("NtCreateFile(pipe client)", err)
	}
	return server, client, nil
}

// ntOpen opens name relative to the directory or file dir (none if 0).
func ntOpen(dir windows.Handle, name string, access, options uint32) (windows.Handle, error) {
	var h windows.Handle
	var iosb windows.IO_STATUS_BLOCK
	err := windows.NtCreateFile(&h, access, objectAttributes(dir, name), &iosb, nil, 0,
		windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE, windows.FILE_OPEN, options, 0, 0)
	return h, err
}

// objectAttributes names name under dir, not inheritable.
func objectAttributes(dir windows.Handle, name string) *windows.OBJECT_ATTRIBUTES {
	s := &windows.NTUnicodeString{}
	if name != "" {
		s, _ = windows.NewNTUnicodeString(name) // only constant names without NULs come here
	}
	oa := &windows.OBJECT_ATTRIBUTES{RootDirectory: dir, ObjectName: s}
	oa.Length = uint32(unsafe.Sizeof(*oa))
	return oa
}

// newEndIO returns what an end f needs besides f: for an end in synchronous
// mode a syncEnd, which gives it deadlines and a Close that ends pending
// calls; for an overlapped Writer an asyncWriter; nothing for an overlapped
// Reader, which the poller serves fully.
func newEndIO(f *os.File, write bool) endIO {
	// os.NewFile put an overlapped handle on the poller, which alone gives
	// deadlines: a synchronous one refuses them.
	sync := errors.Is(f.SetReadDeadline(time.Time{}), os.ErrNoDeadline)
	piece := 0
	if write {
		piece = writeQuota(f)
	}
	switch {
	case sync:
		return newSyncEnd(f, write, piece)
	case write:
		return &asyncWriter{File: f, piece: piece}
	}
	return nil
}

// asyncWriter writes into an overlapped end in pieces of at most piece
// bytes, the pipe's quota, so that the count of a Write cut short is
// exact. A write that is cancelled (by a deadline or Close) reports 0 bytes
// written, even when the reader has taken part of it: its bytes wait in the
// pipe as one entry, the reader takes from the entry's front, and the
// cancel removes the entry. But a write of at most the quota is complete as
// soon as the reader has taken any of it, since everything before it is
// then gone and the rest fits: such a write is taken whole or not at all.
// (Measured under Wine: with a 64 KiB quota, an 8 MiB write cut short
// after the reader took 1000 bytes reports 0; in 64 KiB pieces, it reports
// exactly what the reader gets.)
type asyncWriter struct {
	*os.File // for Read and Close
	piece    int
}

func (a *asyncWriter) Write(p []byte) (int, error) {
	return writePieces(a.File.Write, p, a.piece)
}

func (a *asyncWriter) setDeadline(t time.Time) error { return a.SetWriteDeadline(t) }

// writePieces writes p with write in pieces of at most piece bytes.
func writePieces(write func([]byte) (int, error), p []byte, piece int) (int, error) {
	n := 0
	for n < len(p) {
		m, err := write(p[n:min(len(p), n+piece)])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

func isBrokenPipe(err error) bool {
	return errors.Is(err, windows.ERROR_BROKEN_PIPE) || errors.Is(err, windows.ERROR_NO_DATA)
}

// wrapDeadlineError returns err: every Windows end has deadlines.
func wrapDeadlineError(err error) error {
	return err
}
