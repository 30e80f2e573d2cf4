//go:build unix

package anonpipe

import (
	"fmt"
	"os"
	"strconv"
)

// attach lists the child's end in ExtraFiles. exec.Cmd dups it to
// descriptor 3+i in the child, after which the parent's copy can be closed.
func (c *Cmd) attach(end *os.File) (string, error) {
	c.ExtraFiles = append(c.ExtraFiles, end)
	return strconv.Itoa(2 + len(c.ExtraFiles)), nil
}

// checkAttached makes sure each child end is still the ExtraFiles entry
// whose descriptor number the child was told, so that the child gets no
// other file under that number.
func (c *Cmd) checkAttached() error {
	for _, e := range c.childEnds {
		i, _ := strconv.Atoi(e.handle) // attach made it 3+i
		i -= 3
		if i >= len(c.ExtraFiles) || c.ExtraFiles[i] != e.File {
			return fmt.Errorf("anonpipe: Start: ExtraFiles[%d] (handle %q) is no longer the pipe end %s made; "+
				"ExtraFiles entries must not be moved, replaced or removed after ToChild/FromChild", i, e.handle, e.by)
		}
	}
	return nil
}

// startChild starts the child. The ends in ExtraFiles stay close-on-exec in
// this process; exec.Cmd dups them for the child alone.
func (c *Cmd) startChild() error {
	return c.Cmd.Start()
}
