//go:build unix

package anonpipe_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/anonpipe/anonpipe/anonpipe"
	"github.com/matryer/is"
)

func TestReliabilityInteropGoParentBashChild(t *testing.T) {
	is := is.New(t)
	bash := needTool(t, "bash")
	c := anonpipe.Command(bash, "-c", `
n=0
while IFS= read -r line <&"$1"; do
	printf 'sh:%s\n' "$line" >&"$2"
	n=$((n+1))
done
echo "bash child: $n lines" >&2
`, "bash")
	t.Cleanup(func() { c.Close() })
	w, wh, err := c.ToChild()
	is.NoErr(err) // a pipe to the shell
	r, rh, err := c.FromChild()
	is.NoErr(err) // a pipe from it
	c.Args = append(c.Args, wh, rh)
	echoThroughPeer(t, c, w, r, "sh:", 200)
}

// pythonParent starts the Go child (this test binary, in the rel-interop
// role its environment names) with two pipes passed by pass_fds, sends it
// argv[2] lines and checks every answer.
const pythonParent = `
import os, subprocess, sys
binary, n = sys.argv[1], int(sys.argv[2])
to_r, to_w = os.pipe()
from_r, from_w = os.pipe()
p = subprocess.Popen([binary, str(to_r), str(from_w)], pass_fds=(to_r, from_w))
os.close(to_r)
os.close(from_w)
w = os.fdopen(to_w, "w")
r = os.fdopen(from_r, "r")
for i in range(n):
    line = "line %d %s" % (i, "x" * (i % 97))
    w.write(line + "\n")
    w.flush()
    got = r.readline()
    if got != "go:" + line + "\n":
        sys.exit("python parent: line %d came back as %r" % (i, got))
w.close()
rest = r.read()
if rest:
    sys.exit("python parent: unexpected %r after the last answer" % rest)
rc = p.wait()
print("python parent: %d lines answered, child exit status %d" % (n, rc))
sys.exit(rc)
`

func TestReliabilityInteropPythonParentGoChild(t *testing.T) {
	is := is.New(t)
	py := needTool(t, "python3")
	c := exec.Command(py, "-c", pythonParent, os.Args[0], "500")
	c.Env = childEnviron(t, "rel-interop") // for the Go child, which inherits it
	out, err := c.CombinedOutput()
	is.NoErr(err)                                                                                    // the Python parent and the Go child both succeed
	is.True(strings.Contains(string(out), "python parent: 500 lines answered, child exit status 0")) // Python saw every answer
	is.True(strings.Contains(string(out), "go child: answered and drained 500 lines"))               // the Go child opened pass_fds descriptors, answered and drained
	t.Logf("python3 parent with pass_fds, Go child with OpenReader/OpenWriter and Drain: %q", out)
}

// nodeParent starts the Go child, as pythonParent does, with extra 'pipe'
// entries in its stdio array, which Node.js makes as socketpairs: one at
// descriptor 3 for both directions (argv[3] == "one", the child answers on a
// duplicate of it), or 3 and 4 (argv[3] == "two").
const nodeParent = `
const { spawn } = require("child_process");
const [binary, n, mode] = [process.argv[1], Number(process.argv[2]), process.argv[3]];
const stdio = ["ignore", "inherit", "inherit", "pipe"];
if (mode === "two") stdio.push("pipe");
const child = spawn(binary, mode === "two" ? ["3", "4"] : ["3", "dup"], { stdio });
const out = child.stdio[3], back = child.stdio[mode === "two" ? 4 : 3];
const line = (i) => "line " + i + " " + "x".repeat(i % 97);
let i = 0, buf = "";
back.setEncoding("utf8");
back.on("data", (d) => {
  buf += d;
  let nl;
  while ((nl = buf.indexOf("\n")) >= 0) {
    const got = buf.slice(0, nl);
    buf = buf.slice(nl + 1);
    if (got !== "go:" + line(i)) {
      console.error("node parent: line " + i + " came back as " + JSON.stringify(got));
      process.exit(1);
    }
    if (++i < n) out.write(line(i) + "\n");
    else out.end();
  }
});
back.on("end", () => { if (buf !== "") { console.error("node parent: trailing " + buf); process.exit(1); } });
child.on("exit", (code) => {
  console.log("node parent: " + i + " lines answered, child exit status " + code);
  process.exit(code === 0 && i === n ? 0 : 1);
});
out.write(line(0) + "\n");
`

func TestReliabilityInteropNodeParentGoChild(t *testing.T) {
	node := needTool(t, "node")
	for _, mode := range []string{"one", "two"} {
		t.Run(mode+" socket", func(t *testing.T) {
			is := is.New(t)
			c := exec.Command(node, "-e", nodeParent, os.Args[0], "300", mode)
			c.Env = childEnviron(t, "rel-interop") // for the Go child, which inherits it
			out, err := c.CombinedOutput()
			is.NoErr(err)                                                                                  // the Node.js parent and the Go child both succeed
			is.True(strings.Contains(string(out), "node parent: 300 lines answered, child exit status 0")) // Node.js saw every answer
			is.True(strings.Contains(string(out), "go child: answered and drained 300 lines"))             // Drain works on a stream socket (SIOCOUTQ)
			t.Logf("node parent, extra 'pipe' stdio (%s socket), Go child: %q", mode, out)
		})
	}
}
