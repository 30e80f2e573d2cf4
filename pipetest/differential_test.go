//go:build linux

package pipetest_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/anonpipe/anonpipe/anonpipe"
	"github.com/anonpipe/anonpipe/pipetest"
	"golang.org/x/sys/unix"
)

// FuzzDifferential runs one sequence of operations, decoded from the fuzz
// input, on a pipetest fake and on a real Linux pipe, both holding 65536
// bytes, and requires the same result from each: byte counts, bytes read,
// and the class of every error (not its text).
//
// Everything runs in one goroutine and no operation may block for long, so
// the results are deterministic. A Write of any size up to a page more than
// the capacity runs with a deadline a millisecond away, set just before it:
// with nobody reading meanwhile, each pipe puts in what fits, by its own
// count of pages, and then waits until the deadline, so both must return the
// same count. (A Write that a stall kept from starting before its deadline is
// tried again; see run.) A Read waits, with such a deadline, only when both
// pipes are empty, and Drain, with a context as short, only when both hold
// bytes.
// Deadlines in the past, closes, zero-length operations and Drain run at any
// time.
//
//	go test -run '^$' -fuzz '^FuzzDifferential$' -fuzztime 30s ./pipetest
func FuzzDifferential(f *testing.F) {
	for _, seed := range [][]byte{
		{opWrite, 0, 10, opRead, 0, 20, opRead, 0, 20},
		{opWrite, 0xff, 0xff, opWrite, 0xff, 0xff, opWrite, 1, 0, opRead, 0, 1, opWrite, 0, 1},
		// Writes of 3000 bytes take a page each: the 17th waits.
		bytes.Repeat([]byte{opWrite, 0x0b, 0xb8}, 17),
		// Reading part of the first page frees no slot; reading the rest does.
		{opFill, opRead, 0, 99, opWrite, 0, 1, opRead, 0x0f, 0x9b, opWrite, 0, 1, opWrite, 0, 2},
		// Merging into the newest page, read or not, only if all fits.
		{opWrite, 0, 100, opRead, 0, 50, opWrite, 0x0f, 0x9c, opWrite, 0, 1, opWrite, 0xf0, 0x00, opWrite, 0xf0, 0x32},
		{opFill, opWrite, 0, 1, opRead, 0x10, 0, opWrite, 0x10, 0, opDrain},
		{opWrite, 0, 5, opCloseWriter, opRead, 0, 2, opRead, 0, 9, opRead, 0, 9, opWrite, 0, 1, opDrain},
		{opWrite, 0, 5, opCloseReader, opWrite, 0, 1, opDrain, opRead, 0, 1, opCloseReader},
		{opWritePast, 0, 3, opReadPast, 0, 3, opWrite, 0, 3, opReadPast, 0, 3, opRead, 0, 3},
		{opRead, 0, 1, opDrainDone, opDrain, opWrite, 0, 1, opDrain, opDrainDone},
		{opReadEmpty, opWriteEmpty, opClearDeadlines, opCloseWriter, opCloseWriter, opReadEmpty, opWriteEmpty, opClearDeadlines},
		{opReadEmptyPast, opWriteEmptyPast, opWrite, 0, 1, opReadEmptyPast, opCloseReader, opWriteEmptyPast, opWritePast, 0, 1},
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, prog []byte) {
		d := newDiff(t)
		defer d.close()
		for step := 0; len(prog) > 0 && step < 200; step++ {
			op := int(prog[0] % opCount)
			prog = prog[1:]
			arg := 0
			if op == opWrite || op == opWritePast || op == opRead || op == opReadPast {
				if len(prog) < 2 {
					return
				}
				arg = int(prog[0])<<8 | int(prog[1])
				prog = prog[2:]
			}
			d.run(step, op, arg)
		}
	})
}

const (
	opWrite          = iota // Write arg bytes, with a deadline if it may wait
	opWritePast             // Write arg bytes with a write deadline in the past
	opRead                  // Read up to arg bytes (with a 1 ms deadline if there is nothing to read)
	opReadPast              // Read up to arg bytes with a read deadline in the past
	opFill                  // Write whole pages until the pipe is full, when it is empty
	opWriteEmpty            // Write no bytes
	opReadEmpty             // Read into an empty buffer
	opDrain                 // Drain, with a 1 ms context if the pipe holds bytes
	opDrainDone             // Drain with a context already done
	opCloseWriter           // Close the write end
	opCloseReader           // Close the read end
	opClearDeadlines        // set both deadlines to the zero time
	opWriteEmptyPast        // Write no bytes with a write deadline in the past
	opReadEmptyPast         // Read into an empty buffer with a read deadline in the past
	opCount
)

var opNames = [...]string{"Write", "WritePast", "Read", "ReadPast", "Fill", "WriteEmpty", "ReadEmpty", "Drain", "DrainDone", "CloseWriter", "CloseReader", "ClearDeadlines", "WriteEmptyPast", "ReadEmptyPast"}

const (
	diffCapacity = 65536
	pageSize     = 4096
)

// end is what both kinds of pipe end offer.
type (
	reader interface {
		io.ReadCloser
		SetReadDeadline(time.Time) error
	}
	writer interface {
		io.WriteCloser
		SetWriteDeadline(time.Time) error
		Drain(context.Context) error
	}
)

type diff struct {
	t       *testing.T
	fr, rr  reader
	fw, rw  writer
	unread  int // bytes in the pipe
	written int // bytes written so far, which sets the next bytes' values
	wclosed bool
	rclosed bool
	log     []string
}

func newDiff(t *testing.T) *diff {
	fr, fw := pipetest.Pipe(pipetest.WithCapacity(diffCapacity))
	rr, rw, err := anonpipe.Pipe(anonpipe.WithBufferSize(diffCapacity))
	if err != nil {
		t.Fatal(err)
	}
	rc, err := rw.File().SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var size int
	rc.Control(func(fd uintptr) { size, err = unix.FcntlInt(fd, unix.F_GETPIPE_SZ, 0) })
	if err != nil || size != diffCapacity {
		t.Fatalf("the real pipe holds %d bytes (%v), want %d", size, err, diffCapacity)
	}
	return &diff{t: t, fr: fr, fw: fw, rr: rr, rw: rw}
}

func (d *diff) close() {
	d.fr.Close()
	d.fw.Close()
	d.rr.Close()
	d.rw.Close()
}

// result is what an operation returned, in a form that compares equal
// between the fake and a real pipe.
type result struct {
	n    int
	data string
	err  string
}

func (r result) String() string {
	return fmt.Sprintf("n=%d data=%.16q err=%s", r.n, r.data, r.err)
}

func class(err error) string {
	switch {
	case err == nil:
		return "nil"
	case err == io.EOF:
		return "EOF"
	case errors.Is(err, anonpipe.ErrBrokenPipe):
		return "ErrBrokenPipe"
	case errors.Is(err, os.ErrClosed):
		return "ErrClosed"
	case errors.Is(err, os.ErrDeadlineExceeded):
		return "ErrDeadlineExceeded"
	case errors.Is(err, context.Canceled):
		return "Canceled"
	case errors.Is(err, context.DeadlineExceeded):
		return "context.DeadlineExceeded"
	}
	return "other(" + err.Error() + ")"
}

// payload returns the n bytes that follow the d.written bytes written so far.
func (d *diff) payload(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte((d.written + i) * 7 / 5)
	}
	return b
}

func (d *diff) run(step, op, arg int) {
	var desc string
	var f, r result
	soon := func() time.Time { return time.Now().Add(time.Millisecond) }
	past := time.Now().Add(-time.Second)
	switch op {
	case opWrite, opFill:
		n := arg % (diffCapacity + pageSize + 1)
		if op == opFill {
			if d.unread != 0 || d.wclosed || d.rclosed {
				return
			}
			n = diffCapacity
		}
		if n == 0 {
			return
		}
		open := !d.wclosed && !d.rclosed
		desc = fmt.Sprintf("%s(%d)", opNames[op], n)
		p := d.payload(n)
		// Each deadline is set just before its Write, so that the first
		// Write's wait does not use up the second's.
		write := func(w writer, try int) result {
			if open {
				w.SetWriteDeadline(time.Now().Add(time.Millisecond << (2 * try)))
			}
			n, err := w.Write(p)
			if open {
				w.SetWriteDeadline(time.Time{})
			}
			return result{n: n, err: class(err)}
		}
		f, r = write(d.fw, 0), write(d.rw, 0)
		// A deadline that passed before its Write began, because this
		// goroutine was not run for a millisecond on a busy machine,
		// makes the Write return 0 without writing anything. Writing
		// again, with a deadline four times as far each time, is then
		// harmless, and tells such a stall from a real difference, which
		// repeats. A short first deadline keeps inputs fast to run and
		// to minimise.
		for try := 1; try <= 4 && f != r; try++ {
			if f.n == 0 && f.err == "ErrDeadlineExceeded" {
				f = write(d.fw, try)
			} else if r.n == 0 && r.err == "ErrDeadlineExceeded" {
				r = write(d.rw, try)
			} else {
				break
			}
		}
		if f.err == "nil" || f.err == "ErrDeadlineExceeded" {
			d.unread += f.n
		}
		d.written += f.n
	case opWritePast:
		n := 1 + arg%pageSize
		desc = fmt.Sprintf("WritePast(%d)", n)
		d.fw.SetWriteDeadline(past)
		d.rw.SetWriteDeadline(past)
		p := d.payload(n)
		fn, ferr := d.fw.Write(p)
		rn, rerr := d.rw.Write(p)
		f, r = result{n: fn, err: class(ferr)}, result{n: rn, err: class(rerr)}
		d.fw.SetWriteDeadline(time.Time{})
		d.rw.SetWriteDeadline(time.Time{})
		d.written += fn
	case opRead, opReadPast:
		n := 1 + arg%(diffCapacity+pageSize)
		desc = fmt.Sprintf("%s(%d)", opNames[op], n)
		wait := op == opReadPast || d.unread == 0 && !d.wclosed && !d.rclosed
		if wait {
			dl := soon()
			if op == opReadPast {
				dl = past
			}
			d.fr.SetReadDeadline(dl)
			d.rr.SetReadDeadline(dl)
		}
		fb, rb := make([]byte, n), make([]byte, n)
		fn, ferr := d.fr.Read(fb)
		rn, rerr := d.rr.Read(rb)
		f = result{n: fn, data: string(fb[:max(fn, 0)]), err: class(ferr)}
		r = result{n: rn, data: string(rb[:max(rn, 0)]), err: class(rerr)}
		if wait {
			d.fr.SetReadDeadline(time.Time{})
			d.rr.SetReadDeadline(time.Time{})
		}
		if ferr == nil {
			d.unread -= fn
		}
	case opWriteEmpty, opWriteEmptyPast:
		desc = opNames[op]
		if op == opWriteEmptyPast {
			d.fw.SetWriteDeadline(past)
			d.rw.SetWriteDeadline(past)
		}
		fn, ferr := d.fw.Write(nil)
		rn, rerr := d.rw.Write(nil)
		f, r = result{n: fn, err: class(ferr)}, result{n: rn, err: class(rerr)}
		d.fw.SetWriteDeadline(time.Time{})
		d.rw.SetWriteDeadline(time.Time{})
	case opReadEmpty, opReadEmptyPast:
		desc = opNames[op]
		if op == opReadEmptyPast {
			d.fr.SetReadDeadline(past)
			d.rr.SetReadDeadline(past)
		}
		fn, ferr := d.fr.Read(nil)
		rn, rerr := d.rr.Read(nil)
		f, r = result{n: fn, err: class(ferr)}, result{n: rn, err: class(rerr)}
		d.fr.SetReadDeadline(time.Time{})
		d.rr.SetReadDeadline(time.Time{})
	case opDrain, opDrainDone:
		desc = opNames[op]
		ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
		if op == opDrainDone {
			cancel()
		} else if d.unread > 0 && !d.wclosed && !d.rclosed {
			ctx, cancel = context.WithTimeout(context.Background(), time.Millisecond)
		}
		f = result{err: class(d.fw.Drain(ctx))}
		r = result{err: class(d.rw.Drain(ctx))}
		cancel()
	case opCloseWriter:
		desc = "CloseWriter"
		f, r = result{err: class(d.fw.Close())}, result{err: class(d.rw.Close())}
		d.wclosed = true
	case opCloseReader:
		desc = "CloseReader"
		f, r = result{err: class(d.fr.Close())}, result{err: class(d.rr.Close())}
		d.rclosed = true
		d.unread = 0
	case opClearDeadlines:
		desc = "ClearDeadlines"
		f = result{err: class(d.fr.SetReadDeadline(time.Time{})) + "," + class(d.fw.SetWriteDeadline(time.Time{}))}
		r = result{err: class(d.rr.SetReadDeadline(time.Time{})) + "," + class(d.rw.SetWriteDeadline(time.Time{}))}
	}
	d.log = append(d.log, fmt.Sprintf("%d: %s -> %v", step, desc, r))
	if f != r {
		d.t.Fatalf("step %d, %s: the fake gives %v, a real pipe %v\nsteps so far (real pipe's results):\n%s",
			step, desc, f, r, strings.Join(d.log, "\n"))
	}
}
