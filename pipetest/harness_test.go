package pipetest_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/anonpipe/anonpipe/anonpipe"
	"github.com/anonpipe/anonpipe/pipetest"
	"github.com/matryer/is"
)

func TestCommandEchoesThroughPipes(t *testing.T) {
	is := is.New(t)
	c := pipetest.Command(t, "echo", "a", "b c", "")
	in, ih, err := c.ToChild()
	is.NoErr(err) // attaching the child's input
	out, oh, err := c.FromChild()
	is.NoErr(err) // attaching the child's output
	c.Args = append(c.Args, ih, oh)
	is.NoErr(c.Start()) // starting the child

	go func() {
		io.WriteString(in, "hello\nworld\n")
		in.Close()
	}()
	got, err := io.ReadAll(out)
	is.NoErr(err) // reading the child's output to EOF
	args := fmt.Sprintf("%q\n", []string{"a", "b c", "", ih, oh})
	is.Equal(string(got), args+"hello\nworld\n") // the child got Command's args, then the appended handles, and no test flags; then the echo
	is.NoErr(c.Wait())                           // the child exits cleanly
}

func TestCommandExitCodePropagates(t *testing.T) {
	is := is.New(t)
	is.NoErr(pipetest.Command(t, "exit", "0").Run()) // a child returning 0 succeeds

	err := pipetest.Command(t, "exit", "3").Run()
	var ee *exec.ExitError
	is.True(errors.As(err, &ee)) // a child returning 3 fails with an *exec.ExitError
	is.Equal(ee.ExitCode(), 3)   // that carries the child's code
}

func TestMainRefusesUnknownChild(t *testing.T) {
	is := is.New(t)
	exe, err := os.Executable()
	is.NoErr(err) // finding the test binary
	cmd := exec.Command(exe, "-test.v")
	cmd.Env = append(environWithout(pipetest.ChildEnv), pipetest.ChildEnv+"=bogus")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()

	var ee *exec.ExitError
	is.True(errors.As(err, &ee)) // the binary fails
	is.Equal(ee.ExitCode(), 2)   // with exit status 2
	is.Equal(stderr.String(), `pipetest: unknown child "bogus" (from PIPETEST_CHILD); `+
		`known children: "echo", "env", "exit", "hang", "nested", "relay", "stderr"`+"\n") // naming the child and the known ones
	is.Equal(stdout.String(), "") // and runs no test
}

func TestCommandEnvironment(t *testing.T) {
	is := is.New(t)
	t.Setenv("PIPETEST_HARNESS_PROBE", "kept")
	t.Setenv("GORACE", "halt_on_error=1")
	out, err := pipetest.Command(t, "env", "PIPETEST_HARNESS_PROBE", "GORACE", pipetest.ChildEnv).Output()
	is.NoErr(err)                                                // running the child
	is.Equal(lines(out), []string{"PIPETEST_HARNESS_PROBE=kept", // the environment is kept
		"GORACE=halt_on_error=1 atexit_sleep_ms=0", // GORACE gets atexit_sleep_ms=0 added
		pipetest.ChildEnv + "=env"})                // and ChildEnv names the child (TestCommandInChild shows it replaces a value set before)

	t.Setenv("GORACE", "atexit_sleep_ms=5")
	out, err = pipetest.Command(t, "env", "GORACE").Output()
	is.NoErr(err)                                              // running the child
	is.Equal(lines(out), []string{"GORACE=atexit_sleep_ms=5"}) // an atexit_sleep_ms already set is kept
}

func TestCommandEnvironmentEntryWithoutEquals(t *testing.T) {
	if inSubrun(t) {
		is := is.New(t)
		is.True(slices.Contains(os.Environ(), "GORACE")) // this process's environment holds "GORACE"
		c := pipetest.Command(t, "env", "GORACE")
		is.True(slices.Contains(c.Environ(), "GORACE")) // which Command passes on, as exec.Cmd would
		out, err := c.Output()
		is.NoErr(err)                                              // running the child
		is.Equal(lines(out), []string{"GORACE=atexit_sleep_ms=0"}) // which sees the GORACE the sub-run set, with atexit_sleep_ms=0
		return
	}
	is := is.New(t)
	res := subrunWithEnv(t, []string{"GORACE"})
	is.Equal(res.code, 0)                                          // a test run whose environment holds "GORACE", without '=', can start children
	is.True(strings.Contains(res.out, "--- PASS: "+t.Name()+" (")) // the test that did passes
}

func TestCommandAfterChdir(t *testing.T) {
	is := is.New(t)
	wd, err := os.Getwd()
	is.NoErr(err)                   // getting the working directory
	is.NoErr(os.Chdir(t.TempDir())) // moving away from the package directory
	t.Cleanup(func() { os.Chdir(wd) })

	c := pipetest.Command(t, "exit", "0")
	is.True(filepath.IsAbs(c.Path)) // the test binary is named by an absolute path
	is.NoErr(c.Run())               // so it runs from anywhere
}

func TestCommandStderrCanBeReplaced(t *testing.T) {
	is := is.New(t)
	c := pipetest.Command(t, "stderr", "one", "two")
	var b bytes.Buffer
	c.Stderr = &b
	is.NoErr(c.Run())                // running the child
	is.Equal(b.String(), "one\ntwo") // the test's own Stderr gets everything

	c = pipetest.Command(t, "stderr", "three")
	c.Stderr = nil
	out, err := c.CombinedOutput()
	is.NoErr(err)                  // CombinedOutput works once Stderr is nil
	is.Equal(string(out), "three") // and collects the child's stderr
}

func TestCommandInChild(t *testing.T) {
	is := is.New(t)
	out, err := pipetest.Command(t, "nested").Output()
	is.NoErr(err)                                                // the child runs a grandchild with pipetest.Command
	is.Equal(lines(out), []string{pipetest.ChildEnv + "=nested", // the child is "nested"
		"grandchild: " + pipetest.ChildEnv + "=env"}) // and the grandchild is "env"
}

func TestCommandLogsChildStderr(t *testing.T) {
	if inSubrun(t) {
		is := is.New(t)
		is.NoErr(pipetest.Command(t, "stderr", "first line", "second line", "no newline").Run()) // running the child
		t.Log("after Run")
		return
	}
	is := is.New(t)
	res := subrun(t)
	is.Equal(res.code, 0) // the sub-run passes
	first := strings.Index(res.out, `: child "stderr": first line`+"\n")
	second := strings.Index(res.out, `: child "stderr": second line`+"\n")
	after := strings.Index(res.out, "after Run\n")
	last := strings.Index(res.out, `: child "stderr": no newline`+"\n")
	is.True(first >= 0)     // the child's stderr is in the test log, a line at a time
	is.True(second > first) // in order
	is.True(after > second) // before Run returns
	is.True(last > after)   // and a last line without a newline comes when the test ends
}

func TestCommandLogWriterOutlivesTest(t *testing.T) {
	if inSubrun(t) {
		var stderr io.Writer
		t.Run("inner", func(t *testing.T) {
			c := pipetest.Command(t, "exit", "0")
			stderr = c.Stderr
			is.New(t).NoErr(c.Run()) // running the child
		})
		_, err := io.WriteString(stderr, "late line\n")
		is.New(t).NoErr(err) // writing after the subtest ended
		return
	}
	is := is.New(t)
	res := subrun(t)
	is.Equal(res.code, 0) // writing to the log writer after its test ended neither panics nor fails
	is.True(strings.Contains(res.out,
		"pipetest: after "+t.Name()+`/inner ended: child "exit": late line`+"\n")) // the line goes to stderr instead
}

func TestCommandFailsTestThatForgetsWait(t *testing.T) {
	if inSubrun(t) {
		startHanging(t)
		return
	}
	is := is.New(t)
	res := subrun(t)
	pid := hangingPid(t, res.out)
	is.Equal(res.code, 1)                                          // the sub-run fails
	is.True(strings.Contains(res.out, "--- FAIL: "+t.Name()+" (")) // because of the test that forgot Wait
	is.True(strings.Contains(res.out,
		fmt.Sprintf(`pipetest: child "hang" (pid %d) was started but never waited for`, pid))) // with a message naming the child
	is.True(processGone(pid)) // and the child was killed and reaped
}

func TestCommandKillsChildOfFailedTest(t *testing.T) {
	if inSubrun(t) {
		startHanging(t)
		t.Fatal("failing on purpose")
		return
	}
	is := is.New(t)
	res := subrun(t)
	pid := hangingPid(t, res.out)
	is.Equal(res.code, 1)                                      // the sub-run fails
	is.True(strings.Contains(res.out, "failing on purpose\n")) // as its test asked
	is.True(strings.Contains(res.out,
		fmt.Sprintf(`pipetest: child "hang" (pid %d) was not waited for when the test ended; killed it if still running (Wait: `, pid))) // the harness says what it did
	is.True(!strings.Contains(res.out, "never waited for")) // without blaming the test for what t.Fatal skipped
	is.True(processGone(pid))                               // and the child was killed and reaped
}

func TestCommandBoundsChildByDeadline(t *testing.T) {
	if inSubrun(t) {
		c := startHanging(t)
		t.Logf("Wait: %v", c.Wait())
		return
	}
	is := is.New(t)
	res := subrun(t, "-test.timeout=2s")
	pid := hangingPid(t, res.out)
	is.Equal(res.code, 1)                                                                                         // the sub-run fails, rather than panicking (status 2)
	is.True(!strings.Contains(res.out, "panic: test timed out"))                                                  // the binary did not reach its deadline
	is.True(strings.Contains(res.out, fmt.Sprintf(`pipetest: killed child "hang" (pid %d): still running`, pid))) // the harness killed the child first, and says so
	is.True(strings.Contains(res.out, "--- FAIL: "+t.Name()+" ("))                                                // failing the test
	is.True(processGone(pid))                                                                                     // and the child is gone
}

func TestCommandDeadlineNamesUnclosedPipe(t *testing.T) {
	if inSubrun(t) {
		// Get a line through a relay child, then wait for it without closing
		// the pipe to it, from which it waits for EOF.
		is := is.New(t)
		c := pipetest.Command(t, "relay")
		in, ih, err := c.ToChild()
		is.NoErr(err) // attaching the child's input
		out, oh, err := c.FromChild()
		is.NoErr(err) // attaching the child's output
		c.Args = append(c.Args, ih, oh)
		is.NoErr(c.Start()) // starting the child
		_, err = io.WriteString(in, "ping\n")
		is.NoErr(err) // writing to the child
		line, err := firstLine(out)
		is.NoErr(err)          // reading its relay
		is.Equal(line, "ping") // the child runs
		t.Logf("relay child pid %d, handles %q", c.Process.Pid, []string{ih, oh})
		t.Logf("Wait: %v", c.Wait())
		return
	}
	is := is.New(t)
	res := subrun(t, "-test.timeout=2s")
	m := regexp.MustCompile(`relay child pid (\d+), handles (\[.*\])\n`).FindStringSubmatch(res.out)
	is.True(m != nil)                                                                                  // the sub-run started the child
	is.Equal(res.code, 1)                                                                              // the sub-run fails, rather than panicking (status 2)
	is.True(strings.Contains(res.out, "--- FAIL: "+t.Name()+" ("))                                     // failing the test
	is.True(strings.Contains(res.out, `pipetest: killed child "relay" (pid `+m[1]+"): still running")) // the harness killed the child before the deadline, naming it
	is.True(strings.Contains(res.out, "Likely causes: the child waits for EOF on a pipe whose write end "+
		"the test never closed (close the Writer from ToChild")) // and names the likely cause first
	is.True(strings.Contains(res.out, "or the test waits for the child, reading its pipe or in Wait, "+
		"while the child waits for the test")) // then the test and the child waiting for each other
	is.True(strings.Contains(res.out, "Arguments the test appended (such as its pipes' handles): "+m[2]+"\n")) // and the handles the child got
}

func TestCommandWithoutMain(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a test binary with go test -c")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command:", err)
	}
	is := is.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	bin := filepath.Join(t.TempDir(), "nomain.test")
	out, err := exec.CommandContext(ctx, goTool, "test", "-c", "-o", bin, "./testdata/nomain").CombinedOutput()
	if err != nil {
		t.Logf("go test -c ./testdata/nomain:\n%s", out)
	}
	is.NoErr(err) // building a test binary whose TestMain does not call pipetest.Main (the log holds its output)
	cmd := exec.CommandContext(ctx, bin, "-test.v", "-test.timeout=1m")
	cmd.Env = environWithout(pipetest.ChildEnv)
	out, err = cmd.CombinedOutput()
	t.Logf("the test binary without pipetest.Main:\n%s", out)
	var ee *exec.ExitError
	is.True(errors.As(err, &ee))                                      // it fails
	is.Equal(ee.ExitCode(), 1)                                        // as a test run whose test failed
	is.True(bytes.Contains(out, []byte("--- FAIL: TestUsesCommand"))) // the test that ran a child
	is.True(bytes.Contains(out, []byte("err: exit status 2")))        // which exited with status 2
	is.True(bytes.Contains(out, []byte(`child "echo": pipetest: TestUsesCommand calls Command in a process whose `+
		pipetest.ChildEnv+"=echo: this test binary runs its tests where it should run child \"echo\", "+
		"because its TestMain does not call pipetest.Main"))) // saying why, in the parent's log
	is.Equal(bytes.Count(out, []byte("calls Command in a process")), 1) // once: the child started no grandchild
}

func TestCommandInTestRunWithChildEnv(t *testing.T) {
	if inSubrun(t) {
		t.Setenv(pipetest.ChildEnv, "echo")
		pipetest.Command(t, "echo")
		t.Error("Command returned")
		return
	}
	is := is.New(t)
	res := subrun(t)
	is.Equal(res.code, 2) // a test run in which Command finds ChildEnv set exits with status 2
	is.True(strings.Contains(res.out, "pipetest: "+t.Name()+" calls Command in a process whose "+
		pipetest.ChildEnv+"=echo")) // saying why
	is.True(!strings.Contains(res.out, "--- ")) // at once, ending no test
}

func TestCommandChildCoverage(t *testing.T) {
	if inSubrun(t) {
		TestCommandEchoesThroughPipes(t)
		return
	}
	if testing.Short() {
		t.Skip("runs go test -cover")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command:", err)
	}
	is := is.New(t)
	profile := filepath.Join(t.TempDir(), "cover.out")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, goTool, "test", "-count=1", "-v",
		"-coverpkg=github.com/anonpipe/anonpipe/pipetest,github.com/anonpipe/anonpipe/anonpipe",
		"-coverprofile="+profile, "-run=^"+t.Name()+"$", ".")
	cmd.Env = append(environWithout(pipetest.ChildEnv), subrunEnv+"="+t.Name())
	out, err := cmd.CombinedOutput()
	t.Logf("go test -cover:\n%s", out)
	is.NoErr(err)                                                    // go test -cover passes
	is.True(bytes.Contains(out, []byte("--- PASS: "+t.Name()+" ("))) // having run the test that starts children

	blocks := readProfile(t, profile)
	harness := "github.com/anonpipe/anonpipe/pipetest/harness.go"
	is.True(covered(blocks, harness, lineOf(t, "harness.go", "os.Exit(run(os.Args[1:]))")))    // Main's child branch, run only in children, counts
	is.True(!covered(blocks, harness, lineOf(t, "harness.go", `"pipetest: unknown child %q`))) // the unknown-child branch, run in no process here, does not
	is.True(covered(blocks, "github.com/anonpipe/anonpipe/anonpipe/open.go",
		lineOf(t, "../anonpipe/open.go", "func OpenReader("))) // nor only pipetest's code: OpenReader, called only in the child, counts
}

// subrunEnv names, in a run of the test binary by subrun, the test that
// plays its fixture there.
const subrunEnv = "PIPETEST_HARNESS_SUBRUN"

// inSubrun reports whether this process is the run of the test binary that
// subrun started for t, in which t plays the fixture its parent checks.
func inSubrun(t *testing.T) bool {
	return os.Getenv(subrunEnv) == t.Name()
}

type subrunResult struct {
	out  string // stdout and stderr
	code int    // exit code
}

// subrun runs this test binary again as an ordinary test run (not a
// child), with -test.v and flags, running t alone, in which inSubrun(t)
// reports true.
func subrun(t *testing.T, flags ...string) subrunResult {
	t.Helper()
	return subrunWithEnv(t, nil, flags...)
}

// subrunWithEnv is subrun with env added to the sub-run's environment.
func subrunWithEnv(t *testing.T, env []string, flags ...string) subrunResult {
	t.Helper()
	test := t.Name()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	args := []string{"-test.run=^" + test + "$", "-test.v", "-test.timeout=1m"}
	if f := flag.Lookup("test.gocoverdir"); f != nil && f.Value.String() != "" {
		// Under go test -cover: what the sub-run covers counts too.
		args = append(args, "-test.gocoverdir="+f.Value.String())
	}
	args = append(args, flags...)
	cmd := exec.CommandContext(ctx, exe, args...)
	cmd.Env = append(environWithout(pipetest.ChildEnv), subrunEnv+"="+test)
	cmd.Env = append(append(cmd.Env, env...), "GORACE=atexit_sleep_ms=0")
	out, err := cmd.CombinedOutput()
	t.Logf("sub-run %s:\n%s", test, out)
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		return subrunResult{string(out), ee.ExitCode()}
	case err != nil:
		t.Fatalf("sub-run %s: %v", test, err)
	}
	return subrunResult{string(out), 0}
}

// startHanging starts a "hang" child and logs its pid once it runs.
func startHanging(t *testing.T) *anonpipe.Cmd {
	t.Helper()
	is := is.New(t)
	is.Helper()
	c := pipetest.Command(t, "hang")
	r, h, err := c.FromChild()
	is.NoErr(err) // attaching a pipe
	c.Args = append(c.Args, h)
	is.NoErr(c.Start()) // starting the child
	pid, err := firstLine(r)
	is.NoErr(err) // the child reports its pid
	t.Logf("hanging child pid %s", pid)
	return c
}

var pidLine = regexp.MustCompile(`hanging child pid (\d+)\n`)

// hangingPid returns the pid that startHanging logged in out.
func hangingPid(t *testing.T, out string) int {
	t.Helper()
	m := pidLine.FindStringSubmatch(out)
	if m == nil {
		t.Fatal("the sub-run logged no hanging child's pid")
	}
	pid, err := strconv.Atoi(m[1])
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

// environWithout returns this process's environment without the named
// variables.
func environWithout(names ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		keep := true
		for _, n := range names {
			keep = keep && !strings.HasPrefix(kv, n+"=")
		}
		if keep {
			env = append(env, kv)
		}
	}
	return env
}

// lines splits b into lines, dropping the last empty one.
func lines(b []byte) []string {
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

// lineOf returns the number of the first line of file that contains s.
func lineOf(t *testing.T, file, s string) int {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range lines(b) {
		if strings.Contains(l, s) {
			return i + 1
		}
	}
	t.Fatalf("no line of %s contains %q", file, s)
	return 0
}

type coverBlock struct {
	file       string
	start, end int // lines
	count      int
}

// readProfile parses a coverage profile: "file:l.c,l.c stmts count" lines
// after a "mode:" line.
func readProfile(t *testing.T, name string) []coverBlock {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var blocks []coverBlock
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var b coverBlock
		var c1, c2, stmts int
		i := strings.LastIndex(sc.Text(), ":")
		if strings.HasPrefix(sc.Text(), "mode:") || i < 0 {
			continue
		}
		b.file = sc.Text()[:i]
		if _, err := fmt.Sscanf(sc.Text()[i+1:], "%d.%d,%d.%d %d %d", &b.start, &c1, &b.end, &c2, &stmts, &b.count); err != nil {
			t.Fatalf("profile line %q: %v", sc.Text(), err)
		}
		blocks = append(blocks, b)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return blocks
}

// covered reports whether a block of file that spans line ran, in any
// process. It panics if no block spans line.
func covered(blocks []coverBlock, file string, line int) bool {
	found, ran := false, false
	for _, b := range blocks {
		if b.file == file && b.start <= line && line <= b.end {
			found = true
			ran = ran || b.count > 0
		}
	}
	if !found {
		panic(fmt.Sprintf("no coverage block of %s spans line %d", file, line))
	}
	return ran
}
