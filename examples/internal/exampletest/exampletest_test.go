package exampletest

import (
	"os"
	"strings"
	"testing"

	"github.com/anonpipe/anonpipe/pipetest"
	"github.com/matryer/is"
)

func TestCommandIsNoChild(t *testing.T) {
	is := is.New(t)
	exe, err := os.Executable()
	is.NoErr(err) // finding a program to name
	cmd := Command(t, exe, "arg")
	is.Equal(cmd.Path, exe)                  // the command runs the program named
	is.Equal(cmd.Args, []string{exe, "arg"}) // with the arguments given
	for _, kv := range cmd.Env {
		is.True(!strings.HasPrefix(kv, pipetest.ChildEnv+"=")) // and plays no child of pipetest's
	}
}
