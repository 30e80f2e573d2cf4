//go:build unix

package anonpipe_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	"strconv"
	"time"

	"github.com/anonpipe/anonpipe/anonpipe"
	"github.com/anonpipe/anonpipe/pipetest"
	"golang.org/x/sys/unix"
)

// The roles below meet descriptors that other code holds too: the
// standard descriptors os.Stdin, os.Stdout, os.Stderr and the runtime's
// panic output use, and ends handed on to a grandchild with File().

// edgeSize is larger than any default pipe, so that writing it must wait
// for the reader, and reading it must wait for the writer.
const edgeSize = 1 << 20

// childStdioWrite opens args[0] ("1" or "2") with OpenWriter and fills the
// pipe until a write deadline stops it. Then it tells the parent, on the
// write end args[1], how many bytes that was, and writes edgeSize bytes
// more in the way args[2] says: "writer" through the Writer, "stdout"
// through fmt.Print (os.Stdout), "log" through log.Print (os.Stderr),
// "panic" through log.Print and then a panic. The parent starts reading
// only once told, so each of those writes meets a full pipe.
func childStdioWrite(args []string) int {
	w, err := anonpipe.OpenWriter(args[0])
	if err != nil {
		return fail("%v", err)
	}
	sig, err := anonpipe.OpenWriter(args[1])
	if err != nil {
		return fail("%v", err)
	}
	if err := w.SetWriteDeadline(time.Now().Add(50 * time.Millisecond)); err != nil {
		return fail("SetWriteDeadline: %v", err)
	}
	n, err := w.Write(make([]byte, edgeSize))
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		return fail("filling the pipe: %d bytes, %v", n, err)
	}
	if err := w.SetWriteDeadline(time.Time{}); err != nil {
		return fail("clearing the deadline: %v", err)
	}
	fmt.Fprintf(sig, "%d\n", n)
	sig.Close()
	big := bytes.Repeat([]byte("x"), edgeSize)
	switch args[2] {
	case "writer":
		_, err = w.Write(big)
	case "stdout":
		_, err = fmt.Print(string(big))
	case "log":
		log.SetFlags(0)
		err = log.Output(1, string(big))
	case "panic":
		log.SetFlags(0)
		log.Print(string(big))
		panic("the panic message arrives")
	}
	if err != nil {
		return fail("writing after the pipe was full: %v", err)
	}
	return 0
}

// childStdinRead opens descriptor 0 with OpenReader and shows that a Read of
// the empty pipe waits (until a deadline), then tells the parent on the
// write end args[0] and reports, there too, how many bytes it reads to EOF.
func childStdinRead(args []string) int {
	r, err := anonpipe.OpenReader("0")
	if err != nil {
		return fail("%v", err)
	}
	sig, err := anonpipe.OpenWriter(args[0])
	if err != nil {
		return fail("%v", err)
	}
	if err := r.SetReadDeadline(time.Now().Add(20 * time.Millisecond)); err != nil {
		return fail("SetReadDeadline: %v", err)
	}
	if _, err := r.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
		return fail("reading the empty pipe: %v", err)
	}
	if err := r.SetReadDeadline(time.Time{}); err != nil {
		return fail("clearing the deadline: %v", err)
	}
	fmt.Fprintln(sig, "waiting")
	n, err := io.Copy(io.Discard, r)
	if err != nil {
		return fail("reading: %v", err)
	}
	fmt.Fprintln(sig, n)
	return 0
}

// childGrandchild opens args[0] ("r": OpenReader, "w": OpenWriter) on the
// handle args[1] and runs the command args[2:] with the end's File as its
// standard input or output. With "r" the grandchild's output goes to this
// child's stdout.
func childGrandchild(args []string) int {
	cmd := grandchildCmd(args[2:])
	cmd.Stderr = os.Stderr
	if args[0] == "r" {
		r, err := anonpipe.OpenReader(args[1])
		if err != nil {
			return fail("%v", err)
		}
		defer r.Close()
		cmd.Stdin = r.File()
		cmd.Stdout = os.Stdout
	} else {
		w, err := anonpipe.OpenWriter(args[1])
		if err != nil {
			return fail("%v", err)
		}
		defer w.Close()
		cmd.Stdout = w.File()
	}
	if err := cmd.Run(); err != nil {
		return fail("grandchild %v: %v", args[2:], err)
	}
	return 0
}

// grandchildCmd is the command args, where "self ROLE ARGS..." is this test
// binary in a child role.
func grandchildCmd(args []string) *exec.Cmd {
	if args[0] != "self" {
		return exec.Command(args[0], args[1:]...)
	}
	cmd := exec.Command(os.Args[0], args[2:]...)
	cmd.Env = append(os.Environ(), pipetest.ChildEnv+"="+args[1]) // the last of a key wins
	return cmd
}

// childBlocking exits 0 if descriptor args[0] is in blocking mode, and
// fails otherwise: a grandchild in C, Python or a shell gets EAGAIN from a
// non-blocking descriptor.
func childBlocking(args []string) int {
	fd, err := strconv.Atoi(args[0])
	if err != nil {
		return fail("%v", err)
	}
	fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
	if err != nil {
		return fail("fcntl: %v", err)
	}
	if fl&unix.O_NONBLOCK != 0 {
		return fail("descriptor %d is non-blocking", fd)
	}
	return 0
}

func addEdgeChildren(m map[string]func([]string) int) {
	m["stdio-write"] = childStdioWrite
	m["stdin-read"] = childStdinRead
	m["grandchild"] = childGrandchild
	m["blocking"] = childBlocking
}
