package anonpipe

import (
	"errors"
	"fmt"
	"os"
	"unsafe"

	"golang.org/x/sys/windows"
)

// fileAccessInformation is FILE_INFORMATION_CLASS FileAccessInformation,
// which reports the access a handle was granted.
const fileAccessInformation = 8

func open(handle string, write bool) (*os.File, error) {
	v, err := parseHandle(handle, 32)
	if err != nil {
		return nil, err
	}
	h := windows.Handle(v)
	if err := checkEnd(h, write); err != nil {
		return nil, invalidHandle(handle, err)
	}
	if err := windows.SetHandleInformation(h, windows.HANDLE_FLAG_INHERIT, 0); err != nil {
		return nil, invalidHandle(handle, os.NewSyscallError("SetHandleInformation", err))
	}
	return os.NewFile(uintptr(h), "anonpipe:"+handle), nil
}

func checkEnd(h windows.Handle, write bool) error {
	typ, err := windows.GetFileType(h)
	if err != nil {
		if errors.Is(err, windows.ERROR_INVALID_HANDLE) {
			return errors.New("not an open handle")
		}
		return os.NewSyscallError("GetFileType", err)
	}
	switch typ {
	case windows.FILE_TYPE_PIPE:
	case windows.FILE_TYPE_DISK:
		return errors.New("not a pipe: a disk file")
	case windows.FILE_TYPE_CHAR:
		return errors.New("not a pipe: a character device or console")
	default:
		if h == 0 || typ == windows.FILE_TYPE_UNKNOWN {
			return errors.New("not an open handle of a known type")
		}
		return fmt.Errorf("not a pipe: file type %d", typ)
	}
	var access uint32
	var iosb windows.IO_STATUS_BLOCK
	if err := windows.NtQueryInformationFile(h, &iosb, (*byte)(unsafe.Pointer(&access)), uint32(unsafe.Sizeof(access)), fileAccessInformation); err != nil {
		return os.NewSyscallError("NtQueryInformationFile", err)
	}
	switch {
	case write && access&windows.FILE_WRITE_DATA == 0:
		return errors.New("the read end of a pipe, not a write end")
	case !write && access&windows.FILE_READ_DATA == 0:
		return errors.New("the write end of a pipe, not a read end")
	}
	return nil
}
