package pipetest_test

import (
	"errors"
	"io"
	"os"
	"testing"
	"time"

	"github.com/matryer/is"
)

// The tests below show how a pipe holding 65536 bytes counts its room in
// 16 slots of one 4096-byte page each, as Linux's do. They run on the fake
// everywhere, and on a real pipe on Linux only: macOS counts bytes.

// deadlineWriter is a pipe's write end.
type deadlineWriter interface {
	io.Writer
	SetWriteDeadline(time.Time) error
}

// writeOrBlock writes n bytes with a deadline that a Write with room never
// reaches, so that it reports whether the Write had to wait.
func writeOrBlock(t *testing.T, w deadlineWriter, n int) (int, error) {
	t.Helper()
	is := is.New(t)
	is.NoErr(w.SetWriteDeadline(time.Now().Add(50 * time.Millisecond))) // a bound on a Write that must wait
	k, err := w.Write(make([]byte, n))
	is.NoErr(w.SetWriteDeadline(time.Time{})) // clearing the deadline
	return k, err
}

// testSmallWritesFillPages writes 3000 bytes at a time with nobody reading:
// no two fit in one page, so the 17th waits, with 48000 bytes in the pipe.
func testSmallWritesFillPages(t *testing.T, w deadlineWriter) {
	is := is.New(t)
	for range 16 {
		n, err := writeOrBlock(t, w, 3000)
		is.NoErr(err)     // each of the first 16 Writes takes a slot of its own
		is.Equal(n, 3000) // whole
	}
	n, err := writeOrBlock(t, w, 3000)
	is.True(errors.Is(err, os.ErrDeadlineExceeded)) // the 17th waits: every slot is in use, though 17536 bytes are free
	is.Equal(n, 0)                                  // and, being atomic, puts in nothing
}

// testPartReadFreesNoPage fills the pipe, then reads part of its first page:
// that frees no slot, so even a one-byte Write waits, until the page is read
// to its end.
func testPartReadFreesNoPage(t *testing.T, r io.Reader, w deadlineWriter) {
	is := is.New(t)
	n, err := writeOrBlock(t, w, 1<<20)
	is.True(errors.Is(err, os.ErrDeadlineExceeded)) // a megabyte does not fit
	is.Equal(n, 65536)                              // it fills the pipe's 16 pages

	_, err = io.ReadFull(r, make([]byte, 100))
	is.NoErr(err) // reading 100 bytes of the first page
	n, err = writeOrBlock(t, w, 1)
	is.True(errors.Is(err, os.ErrDeadlineExceeded)) // a one-byte Write still waits: the first page holds 3996 unread bytes and all 16 slots are in use
	is.Equal(n, 0)                                  // having put in nothing

	_, err = io.ReadFull(r, make([]byte, 3996))
	is.NoErr(err) // reading the rest of the first page
	n, err = writeOrBlock(t, w, 1)
	is.NoErr(err)  // frees its slot, and the Write goes in
	is.Equal(n, 1) // whole
}

func TestSmallWritesFillPagesOnFake(t *testing.T) {
	_, w := fake(t)
	testSmallWritesFillPages(t, w)
}

func TestPartReadFreesNoPageOnFake(t *testing.T) {
	r, w := fake(t)
	testPartReadFreesNoPage(t, r, w)
}
