//go:build unix

package anonpipe

// handleBits is the size of a handle: a descriptor is a non-negative int32.
const handleBits = 31

// checkHandle makes open's checks of handle without opening it, so that
// OpenConn can refuse a handle string before it opens, and on Linux closes,
// either descriptor.
func checkHandle(handle string, write bool) error {
	v, err := parseHandle(handle, handleBits)
	if err != nil {
		return err
	}
	if err := checkEnd(int(v), write); err != nil {
		return invalidHandle(handle, err)
	}
	return nil
}
