package anonpipe

import (
	"errors"

	"golang.org/x/sys/unix"
)

func pipePlan(*unix.Stat_t) drainPlan {
	// filt_pipewrite reports free space, but the buffer it is free in grows
	// with large writes, and nothing tells the write end its size: an empty
	// 16 KiB buffer looks like a 64 KiB one holding 48 KiB.
	return drainPlan{why: "a openbsd pipe's write end cannot see how much of the buffer is unread", probe: true}
}

func socketPlan(bool) drainPlan {
	// OpenBSD's uipc_send and uipc_rcvd copy the peer's receive count into
	// the sender's so_snd.sb_cc, as TCP keeps its own unacknowledged bytes
	// there, so free space reaches SO_SNDBUF only when nothing is left.
	return drainPlan{how: drainSocketSpace}
}

// queuedBytes is never called: no OpenBSD plan is drainPipeQueue or
// drainSocketQueue.
func queuedBytes(int) (int, error) {
	return 0, errors.ErrUnsupported
}
