package main

import (
	"errors"
	"net/rpc"
	"net/rpc/jsonrpc"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/anonpipe/anonpipe/anonpipe"
	"github.com/anonpipe/anonpipe/examples/internal/exampletest"
	"github.com/anonpipe/anonpipe/pipetest"
	"github.com/matryer/is"
)

func TestMain(m *testing.M) {
	os.Exit(exampletest.Main(m, map[string]func([]string) int{
		// A worker that exits at once, without answering.
		"exit": func([]string) int { return 0 },
		// A worker whose every call fails.
		"refuse": refuse,
	}, "."))
}

// Refusing is the service of the worker that refuses every call.
type Refusing struct{}

// Add fails.
func (Refusing) Add([2]int, *int) error { return errors.New("no adding today") }

// refuse serves Refusing under the name Worker on the Conn named by its
// last argument.
func refuse(args []string) int {
	conn, err := anonpipe.OpenConn(args[len(args)-1])
	if err != nil {
		return 1
	}
	srv := rpc.NewServer()
	if err := srv.RegisterName("Worker", Refusing{}); err != nil {
		return 1
	}
	srv.ServeCodec(jsonrpc.NewServerCodec(conn))
	return 0
}

const wantOutput = "Worker.Add(2, 3) = 5\nWorker.Upper(\"hello\") = \"HELLO\"\n"

func TestGoWorker(t *testing.T) {
	is := is.New(t)
	res := exampletest.Run(t, exampletest.Command(t, exampletest.Bin("rpc")))
	is.True(res.State.Success())     // rpc's exit status
	is.Equal(res.Stderr, "")         // nothing on stderr
	is.Equal(res.Stdout, wantOutput) // both calls answered
}

func TestPythonWorker(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the Python worker opens descriptors with os.fdopen; a Windows handle would need msvcrt.open_osfhandle")
	}
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not found:", err)
	}
	is := is.New(t)
	script, err := filepath.Abs(filepath.Join("testdata", "worker.py"))
	is.NoErr(err) // finding the worker
	res := exampletest.Run(t, exampletest.Command(t, exampletest.Bin("rpc"), python, script))
	is.True(res.State.Success())     // rpc's exit status, which needs the worker's
	is.Equal(res.Stderr, "")         // nothing on stderr
	is.Equal(res.Stdout, wantOutput) // the Python worker answered both calls
}

// checkFailed checks that rpc reported an error containing what, and
// exited unsuccessfully, but normally.
func checkFailed(t *testing.T, res exampletest.Result, what string) {
	t.Helper()
	is := is.NewRelaxed(t)
	is.Helper()
	is.True(strings.HasPrefix(res.Stderr, "rpc: ")) // the error is reported
	is.True(strings.Contains(res.Stderr, what))     // with its reason
	is.True(res.State.Exited())                     // rpc exits, not killed by a signal
	is.True(res.State.ExitCode() == 1)              // with status 1
	is.True(!strings.Contains(res.Stdout, "= "))    // no result was printed
}

// worker returns rpc with this test binary, as the child named role, for
// its worker.
func worker(t *testing.T, role string) *exec.Cmd {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exampletest.Command(t, exampletest.Bin("rpc"), exe)
	cmd.Env = append(cmd.Env, pipetest.ChildEnv+"="+role) // which the worker, this test binary, inherits
	return cmd
}

func TestWorkerExitsWithoutAnswering(t *testing.T) {
	res := exampletest.Run(t, worker(t, "exit"))
	checkFailed(t, res, "Worker.Add: ") // the call fails rather than hang
}

func TestWorkerAnswersWithAnError(t *testing.T) {
	is := is.New(t)
	res := exampletest.Run(t, worker(t, "refuse"))
	checkFailed(t, res, "rpc: Worker.Add: no adding today\n") // the worker's error is reported
	is.Equal(strings.Count(res.Stderr, "\n"), 1)              // alone: the worker exited cleanly at EOF
}

func TestWorkerNotFound(t *testing.T) {
	is := is.New(t)
	res := exampletest.Run(t, exampletest.Command(t, exampletest.Bin("rpc"), "anonpipe-no-such-worker"))
	checkFailed(t, res, "anonpipe-no-such-worker") // the error names the worker
	is.Equal(strings.Count(res.Stderr, "\n"), 1)   // and says nothing else
}
