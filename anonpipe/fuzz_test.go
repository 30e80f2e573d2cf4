package anonpipe_test

import (
	"strconv"
	"testing"
)

// The fuzz targets feed OpenReader and OpenWriter arbitrary handle strings.
// Neither may panic, and neither may accept anything but the canonical
// decimal form of a handle that names a pipe end of the right direction (or,
// on Unix, a stream socket); a refused handle must give ErrInvalidHandle,
// name the handle, and leave the descriptor as it was.
//
// On Unix each call first puts fresh duplicates of known descriptors on
// fixed numbers (fuzzSlotBase and up: a pipe's two ends, a stream socket,
// FIFOs, and wrong kinds), so the accepting paths are reachable and an Open
// that takes a descriptor over takes only a copy. Handles naming any other
// descriptor this process has open, such as 0, 1 and 2 or the fuzzing
// engine's own pipes, are skipped: opening them would take them over. The
// seed corpus is in testdata/fuzz/<target>.
//
//	go test -run '^$' -fuzz '^FuzzOpenReader$' -fuzztime 30s ./anonpipe
//	go test -run '^$' -fuzz '^FuzzOpenWriter$' -fuzztime 30s ./anonpipe

func FuzzOpenReader(f *testing.F) { fuzzOpen(f, false) }

func FuzzOpenWriter(f *testing.F) { fuzzOpen(f, true) }

// canonicalHandle reports whether s is the canonical decimal form of a
// handle of at most bits bits (no sign, space, prefix or leading zero), and
// its value. It is written apart from the package's parser, as the fuzz
// targets' oracle.
func canonicalHandle(s string, bits int) (uint64, bool) {
	if s == "" || len(s) > 1 && s[0] == '0' {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	v, err := strconv.ParseUint(s, 10, bits)
	return v, err == nil
}
