package anonpipe

import (
	"errors"

	"golang.org/x/sys/unix"
)

func pipePlan(st *unix.Stat_t) drainPlan {
	// pipe(2) pipes leave st_dev zero; a named pipe reports its file
	// system's device, and its buffer lives elsewhere (in fifofs sockets).
	if st.Dev != 0 {
		return drainPlan{why: "cannot see how much of a named pipe is unread", probe: true}
	}
	// DragonFly's pipe_create sizes both directions' buffers from
	// kern.pipe.size and pipe_write never resizes them, so this end's own
	// buffer (pipe_stat's st_blksize) is as large as the one filt_pipewrite
	// reports free space in.
	return drainPlan{how: drainPipeSpace, size: int64(st.Blksize)}
}

func socketPlan(local bool) drainPlan {
	if local {
		// The sender's buffer stays empty (FIONWRITE is always 0):
		// uipc_send queues at the peer, and DragonFly (SSB_STOP) gives the
		// sender no count of it.
		return drainPlan{why: "a dragonfly Unix-domain socket does not tell its sender what the peer has not read", probe: true}
	}
	return drainPlan{why: "counting a dragonfly socket's unsent bytes is not implemented", probe: true}
}

// queuedBytes is never called: no DragonFly plan is drainPipeQueue or
// drainSocketQueue.
func queuedBytes(int) (int, error) {
	return 0, errors.ErrUnsupported
}
