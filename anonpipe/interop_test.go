package anonpipe_test

import (
	"bufio"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"testing"

	"github.com/anonpipe/anonpipe/anonpipe"
	"github.com/matryer/is"
)

// The interop tests run anonpipe against peers written in other languages,
// which know nothing of it but the handle string. Each skips, naming the
// tool, when the peer's runtime is missing.

// needTool returns the path of the named program, or skips the test.
func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s not found: %v", name, err)
	}
	return p
}

// echoThroughPeer sends lines to c's child through w, one at a time, and
// checks that each comes back on r with prefix in front.
func echoThroughPeer(t *testing.T, c *anonpipe.Cmd, w *anonpipe.Writer, r *anonpipe.Reader, prefix string, n int) {
	t.Helper()
	is := is.New(t)
	var stderr strings.Builder
	c.Stderr = &stderr
	is.NoErr(c.Start()) // starting the peer
	answers := bufio.NewReader(r)
	for _, l := range interopLines(n) {
		_, err := fmt.Fprintln(w, l)
		is.NoErr(err) // sending a line
		got, err := answers.ReadString('\n')
		is.NoErr(err)                // reading the answer
		is.Equal(got, prefix+l+"\n") // the peer answers each line
	}
	is.NoErr(w.Close()) // EOF for the peer
	rest, err := io.ReadAll(answers)
	is.NoErr(err)              // EOF from the peer
	is.Equal(string(rest), "") // nothing more
	err = c.Wait()
	is.NoErr(err) // the peer exits cleanly
	t.Logf("%d lines through the peer; its stderr: %q", n, stderr.String())
}

// pythonChild is a Python child: it answers every line read from the handle
// argv[1] with "py:" and the line on the handle argv[2]. On Windows the
// handles are HANDLE values, which msvcrt turns into descriptors.
const pythonChild = `
import os, sys
def fd(h, mode):
    if os.name == "nt":
        import msvcrt
        return msvcrt.open_osfhandle(int(h), mode)
    return int(h)
r = os.fdopen(fd(sys.argv[1], os.O_RDONLY), "rb")
w = os.fdopen(fd(sys.argv[2], 0), "wb")
n = 0
for line in r:
    w.write(b"py:" + line)
    w.flush()
    n += 1
w.close()
sys.stderr.write("python child: %d lines\n" % n)
`

func TestReliabilityInteropGoParentPythonChild(t *testing.T) {
	is := is.New(t)
	py := needTool(t, "python3")
	c := anonpipe.Command(py, "-c", pythonChild)
	t.Cleanup(func() { c.Close() })
	w, wh, err := c.ToChild()
	is.NoErr(err) // a pipe to the Python child
	r, rh, err := c.FromChild()
	is.NoErr(err) // a pipe from it
	c.Args = append(c.Args, wh, rh)
	echoThroughPeer(t, c, w, r, "py:", 500)
}
