// Package nomain is a test binary whose TestMain does not call
// pipetest.Main (it has none), for harness_test.go's
// TestCommandWithoutMain.
package nomain_test

import (
	"testing"

	"github.com/anonpipe/anonpipe/pipetest"
	"github.com/matryer/is"
)

func TestUsesCommand(t *testing.T) {
	is.New(t).NoErr(pipetest.Command(t, "echo").Run()) // running the child
}
