package anonpipe

import (
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// OpenReader returns the read end of a pipe that a parent passed to this
// process, given the handle string the parent got from [Cmd.ToChild]. It is
// the counterpart of .NET's AnonymousPipeClientStream(PipeDirection.In,
// handle), and accepts handles from any parent: a .NET parent's
// GetClientHandleAsString, a descriptor passed by Python's pass_fds, a shell
// redirection such as 3<&0, or an extra 'pipe' in Node.js's stdio array.
//
// The handle must be a plain decimal number with no sign, space, prefix or
// leading zero. On Unix it must name an open descriptor that is a pipe or a
// FIFO open for reading, or a stream socket. On Windows it must be a
// non-zero multiple of 4, as every real handle value is, and name an open
// handle of type FILE_TYPE_PIPE with read access. Descriptors 0, 1 and 2 are
// accepted only when they meet the same rule, so a terminal or a file on
// stdin is refused. Any other handle gives an error matching
// [ErrInvalidHandle] that names the handle and the reason, and leaves the
// descriptor as it was.
//
// On success the Reader owns the descriptor: closing it closes the
// descriptor, so a handle must be opened at most once. The descriptor is made
// close-on-exec (not inheritable on Windows), so it does not leak into this
// process's own children. On Unix it is also made non-blocking and
// registered with the runtime's poller, so deadlines work and Close unblocks
// a pending Read; the non-blocking flag is shared with every process that
// holds the same pipe end.
//
// Of the Options, only [WithBusyPoll] applies: the pipe exists already, so
// [WithBufferSize] makes OpenReader fail.
func OpenReader(handle string, opts ...Option) (*Reader, error) {
	c, err := openConfig(opts)
	if err != nil {
		return nil, err
	}
	f, err := open(handle, false)
	if err != nil {
		return nil, err
	}
	return &Reader{f: f, busy: newBusyPoller(f, c.busyPoll)}, nil
}

// OpenWriter returns the write end of a pipe that a parent passed to this
// process, given the handle string the parent got from [Cmd.FromChild]. It
// is the counterpart of .NET's AnonymousPipeClientStream(PipeDirection.Out,
// handle).
//
// The rules are those of [OpenReader], with the access reversed: the handle
// must name a pipe or FIFO open for writing, or a stream socket (Unix), or a
// pipe handle with write access (Windows). If the handle is 1 or 2, a write
// to a broken pipe still returns [ErrBrokenPipe] rather than raising SIGPIPE
// as os.Stdout would, as everywhere in this package.
//
// It takes the Options OpenReader takes; a Writer ignores [WithBusyPoll].
func OpenWriter(handle string, opts ...Option) (*Writer, error) {
	if _, err := openConfig(opts); err != nil {
		return nil, err
	}
	f, err := open(handle, true)
	if err != nil {
		return nil, err
	}
	return newWriter(f), nil
}

// openConfig reads the Options given to OpenReader or OpenWriter.
func openConfig(opts []Option) (config, error) {
	c, err := newConfig(opts)
	if err == nil && c.bufferSize > 0 {
		err = errors.New("anonpipe: WithBufferSize applies only to a pipe this process makes")
	}
	return c, err
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
