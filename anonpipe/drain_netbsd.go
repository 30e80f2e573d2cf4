package anonpipe

import (
	"os"

	"golang.org/x/sys/unix"
)

// drainFIONWRITE is FIONWRITE, _IOR('f', 121, int), from NetBSD's
// <sys/filio.h>.
const drainFIONWRITE = 0x40046679

func pipePlan(st *unix.Stat_t) drainPlan {
	// pipe(2) pipes leave st_dev zero; a named pipe reports its file
	// system's device, and its buffer lives elsewhere (in fifofs sockets).
	if st.Dev != 0 {
		return drainPlan{why: "cannot see how much of a named pipe is unread", probe: true}
	}
	// NetBSD's pipe_ioctl answers FIONWRITE with the read end's byte count.
	return drainPlan{how: drainPipeQueue}
}

func socketPlan(local bool) drainPlan {
	if local {
		// The sender's buffer stays empty (FIONWRITE is always 0):
		// uipc_send queues at the peer, and NetBSD (sb_hiwat) gives the
		// sender no count of it.
		return drainPlan{why: "a netbsd Unix-domain socket does not tell its sender what the peer has not read", probe: true}
	}
	return drainPlan{how: drainSocketQueue}
}

// queuedBytes returns how many bytes written to fd are queued: in the read
// end of a pipe, or unsent or unacknowledged on a socket.
func queuedBytes(fd int) (int, error) {
	n, err := unix.IoctlGetInt(fd, drainFIONWRITE)
	if err != nil {
		return 0, os.NewSyscallError("ioctl", err)
	}
	return n, nil
}
