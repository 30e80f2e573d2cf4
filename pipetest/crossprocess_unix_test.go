//go:build unix

package pipetest_test

import (
	"os"
	"strconv"

	"github.com/anonpipe/anonpipe/anonpipe"
)

// inherit hands f to cmd's child and returns its handle string there.
func inherit(cmd *anonpipe.Cmd, f *os.File) string {
	cmd.ExtraFiles = append(cmd.ExtraFiles, f)
	return strconv.Itoa(2 + len(cmd.ExtraFiles))
}
