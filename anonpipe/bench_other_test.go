//go:build !linux

package anonpipe_test

import (
	"errors"
	"io"
	"os"
)

// setPipeSize fails: only Linux can resize a pipe made by os.Pipe.
func setPipeSize(*os.File, int) error {
	return errors.New("pipe sizes are fixed on this system")
}

// feedPipe copies size bytes of src, from offset 0, into w, then closes w.
func feedPipe(w, src *os.File, size int64) <-chan error {
	done := make(chan error, 1)
	go func() {
		_, err := io.Copy(w, io.NewSectionReader(src, 0, size))
		w.Close()
		done <- err
	}()
	return done
}

// drainPipe reads r until EOF, then closes it.
func drainPipe(r *os.File) <-chan error {
	done := make(chan error, 1)
	go func() {
		_, err := io.Copy(io.Discard, r)
		r.Close()
		done <- err
	}()
	return done
}

// contextSwitches reports no counts: the benchmarks count them on Linux
// only.
func contextSwitches() (vol, invol uint64, ok bool) {
	return 0, 0, false
}
