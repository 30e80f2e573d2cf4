package anonpipe_test

import (
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"
	"unsafe"

	"github.com/anonpipe/anonpipe/anonpipe"
	"github.com/matryer/is"
	"golang.org/x/sys/windows"
)

func TestOpenRefusesWrongHandles(t *testing.T) {
	file, err := os.CreateTemp(t.TempDir(), "regular")
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	var pr, pw windows.Handle
	if err := windows.CreatePipe(&pr, &pw, nil, 0); err != nil {
		t.Fatal(err)
	}
	defer windows.CloseHandle(pr)
	defer windows.CloseHandle(pw)
	var closed, closedW windows.Handle
	if err := windows.CreatePipe(&closed, &closedW, nil, 0); err != nil {
		t.Fatal(err)
	}
	windows.CloseHandle(closed)
	windows.CloseHandle(closedW)

	for _, tc := range []struct {
		name   string
		handle string
		write  bool
		reason string
	}{
		{"zero", "0", false, "multiples of 4"},
		{"not a multiple of 4", strconv.FormatUint(uint64(pr)+1, 10), false, "multiples of 4"},
		{"disk file", strconv.FormatUint(uint64(file.Fd()), 10), false, "not a pipe: a disk file"},
		{"write end for reading", strconv.FormatUint(uint64(pw), 10), false, "the write end of a pipe, not a read end"},
		{"read end for writing", strconv.FormatUint(uint64(pr), 10), true, "the read end of a pipe, not a write end"},
		{"closed handle", strconv.FormatUint(uint64(closed), 10), false, "not an open handle"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			is := is.New(t)
			var err error
			if tc.write {
				_, err = anonpipe.OpenWriter(tc.handle)
			} else {
				_, err = anonpipe.OpenReader(tc.handle)
			}
			is.True(errors.Is(err, anonpipe.ErrInvalidHandle))               // a wrong handle is ErrInvalidHandle
			is.True(strings.Contains(err.Error(), strconv.Quote(tc.handle))) // the error names the handle
			is.True(strings.Contains(err.Error(), tc.reason))                // the error gives the reason
		})
	}
}

func TestOpenedHandleIsNotInheritable(t *testing.T) {
	is := is.New(t)
	var pr, pw windows.Handle
	is.NoErr(windows.CreatePipe(&pr, &pw, nil, 0))                                                       // making a pipe
	is.NoErr(windows.SetHandleInformation(pr, windows.HANDLE_FLAG_INHERIT, windows.HANDLE_FLAG_INHERIT)) // inheritable, as a parent hands it over
	defer windows.CloseHandle(pw)
	r, err := anonpipe.OpenReader(strconv.FormatUint(uint64(pr), 10))
	is.NoErr(err) // opening the read end
	defer r.Close()
	var flags uint32
	get := windows.NewLazySystemDLL("kernel32.dll").NewProc("GetHandleInformation")
	ok, _, _ := get.Call(uintptr(pr), uintptr(unsafe.Pointer(&flags)))
	is.True(ok != 0)                                       // reading the handle's flags
	is.Equal(flags&windows.HANDLE_FLAG_INHERIT, uint32(0)) // an opened end does not leak into this process's children
}
