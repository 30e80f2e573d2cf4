package anonpipe

import (
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

const oPath = unix.O_PATH

// reopen opens the anonymous pipe behind fd anew through /proc (the File's
// name is that path), which gives
// the end an open file description of its own: os.OpenFile makes it
// non-blocking and registers it with the poller, so deadlines and Close
// work, while the description fd shares with others keeps its mode. It is
// also what makes Fd (which os/exec calls on Stdin, Stdout and ExtraFiles)
// hand a grandchild a blocking descriptor, as for an os.Pipe end.
//
// It returns nil where that cannot be done: a named FIFO, whose open could
// wait for a partner; a socket; a pipe made by another user, whose inode
// this process may not open; or no /proc.
func reopen(fd int, write bool) *os.File {
	path := "/proc/self/fd/" + strconv.Itoa(fd)
	if target, err := os.Readlink(path); err != nil || !strings.HasPrefix(target, "pipe:[") {
		return nil
	}
	flag := os.O_RDONLY
	if write {
		flag = os.O_WRONLY
	}
	// Opening an anonymous pipe never waits for a partner, unlike a FIFO.
	var low []*os.File
	defer func() { closeFiles(low) }()
	for {
		f, err := os.OpenFile(path, flag, 0)
		if err != nil {
			return nil
		}
		if !onStdio(f) {
			return f
		}
		low = append(low, f)
	}
}
