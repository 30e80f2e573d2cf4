package pipetest_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/anonpipe/anonpipe/anonpipe"
	"github.com/anonpipe/anonpipe/pipetest"
)

// job is what a parent sends its worker, a child process reading its
// standard input.
type job struct {
	ID      int
	Payload string
}

// sendJob is the code under test in the examples: it writes one job to the
// worker as a line of JSON, and gives up after timeout, as it must, since a
// worker that stops reading would block it for ever.
func sendJob(w io.Writer, j job, timeout time.Duration) error {
	if d, ok := w.(interface{ SetWriteDeadline(time.Time) error }); ok {
		d.SetWriteDeadline(time.Now().Add(timeout))
		defer d.SetWriteDeadline(time.Time{})
	}
	line, err := json.Marshal(j)
	if err != nil {
		return err
	}
	line = append(line, '\n')
	n, err := w.Write(line)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, anonpipe.ErrBrokenPipe):
		return fmt.Errorf("job %d: the worker exited: %w", j.ID, err)
	case errors.Is(err, os.ErrDeadlineExceeded):
		return fmt.Errorf("job %d: the worker stopped reading: %w", j.ID, err)
	default:
		return fmt.Errorf("job %d: sent %d of %d bytes: %w", j.ID, n, len(line), err)
	}
}

// worker plays the child: it decodes jobs from r until EOF or an error.
func worker(r io.Reader, done chan<- []job) {
	var jobs []job
	dec := json.NewDecoder(r)
	for {
		var j job
		if err := dec.Decode(&j); err != nil {
			done <- jobs
			return
		}
		jobs = append(jobs, j)
	}
}

// A unit test of sendJob: the worker gets the job.
func ExamplePipe() {
	r, w := pipetest.Pipe()
	done := make(chan []job)
	go worker(r, done)

	err := sendJob(w, job{ID: 1, Payload: "hello"}, time.Second)
	fmt.Println("sendJob:", err)
	w.Close() // the worker sees EOF
	fmt.Println("the worker got:", <-done)
	// Output:
	// sendJob: <nil>
	// the worker got: [{1 hello}]
}

// A worker that hangs after reading 10 bytes: the pipe fills up, and
// sendJob's deadline saves it from blocking for ever.
func ExampleWithReadHang() {
	r, w := pipetest.Pipe(pipetest.WithReadHang(10))
	defer r.Close() // ends the hung worker's Read
	go io.Copy(io.Discard, r)

	big := job{ID: 2, Payload: strings.Repeat("x", 100<<10)} // more than the pipe holds
	fmt.Println(sendJob(w, big, 50*time.Millisecond))
	// Output:
	// job 2: the worker stopped reading: write pipetest: i/o timeout
}

// A worker that crashes after reading 5 bytes: sendJob, blocked on a full
// pipe, gets a broken pipe, and no SIGPIPE.
func ExampleWithReadClose() {
	r, w := pipetest.Pipe(pipetest.WithReadClose(5))
	go io.Copy(io.Discard, r)

	big := job{ID: 3, Payload: strings.Repeat("x", 100<<10)}
	err := sendJob(w, big, time.Second)
	fmt.Println(err)
	fmt.Println(errors.Is(err, anonpipe.ErrBrokenPipe))
	// Output:
	// job 3: the worker exited: write pipetest: broken pipe
	// true
}

// readReplyNaive reads the worker's one-line reply, trusting one Read to
// return it whole. A pipe promises no such thing.
func readReplyNaive(r io.Reader) string {
	buf := make([]byte, 256)
	n, _ := r.Read(buf)
	return strings.TrimSuffix(string(buf[:n]), "\n")
}

// readReply reads the worker's one-line reply, however the pipe splits it.
func readReply(r io.Reader) string {
	line, _ := bufio.NewReader(r).ReadString('\n')
	return strings.TrimSuffix(line, "\n")
}

// Reads of at most 4 bytes show the bug of readReplyNaive.
func ExampleWithReadLimit() {
	for _, read := range []func(io.Reader) string{readReplyNaive, readReply} {
		r, w := pipetest.Pipe(pipetest.WithReadLimit(4))
		go func() {
			io.WriteString(w, "status: ok\n") // the worker replies in one Write
			w.Close()
		}()
		fmt.Printf("%q\n", read(r))
	}
	// Output:
	// "stat"
	// "status: ok"
}

// Reads of random sizes, from many seeds, try the reply readers on many
// ways a pipe may split a reply.
func ExampleWithReadRandom() {
	failures := map[string]int{}
	for seed := range uint64(100) {
		for name, read := range map[string]func(io.Reader) string{"naive": readReplyNaive, "bufio": readReply} {
			r, w := pipetest.Pipe(pipetest.WithReadRandom(seed))
			go func() {
				io.WriteString(w, "status: ok\n")
				w.Close()
			}()
			if read(r) != "status: ok" {
				failures[name]++
			}
		}
	}
	fmt.Println("naive reader failed:", failures["naive"] > 0)
	fmt.Println("bufio reader failed:", failures["bufio"] > 0)
	// Output:
	// naive reader failed: true
	// bufio reader failed: false
}

// countLines counts the lines a worker writes, as the parent reads its
// output.
func countLines(r io.Reader) (int, error) {
	sc := bufio.NewScanner(r)
	n := 0
	for sc.Scan() {
		n++
	}
	return n, sc.Err()
}

// Reading the worker's output fails after 6 bytes: countLines reports the
// error with the lines it got, rather than taking a short output for a
// complete one.
func ExampleWithReadError() {
	r, w := pipetest.Pipe(pipetest.WithReadError(6, errors.New("read |0: input/output error")))
	go func() {
		io.WriteString(w, "a\nb\nc\nd\ne\n")
		w.Close()
	}()
	n, err := countLines(r)
	fmt.Println(n, err)
	// Output:
	// 3 read |0: input/output error
}

// A write that fails with EAGAIN after 10 bytes, as it does when another
// process has put a shared pipe in non-blocking mode: sendJob reports how
// much of the job went out.
func ExampleWithWriteError() {
	r, w := pipetest.Pipe(pipetest.WithWriteError(10, syscall.EAGAIN))
	go io.Copy(io.Discard, r)
	defer r.Close()

	fmt.Println(sendJob(w, job{ID: 4, Payload: "hello"}, time.Second))
	// Output:
	// job 4: sent 10 of 27 bytes: resource temporarily unavailable
}

// A worker that takes a second for each Read. A job that fits in the pipe
// goes out at once however slow the worker; a bigger one waits for the
// worker, and sendJob's deadline passes first.
func ExampleWithReadLatency() {
	r, w := pipetest.Pipe(pipetest.WithReadLatency(time.Second))
	defer r.Close()
	go io.Copy(io.Discard, r)

	fmt.Println(sendJob(w, job{ID: 5, Payload: "small"}, 100*time.Millisecond))
	big := job{ID: 6, Payload: strings.Repeat("x", 100<<10)}
	fmt.Println(sendJob(w, big, 100*time.Millisecond))
	// Output:
	// <nil>
	// job 6: the worker stopped reading: write pipetest: i/o timeout
}

// filterNaive runs input through a filter child, such as sort or cat: it
// writes to the child's input, then reads its output. It deadlocks once the
// child's output fills its pipe, as the child then stops reading; with
// 64 KiB pipes, only on large inputs.
func filterNaive(toChild io.WriteCloser, fromChild io.Reader, input []byte) ([]byte, error) {
	if _, err := toChild.Write(input); err != nil {
		return nil, err
	}
	toChild.Close()
	return io.ReadAll(fromChild)
}

// filter is filterNaive fixed: it writes while it reads.
func filter(toChild io.WriteCloser, fromChild io.Reader, input []byte) ([]byte, error) {
	errc := make(chan error, 1)
	go func() {
		_, err := toChild.Write(input)
		toChild.Close()
		errc <- err
	}()
	out, err := io.ReadAll(fromChild)
	if werr := <-errc; err == nil {
		err = werr
	}
	return out, err
}

// Pipes of one page, 4096 bytes, make filterNaive's deadlock show on 16 KiB
// of input, more than the two pipes and the child hold; a write deadline
// turns it into an error.
func ExampleWithCapacity() {
	for _, run := range []func(io.WriteCloser, io.Reader, []byte) ([]byte, error){filterNaive, filter} {
		inR, inW := pipetest.Pipe(pipetest.WithCapacity(4096))
		outR, outW := pipetest.Pipe(pipetest.WithCapacity(4096))
		go func() { // the child: cat
			io.Copy(outW, inR)
			outW.Close()
		}()
		inW.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
		out, err := run(inW, outR, bytes.Repeat([]byte("x"), 16<<10))
		fmt.Println(len(out), err)
		inR.Close() // ends the child
		outR.Close()
	}
	// Output:
	// 0 write pipetest: i/o timeout
	// 16384 <nil>
}
