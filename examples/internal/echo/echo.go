// Package echo is the client half of the pipeserver and pipeclient examples.
// It lives here so that pipeserver can run the same client by re-executing
// itself, without a second binary.
package echo

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/anonpipe/anonpipe/anonpipe"
)

// Main runs the client for the command-line arguments args, which exclude
// the program name and must be exactly one pipe handle. It prints a usage
// line and returns 2 for a wrong number of arguments, prints one error line
// to stderr and returns 1 on failure, and returns 0 otherwise.
func Main(args []string, stdout, stderr io.Writer) int {
	if len(args) != 1 {
		fmt.Fprintln(stderr, "usage: pipeclient HANDLE")
		return 2
	}
	r, err := anonpipe.OpenReader(args[0])
	if err == nil {
		err = Client(r, stdout)
		r.Close()
	}
	if err != nil {
		fmt.Fprintf(stderr, "[CLIENT] Error: %v\n", err)
		return 1
	}
	return 0
}

// Client is the .NET sample's client loop: it reads lines from r until one
// starts with SYNC, then writes each further line to stdout as
// "[CLIENT] Echo: <line>" until r ends.
func Client(r io.Reader, stdout io.Writer) error {
	fmt.Fprintln(stdout, "[CLIENT] Wait for sync...")
	br := bufio.NewReader(r)
	synced := false
	for {
		line, err := readLine(br)
		if err == io.EOF {
			if !synced {
				return errors.New("pipe closed before SYNC")
			}
			return nil
		}
		if err != nil {
			return err
		}
		if synced {
			fmt.Fprintf(stdout, "[CLIENT] Echo: %s\n", line)
		} else {
			synced = strings.HasPrefix(line, "SYNC")
		}
	}
}

// readLine returns the next line without its "\n" or "\r\n". Unlike
// bufio.Scanner it has no line length limit.
func readLine(br *bufio.Reader) (string, error) {
	line, err := br.ReadString('\n')
	if err == io.EOF && line != "" {
		err = nil
	}
	line = strings.TrimSuffix(line, "\n")
	return strings.TrimSuffix(line, "\r"), err
}
