package anonpipe

import (
	"os"
	"unsafe"

	"golang.org/x/sys/windows"
)

// FILE_INFORMATION_CLASS values for queryFile.
const (
	fileAccessInformation    = 8  // FILE_ACCESS_INFORMATION: the access a handle was granted
	filePipeLocalInformation = 24 // FILE_PIPE_LOCAL_INFORMATION: a pipe's quotas and state
)

// filePipeLocalInfo is FILE_PIPE_LOCAL_INFORMATION.
type filePipeLocalInfo struct {
	Type, Configuration, MaxInstances, CurInstances uint32
	InboundQuota, ReadDataAvailable                 uint32
	OutboundQuota, WriteQuotaAvailable              uint32
	State, End                                      uint32
}

// filePipeClosingState is the State of a pipe whose other end is closed.
const filePipeClosingState = 4

// queryFile calls NtQueryInformationFile, which reports what no Win32
// function does (a handle's granted access, a pipe's state), and which
// golang.org/x/sys/windows wraps only in releases that need a newer Go.
func queryFile(h windows.Handle, class uint32, buf unsafe.Pointer, size uintptr) error {
	var iosb windows.IO_STATUS_BLOCK
	query := windows.NewLazySystemDLL("ntdll.dll").NewProc("NtQueryInformationFile")
	if err := query.Find(); err != nil {
		return err
	}
	st, _, _ := query.Call(uintptr(h), uintptr(unsafe.Pointer(&iosb)), uintptr(buf), size, uintptr(class))
	if st != 0 {
		return os.NewSyscallError("NtQueryInformationFile", windows.NTStatus(st))
	}
	return nil
}

// readerGone reports whether the other end of the pipe h is closed.
func readerGone(h windows.Handle) (bool, error) {
	var info filePipeLocalInfo
	if err := queryFile(h, filePipeLocalInformation, unsafe.Pointer(&info), unsafe.Sizeof(info)); err != nil {
		return false, err
	}
	return info.State == filePipeClosingState, nil
}

// filePipeServerEnd is the End of a pipe's server end.
const filePipeServerEnd = 1

// writeQuota returns the quota of the pipe that f writes into, the most it
// holds unread: the server's outbound quota if f is the server end, else
// the inbound one. A pipe that does not say (the query needs
// FILE_READ_ATTRIBUTES, which a parent may not have granted) is taken to
// hold 4096 bytes, CreatePipe's default.
func writeQuota(f *os.File) int {
	rc, err := f.SyscallConn()
	if err != nil {
		return 4096
	}
	var info filePipeLocalInfo
	var qerr error
	if err := rc.Control(func(h uintptr) {
		qerr = queryFile(windows.Handle(h), filePipeLocalInformation, unsafe.Pointer(&info), unsafe.Sizeof(info))
	}); err != nil || qerr != nil {
		return 4096
	}
	q := info.InboundQuota
	if info.End == filePipeServerEnd {
		q = info.OutboundQuota
	}
	if q == 0 {
		return 4096
	}
	return int(q)
}
