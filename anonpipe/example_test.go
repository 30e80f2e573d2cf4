package anonpipe_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log"
	"os"
	"time"

	"github.com/anonpipe/anonpipe/anonpipe"
	"github.com/anonpipe/anonpipe/pipetest"
)

// The parent side: send a child a private stream of data besides its stdin.
// Here the child is this test binary run again in its "cat" role, which
// copies the pipe named by its last argument to its stdout; any program that
// calls OpenReader on that argument will do.
func ExampleCmd_ToChild() {
	cmd := anonpipe.Command(os.Args[0])
	cmd.Env = append(os.Environ(), pipetest.ChildEnv+"=cat")
	cmd.Stdout = os.Stdout

	w, handle, err := cmd.ToChild()
	if err != nil {
		log.Fatal(err)
	}
	cmd.Args = append(cmd.Args, handle)
	if err := cmd.Start(); err != nil { // also closes the parent's copy of the child's end
		log.Fatal(err)
	}
	fmt.Fprintln(w, "hello from the parent")
	w.Close() // the child's EOF
	if err := cmd.Wait(); err != nil {
		log.Fatal(err)
	}
	// Output: hello from the parent
}

// The parent side: read what a child reports on a channel of its own, while
// its stdout and stderr stay free for humans. The child here is this test
// binary in its "write" role, which writes its other arguments as lines to
// the pipe named by its first argument.
func ExampleCmd_FromChild() {
	cmd := anonpipe.Command(os.Args[0])
	cmd.Env = append(os.Environ(), pipetest.ChildEnv+"=write")

	r, handle, err := cmd.FromChild()
	if err != nil {
		log.Fatal(err)
	}
	cmd.Args = append(cmd.Args, handle, "progress 50%", "progress 100%")
	if err := cmd.Start(); err != nil {
		log.Fatal(err)
	}
	lines := bufio.NewScanner(r)
	for lines.Scan() { // ends at EOF, when the child exits
		fmt.Println("child says:", lines.Text())
	}
	if err := cmd.Wait(); err != nil { // only after the last read: Wait closes r
		log.Fatal(err)
	}
	// Output:
	// child says: progress 50%
	// child says: progress 100%
}

// The child side: the program started by ExampleCmd_ToChild. It gets the
// handle string as an argument and turns it back into the read end.
func ExampleOpenReader() {
	r, err := anonpipe.OpenReader(os.Args[1])
	if err != nil {
		// For example: anonpipe: invalid handle "x": not a decimal number
		log.Fatal(err)
	}
	defer r.Close()
	r.SetReadDeadline(time.Now().Add(time.Minute)) // deadlines work in the child too
	if _, err := io.Copy(os.Stdout, r); err != nil {
		log.Fatal(err)
	}
}

// Drain is .NET's WaitForPipeDrain: it returns once the reader has consumed
// everything written, so the writer knows the message was taken, not just
// buffered.
func ExampleWriter_Drain() {
	r, w, err := anonpipe.Pipe()
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	got := make(chan string)
	go func() {
		line, _ := bufio.NewReader(r).ReadString('\n')
		got <- line
	}()

	fmt.Fprintln(w, "SYNC")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := w.Drain(ctx); err != nil {
		log.Fatal(err)
	}
	fmt.Println("drained")
	fmt.Print("reader got: ", <-got)
	// Output:
	// drained
	// reader got: SYNC
}
