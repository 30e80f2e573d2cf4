package anonpipe

import (
	"errors"

	"golang.org/x/sys/windows"
)

// handleBits is the size of a handle value that can be passed to another
// process: Windows keeps them to 32 bits for 32-bit processes' sake.
const handleBits = 32

// checkHandle makes open's checks of handle without opening it, so that
// OpenConn can refuse a handle string before it makes either handle
// non-inheritable.
func checkHandle(handle string, write bool) error {
	v, err := parseHandle(handle, handleBits)
	if err != nil {
		return err
	}
	if v == 0 || v%4 != 0 {
		return invalidHandle(handle, errors.New("not a handle value: Windows handles are non-zero multiples of 4"))
	}
	if err := checkEnd(windows.Handle(v), write); err != nil {
		return invalidHandle(handle, err)
	}
	return nil
}
