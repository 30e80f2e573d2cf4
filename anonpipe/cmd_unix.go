//go:build unix

package anonpipe

import (
	"os"
	"strconv"
)

// attach lists the child's end in ExtraFiles. exec.Cmd dups it to
// descriptor 3+i in the child, after which the parent's copy can be closed.
func (c *Cmd) attach(end *os.File) (string, error) {
	c.ExtraFiles = append(c.ExtraFiles, end)
	return strconv.Itoa(2 + len(c.ExtraFiles)), nil
}

// startChild starts the child. The ends in ExtraFiles stay close-on-exec in
// this process; exec.Cmd dups them for the child alone.
func (c *Cmd) startChild() error {
	return c.Cmd.Start()
}
