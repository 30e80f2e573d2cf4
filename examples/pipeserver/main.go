// Command pipeserver is the server of the anonymous pipe example, the Go
// counterpart of the AnonymousPipeServerStream program in .NET's "How to: Use
// Anonymous Pipes for Local Interprocess Communication".
//
// Usage:
//
//	pipeserver [CLIENT-COMMAND [ARG...]]
//
// pipeserver makes a pipe toward a client process and starts the client with
// the pipe's handle appended as its last argument. With no arguments the
// client is pipeserver itself, run again in the role of pipeclient, so
//
//	printf 'hello\n' | go run ./examples/pipeserver
//
// works without building anything. Otherwise the client is CLIENT-COMMAND,
// which may be written in any language: it reads the pipe from the
// descriptor (on Windows, the HANDLE) whose number is its last argument.
// The client's standard output and error are pipeserver's.
//
// pipeserver sends "SYNC" and waits until the client has read it, prompts
// "[SERVER] Enter text: " once, and sends each line of its standard input
// to the client. At the end of its input it closes the pipe, waits for the
// client to exit and prints "[SERVER] Client quit. Server terminating."
//
// If the client cannot be started, exits before reading everything (a broken
// pipe) or exits with a failure, pipeserver prints "[SERVER] Error: REASON" to
// standard error and exits with status 1, after waiting for the client if it
// was started. An interrupt while waiting for the client to read SYNC is
// handled the same way.
package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"

	"github.com/anonpipe/anonpipe/anonpipe"
	"github.com/anonpipe/anonpipe/examples/internal/echo"
)

// roleEnv selects the client role when pipeserver runs itself as its client.
// An environment variable, unlike an argument, cannot collide with what a
// user passes.
const roleEnv = "ANONPIPE_EXAMPLE_ROLE"

func main() {
	if os.Getenv(roleEnv) == "client" {
		os.Exit(echo.Main(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run is the server; it returns the exit status.
func run(args []string, stdin io.Reader, stdout, stderr *os.File) int {
	fail := func(err error) { fmt.Fprintf(stderr, "[SERVER] Error: %v\n", err) }
	cmd, err := clientCommand(args)
	if err != nil {
		fail(err)
		return 1
	}
	w, handle, err := cmd.ToChild()
	if err != nil {
		fail(err)
		return 1
	}
	cmd.Args = append(cmd.Args, handle)
	// Files, not other writers, so the client inherits them and writes
	// straight to them.
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Start(); err != nil {
		fail(err)
		return 1
	}

	status := 0
	if err := serve(w, stdin, stdout); err != nil {
		fail(err)
		status = 1
	}
	w.Close() // the client's EOF
	if err := cmd.Wait(); err != nil {
		fail(fmt.Errorf("client: %w", err))
		status = 1
	}
	fmt.Fprintln(stdout, "[SERVER] Client quit. Server terminating.")
	return status
}

// clientCommand returns the command given by args, or this program in the
// client role if args is empty.
func clientCommand(args []string) (*anonpipe.Cmd, error) {
	if len(args) > 0 {
		return anonpipe.Command(args[0], args[1:]...), nil
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := anonpipe.Command(exe)
	cmd.Env = append(os.Environ(), roleEnv+"=client")
	return cmd, nil
}

// serve sends SYNC, waits for the client to read it, then sends each line
// of stdin.
func serve(w *anonpipe.Writer, stdin io.Reader, stdout io.Writer) error {
	if _, err := io.WriteString(w, "SYNC\n"); err != nil {
		return fmt.Errorf("sending SYNC: %w", err)
	}
	if err := drain(w); err != nil {
		if errors.Is(err, anonpipe.ErrBrokenPipe) {
			// Drain cannot tell whether SYNC was read before the client
			// closed its end: only that nobody will read any more.
			return fmt.Errorf("the client closed the pipe before SYNC was known to be read: %w", err)
		}
		return fmt.Errorf("waiting for the client to read SYNC: %w", err)
	}
	fmt.Fprint(stdout, "[SERVER] Enter text: ")
	in := bufio.NewReader(stdin)
	for {
		line, err := in.ReadString('\n')
		if line != "" {
			line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r") + "\n"
			if _, err := io.WriteString(w, line); err != nil {
				return fmt.Errorf("sending a line: %w", err)
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading standard input: %w", err)
		}
	}
}

// drain is w.Drain, ended by an interrupt so that the server still closes
// the pipe and waits for a client that never reads, rather than dying and
// leaving it behind.
func drain(w *anonpipe.Writer) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	return w.Drain(ctx)
}
