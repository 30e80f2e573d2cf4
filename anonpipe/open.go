package anonpipe

import (
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// OpenReader returns the read end of a pipe passed to this process, given
// its handle string: from [Cmd.ToChild], or a descriptor or HANDLE number
// from another parent (Python's pass_fds, a shell's 3<&0). The handle must
// be a decimal number without sign, space or leading zero naming a pipe or
// FIFO open for reading or a
// connected stream socket (on Windows, a pipe handle with read access);
// anything else gives an error matching [ErrInvalidHandle] and leaves the
// descriptor as it was.
//
// The Reader owns the handle: open each handle once. The handle's mode,
// which other processes may share, is never changed. Deadlines, and a Close
// that ends a pending Read, work on Windows and for a Linux pipe, which is
// opened anew; otherwise only if the handle came non-blocking. A handle of 0 stays open for
// os.Stdin until Close, which points it at /dev/null. Of the Options, only
// [WithBusyPoll] applies.
func OpenReader(handle string, opts ...Option) (*Reader, error) {
	c, err := newConfig("OpenReader", opts, false, true)
	if err != nil {
		return nil, err
	}
	f, release, err := open(handle, false)
	if err != nil {
		return nil, err
	}
	return &Reader{f: f, io: newEndIO(f, false), busy: newBusyPoller(f, c.busyPoll), release: release}, nil
}

// OpenWriter returns the write end of a pipe that a parent passed to this
// process, given its handle string, as [OpenReader] does with the direction
// reversed. A handle of 1 or 2 stays open for os.Stdout or os.Stderr until
// Close, which points it at /dev/null; writes through the Writer still
// return [ErrBrokenPipe] rather than raise SIGPIPE.
func OpenWriter(handle string) (*Writer, error) {
	f, release, err := open(handle, true)
	if err != nil {
		return nil, err
	}
	return &Writer{f: f, io: newEndIO(f, true), release: release}, nil
}

// parseHandle accepts only the canonical decimal form, so that no two strings
// name the same handle and nothing a shell or a user might mistype is
// guessed at.
func parseHandle(handle string, bits int) (uint64, error) {
	if handle == "" {
		return 0, invalidHandle(handle, errors.New("empty string"))
	}
	for i := 0; i < len(handle); i++ {
		if c := handle[i]; c < '0' || c > '9' {
			// The whole character, or the byte alone if it is not valid
			// UTF-8, as %q would show it in the handle.
			r, size := utf8.DecodeRuneInString(handle[i:])
			what := strconv.QuoteRune(r)
			if r == utf8.RuneError && size <= 1 {
				what = fmt.Sprintf("'\\x%02x'", c)
			}
			return 0, invalidHandle(handle, fmt.Errorf("not a decimal number: %s is not a digit", what))
		}
	}
	if len(handle) > 1 && handle[0] == '0' {
		return 0, invalidHandle(handle, errors.New("leading zero"))
	}
	v, err := strconv.ParseUint(handle, 10, bits)
	if err != nil {
		return 0, invalidHandle(handle, fmt.Errorf("out of range for a %d-bit handle", bits))
	}
	return v, nil
}

func invalidHandle(handle string, reason error) error {
	return fmt.Errorf("%w %q: %w", ErrInvalidHandle, handle, reason)
}
