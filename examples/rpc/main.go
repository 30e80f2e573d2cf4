// Command rpc calls a worker process through net/rpc, with the standard
// library's JSON-RPC codec (net/rpc/jsonrpc), over an anonpipe.Conn: a
// pipe each way between rpc and the worker, which no other process can
// reach.
//
// Usage:
//
//	rpc [WORKER-COMMAND [ARG...]]
//
// rpc starts the worker with the Conn's handle string appended as its last
// argument. With no arguments the worker is rpc itself, run again in the
// worker's role, so
//
//	go run ./examples/rpc
//
// works without building anything. Otherwise the worker is WORKER-COMMAND,
// which may be written in any language: the handle string is two numbers
// separated by a comma, the descriptor (on Windows, the HANDLE) the worker
// reads requests from and the one it writes responses to. Requests are
// JSON-RPC 1.0 objects, {"method": "Worker.Add", "params": [[2, 3]],
// "id": 0}, one after the other; the worker answers each with
// {"id": 0, "result": 5, "error": null}. testdata/worker.py is such a
// worker. The worker's standard output and error are rpc's.
//
// rpc calls Worker.Add with [2, 3] and Worker.Upper with "hello", prints
// each result, closes the Conn, which the worker reads as EOF, waits for
// the worker to exit and exits 0. If the worker cannot be started, a call
// fails (the worker died, or answered with an error) or the worker exits
// with a failure, rpc prints "rpc: REASON" to standard error and exits 1,
// after waiting for the worker if it was started.
package main

import (
	"fmt"
	"io"
	"net/rpc"
	"net/rpc/jsonrpc"
	"os"
	"strings"

	"github.com/anonpipe/anonpipe/anonpipe"
)

// roleEnv selects the worker role when rpc runs itself as its worker. An
// environment variable, unlike an argument, cannot collide with what a
// user passes.
const roleEnv = "ANONPIPE_EXAMPLE_ROLE"

func main() {
	if os.Getenv(roleEnv) == "worker" {
		os.Exit(serve(os.Args[1:], os.Stderr))
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// Worker is the service the worker serves.
type Worker struct{}

// Add returns the sum of two numbers.
func (Worker) Add(args [2]int, sum *int) error {
	*sum = args[0] + args[1]
	return nil
}

// Upper returns s in upper case.
func (Worker) Upper(s string, upper *string) error {
	*upper = strings.ToUpper(s)
	return nil
}

// serve is the worker: it serves Worker on the Conn whose handle string is
// its last argument until the Conn reaches EOF, and returns the exit status.
func serve(args []string, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "rpc worker: no handle string")
		return 2
	}
	conn, err := anonpipe.OpenConn(args[len(args)-1])
	if err != nil {
		fmt.Fprintln(stderr, "rpc worker:", err)
		return 1
	}
	srv := rpc.NewServer()
	if err := srv.Register(Worker{}); err != nil {
		fmt.Fprintln(stderr, "rpc worker:", err)
		return 1
	}
	srv.ServeCodec(jsonrpc.NewServerCodec(conn)) // closes conn at EOF
	return 0
}

// run is the parent; it returns the exit status.
func run(args []string, stdout, stderr *os.File) int {
	fail := func(err error) { fmt.Fprintln(stderr, "rpc:", err) }
	cmd, err := workerCommand(args)
	if err != nil {
		fail(err)
		return 1
	}
	defer cmd.Close() // whatever happens below, every end is released
	conn, handle, err := cmd.Conn()
	if err != nil {
		fail(err)
		return 1
	}
	cmd.Args = append(cmd.Args, handle)
	// Files, not other writers, so the worker inherits them and writes
	// straight to them.
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Start(); err != nil {
		fail(err)
		return 1
	}

	status := 0
	client := jsonrpc.NewClient(conn)
	if err := call(client, stdout); err != nil {
		fail(err)
		status = 1
	}
	client.Close() // closes conn: the worker's EOF
	if err := cmd.Wait(); err != nil {
		fail(fmt.Errorf("worker: %w", err))
		status = 1
	}
	return status
}

// workerCommand returns the command given by args, or this program in the
// worker role if args is empty.
func workerCommand(args []string) (*anonpipe.Cmd, error) {
	if len(args) > 0 {
		return anonpipe.Command(args[0], args[1:]...), nil
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := anonpipe.Command(exe)
	cmd.Env = append(os.Environ(), roleEnv+"=worker")
	return cmd, nil
}

// call makes the calls and prints their results.
func call(client *rpc.Client, stdout io.Writer) error {
	var sum int
	if err := client.Call("Worker.Add", [2]int{2, 3}, &sum); err != nil {
		return fmt.Errorf("Worker.Add: %w", err)
	}
	fmt.Fprintf(stdout, "Worker.Add(2, 3) = %d\n", sum)
	var upper string
	if err := client.Call("Worker.Upper", "hello", &upper); err != nil {
		return fmt.Errorf("Worker.Upper: %w", err)
	}
	fmt.Fprintf(stdout, "Worker.Upper(%q) = %q\n", "hello", upper)
	return nil
}
