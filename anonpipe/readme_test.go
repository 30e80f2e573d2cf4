package anonpipe_test

import (
	"bytes"
	"fmt"
	"go/format"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/matryer/is"
)

// TestREADMECompiles builds every Go block of the README as written, in a
// module of its own that uses this repository, so that the README's code
// cannot drift from the API: each block is a whole file, gofmt'd.
func TestREADMECompiles(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to build the README's code with:", err)
	}
	is := is.New(t)
	root, err := filepath.Abs("..")
	is.NoErr(err) // finding the repository
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	is.NoErr(err) // reading the README
	blocks := regexp.MustCompile("(?s)```go\n(.*?)```").FindAllSubmatch(readme, -1)
	is.True(len(blocks) >= 3) // the quick start and both testing examples are there

	gomod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	is.NoErr(err) // reading go.mod, for the versions the README's code builds with
	gosum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	is.NoErr(err) // reading go.sum
	dir := t.TempDir()
	mod := strings.Replace(string(gomod), "module github.com/anonpipe/anonpipe", "module readme", 1)
	mod += fmt.Sprintf("\nrequire github.com/anonpipe/anonpipe v0.0.0\n\nreplace github.com/anonpipe/anonpipe => %s\n", root)
	is.NoErr(os.WriteFile(filepath.Join(dir, "go.mod"), []byte(mod), 0o644)) // writing the module
	is.NoErr(os.WriteFile(filepath.Join(dir, "go.sum"), gosum, 0o644))       // and its sums

	pkg := regexp.MustCompile(`(?m)^package (\w+)`)
	for i, b := range blocks {
		src := b[1]
		formatted, err := format.Source(src)
		is.NoErr(err)                            // every Go block parses as a file
		is.Equal(string(formatted), string(src)) // and is gofmt'd
		name := "main.go"
		if p := pkg.FindSubmatch(src); p != nil && strings.HasSuffix(string(p[1]), "_test") {
			name = "example_test.go"
		}
		sub := filepath.Join(dir, fmt.Sprintf("block%d", i+1))
		is.NoErr(os.Mkdir(sub, 0o755))                               // a package per block
		is.NoErr(os.WriteFile(filepath.Join(sub, name), src, 0o644)) // holding the block as written
	}
	cmd := exec.Command(goTool, "vet", "./...")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off", "GOWORK=off")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	if err != nil {
		t.Logf("go vet of the README's code:\n%s", out.String())
	}
	is.NoErr(err) // the README's code builds and vets
}
