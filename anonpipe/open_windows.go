package anonpipe

import (
	"errors"
	"fmt"
	"os"
	"unsafe"

	"golang.org/x/sys/windows"
)

func open(handle string, write bool) (f *os.File, release func(), err error) {
	h, err := checkHandle(handle, write)
	if err != nil {
		return nil, nil, err
	}
	if err := windows.SetHandleInformation(h, windows.HANDLE_FLAG_INHERIT, 0); err != nil {
		return nil, nil, invalidHandle(handle, os.NewSyscallError("SetHandleInformation", err))
	}
	return os.NewFile(uintptr(h), "anonpipe:"+handle), nil, nil
}

// handleBits is the size of a handle value that can be passed to another
// process: Windows keeps them to 32 bits for 32-bit processes' sake.
const handleBits = 32

// checkHandle makes every check of handle and returns it, changing
// nothing: OpenConn checks both of its handles before it opens either.
func checkHandle(handle string, write bool) (windows.Handle, error) {
	v, err := parseHandle(handle, handleBits)
	if err != nil {
		return 0, err
	}
	// The kernel ignores a handle's two low bits, so 97 would name the same
	// object as 96; only the value a parent really printed is accepted.
	if v == 0 || v%4 != 0 {
		return 0, invalidHandle(handle, errors.New("not a handle value: Windows handles are non-zero multiples of 4"))
	}
	h := windows.Handle(v)
	if err := checkEnd(h, write); err != nil {
		return 0, invalidHandle(handle, err)
	}
	return h, nil
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
		return fmt.Errorf("not a pipe: file type %d", typ)
	}
	var access uint32 // FILE_ACCESS_INFORMATION
	if err := queryFile(h, fileAccessInformation, unsafe.Pointer(&access), unsafe.Sizeof(access)); err != nil {
		return err
	}
	switch {
	case write && access&windows.FILE_WRITE_DATA == 0:
		return errors.New("the read end of a pipe, not a write end")
	case !write && access&windows.FILE_READ_DATA == 0:
		return errors.New("the write end of a pipe, not a read end")
	}
	return nil
}
