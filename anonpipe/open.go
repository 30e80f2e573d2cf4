package anonpipe

import (
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// OpenReader returns the read end of a pipe that a parent passed to this
// process, given the handle string the parent got from [Cmd.ToChild], like
// .NET's AnonymousPipeClientStream(PipeDirection.In, handle). Handles from
// other parents work too: Python's pass_fds, a shell's 3<&0, Node.js's extra
// 'pipe'.
//
// The handle must be a plain decimal number (no sign, space, prefix or
// leading zero) naming, on Unix, a pipe or FIFO open for reading or a
// connected stream socket, and on Windows a pipe handle with read access.
// Anything else, a terminal on descriptor 0 included, gives an error
// matching [ErrInvalidHandle] that names the handle and the reason, and
// leaves the descriptor as it was.
//
// The Reader owns the handle, so open each handle once. It never changes
// the mode of the handle's open file description, which other processes
// may share. On Linux a pipe gets a description of its own, with deadlines
// and a Close that ends a pending Read; a handle of 0 stays open for
// os.Stdin until Close, which then points it at /dev/null. Elsewhere, and
// for sockets and named FIFOs, the Reader has deadlines only if the handle
// came non-blocking.
//
// Of the Options, only [WithBusyPoll] applies; [WithBufferSize] makes it fail.
func OpenReader(handle string, opts ...Option) (*Reader, error) {
	c, err := newConfig("OpenReader", opts, false, true)
	if err != nil {
		return nil, err
	}
	f, release, err := open(handle, false)
	if err != nil {
		return nil, err
	}
	return &Reader{f: f, busy: newBusyPoller(f, c.busyPoll), release: release}, nil
}

// OpenWriter returns the write end of a pipe that a parent passed to this
// process, given the handle string the parent got from [Cmd.FromChild], like
// .NET's AnonymousPipeClientStream(PipeDirection.Out, handle).
//
// The rules are those of [OpenReader], with the access reversed; a handle
// of 1 or 2 stays open for os.Stdout or os.Stderr, and the runtime's panic
// output, until Close. A write to a broken pipe returns [ErrBrokenPipe]
// rather than raising SIGPIPE, on every descriptor.
func OpenWriter(handle string) (*Writer, error) {
	f, release, err := open(handle, true)
	if err != nil {
		return nil, err
	}
	return &Writer{f: f, release: release}, nil
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
