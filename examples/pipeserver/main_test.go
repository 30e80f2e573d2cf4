package main

import (
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"

	"github.com/anonpipe/anonpipe/examples/internal/exampletest"
	"github.com/anonpipe/anonpipe/pipetest"
	"github.com/matryer/is"
)

func TestMain(m *testing.M) {
	os.Exit(exampletest.Main(m, map[string]func([]string) int{
		// A client that exits at once without reading its pipe: a portable
		// stand-in for true(1).
		"exit": func([]string) int { return 0 },
	}, ".", "../pipeclient"))
}

// serverCommand returns pipeserver with args and stdin.
func serverCommand(t *testing.T, stdin string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exampletest.Command(t, exampletest.Bin("pipeserver"), args...)
	cmd.Stdin = strings.NewReader(stdin)
	return cmd
}

// server runs pipeserver with args and stdin.
func server(t *testing.T, stdin string, args ...string) exampletest.Result {
	t.Helper()
	return exampletest.Run(t, serverCommand(t, stdin, args...))
}

// checkEchoed checks a successful run of the Go client for the input lines.
func checkEchoed(t *testing.T, res exampletest.Result, lines ...string) {
	t.Helper()
	is := is.NewRelaxed(t)
	is.Helper()
	is.True(res.State.Success()) // pipeserver's exit status
	is.Equal(res.Stderr, "")     // nothing on stderr
	out := res.Stdout
	synced := strings.Index(out, "[CLIENT] Wait for sync...\n")
	prompt := strings.Index(out, "[SERVER] Enter text: ")
	is.True(synced >= 0)     // the client waits for sync
	is.True(synced < prompt) // the prompt comes once the client has read SYNC
	last := prompt
	for _, line := range lines {
		echo := strings.Index(out, "[CLIENT] Echo: "+line+"\n")
		is.True(echo > last) // lines are echoed in order, after the prompt
		last = echo
	}
	quit := strings.Index(out, "[SERVER] Client quit. Server terminating.\n")
	is.True(quit > last)                  // the server quits after the client's last echo
	is.True(strings.HasSuffix(out, "\n")) // output ends with a whole line
}

func TestBundledClient(t *testing.T) {
	res := server(t, "hello\nworld\n")
	checkEchoed(t, res, "hello", "world")
}

func TestGoClient(t *testing.T) {
	res := server(t, "hello\nworld\n", exampletest.Bin("pipeclient"))
	checkEchoed(t, res, "hello", "world")
}

func TestLastLineWithoutNewline(t *testing.T) {
	res := server(t, "hello\r\nworld", exampletest.Bin("pipeclient"))
	checkEchoed(t, res, "hello", "world")
}

func TestEmptyInput(t *testing.T) {
	res := server(t, "")
	checkEchoed(t, res)
}

func TestBashClient(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("bash cannot read a Windows pipe handle by number")
	}
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("bash not found:", err)
	}
	is := is.New(t)
	script := `fd=$1; while IFS= read -r line <&"$fd"; do echo "[BASH] $line"; done`
	res := server(t, "hello\nworld\n", bash, "-c", script, "bash")
	is.True(res.State.Success()) // pipeserver's exit status
	is.Equal(res.Stderr, "")     // nothing on stderr
	hello := strings.Index(res.Stdout, "[BASH] hello\n")
	world := strings.Index(res.Stdout, "[BASH] world\n")
	quit := strings.Index(res.Stdout, "[SERVER] Client quit. Server terminating.\n")
	is.True(strings.Contains(res.Stdout, "[BASH] SYNC\n")) // bash sees SYNC
	is.True(hello >= 0)                                    // bash echoes hello
	is.True(world > hello)                                 // then world
	is.True(quit > world)                                  // then the server quits
}

// checkFailed checks that pipeserver reported an error and exited
// unsuccessfully, but normally.
func checkFailed(t *testing.T, res exampletest.Result) {
	t.Helper()
	is := is.NewRelaxed(t)
	is.Helper()
	is.True(strings.Contains(res.Stderr, "[SERVER] Error: ")) // the error is reported
	is.True(res.State.Exited())                               // pipeserver exits, not killed by a signal
	is.True(res.State.ExitCode() != 0)                        // pipeserver's exit status
}

// input is more than any pipe buffers, so that writing it to a client that
// does not read must fail.
var input = strings.Repeat(strings.Repeat("x", 63)+"\n", 1<<14)

func TestClientExitsAtOnce(t *testing.T) {
	is := is.New(t)
	exe, err := os.Executable()
	is.NoErr(err) // finding the test binary
	cmd := serverCommand(t, input, exe)
	cmd.Env = append(cmd.Env, pipetest.ChildEnv+"=exit") // which pipeserver's client, this test binary, inherits
	res := exampletest.Run(t, cmd)
	checkFailed(t, res)
	is.True(strings.Contains(res.Stderr, "broken pipe") || runtime.GOOS == "windows")    // the reason is the broken pipe
	is.True(strings.Contains(res.Stdout, "[SERVER] Client quit. Server terminating.\n")) // the client is waited for
}

func TestClientExitsAfterOneLine(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("bash cannot read a Windows pipe handle by number")
	}
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("bash not found:", err)
	}
	is := is.New(t)
	// The client reads SYNC and then blocks, so the drain succeeds; it exits
	// after the first line, so a later write fails.
	script := `read -r line <&"$1" && read -r line <&"$1"`
	res := server(t, input, bash, "-c", script, "bash")
	checkFailed(t, res)
	is.True(strings.Contains(res.Stderr, "sending a line: "))                            // a write fails, not the drain
	is.True(strings.Contains(res.Stderr, "broken pipe"))                                 // the reason is the broken pipe
	is.True(strings.Contains(res.Stdout, "[SERVER] Client quit. Server terminating.\n")) // the client is waited for
}

func TestClientFails(t *testing.T) {
	is := is.New(t)
	// A second argument before the handle makes pipeclient fail at once.
	res := server(t, "hello\n", exampletest.Bin("pipeclient"), "extra")
	checkFailed(t, res)
	is.True(strings.Contains(res.Stderr, "usage: pipeclient HANDLE")) // the client's own error
	is.True(strings.Contains(res.Stderr, "exit status 2"))            // the client's failure is reported
}

func TestClientNotFound(t *testing.T) {
	is := is.New(t)
	res := server(t, "hello\n", "anonpipe-no-such-client")
	checkFailed(t, res)
	is.True(strings.Contains(res.Stderr, "anonpipe-no-such-client")) // the error names the client
	is.True(!strings.Contains(res.Stdout, "Client quit"))            // no client was started
}
