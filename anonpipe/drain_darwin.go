package anonpipe

import (
	"os"

	"golang.org/x/sys/unix"
)

// drainSO_NWRITE is SO_NWRITE from macOS's <sys/socket.h>.
const drainSO_NWRITE = 0x1024

func pipePlan(st *unix.Stat_t) drainPlan {
	// pipe(2) pipes leave st_dev zero (pipe_stat); a named pipe reports its
	// file system's device, and its buffer lives elsewhere (in fifofs
	// sockets).
	if st.Dev != 0 {
		return drainPlan{why: "cannot see how much of a named pipe is unread", probe: true}
	}
	// xnu's pipe_stat, given the write end (which owns no buffer), reports
	// the read end's byte count as st_size.
	return drainPlan{how: drainPipeSize}
}

func socketPlan(local bool) drainPlan {
	if local {
		// xnu's uipc_send lowers the sender's sb_hiwat by what it queues at
		// the peer, which sogetoptlock adds back (unp_cc) when asked for
		// SO_SNDBUF.
		return drainPlan{how: drainSocketSpace}
	}
	return drainPlan{how: drainSocketQueue}
}

// queuedBytes returns how many bytes written to socket fd are unsent or
// unacknowledged.
func queuedBytes(fd int) (int, error) {
	n, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, drainSO_NWRITE)
	if err != nil {
		return 0, os.NewSyscallError("getsockopt", err)
	}
	return n, nil
}
