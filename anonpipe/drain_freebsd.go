package anonpipe

import (
	"os"

	"golang.org/x/sys/unix"
)

// drainFIONWRITE is FIONWRITE, _IOR('f', 119, int), from FreeBSD's
// <sys/filio.h>.
const drainFIONWRITE = 0x40046677

func pipePlan(*unix.Stat_t) drainPlan {
	// filt_pipewrite reports free space, but the buffer it is free in grows
	// with large writes (and shrinks under memory pressure), and nothing
	// tells the write end its size: an empty 16 KiB buffer looks like a
	// 64 KiB one holding 48 KiB.
	return drainPlan{why: "a freebsd pipe's write end cannot see how much of the buffer is unread", probe: true}
}

func socketPlan(local bool) drainPlan {
	if local {
		// The sender's buffer stays empty (FIONWRITE is always 0):
		// uipc_send queues at the peer, and FreeBSD (SB_STOP) gives the
		// sender no count of it.
		return drainPlan{why: "a freebsd Unix-domain socket does not tell its sender what the peer has not read", probe: true}
	}
	return drainPlan{how: drainSocketQueue}
}

// queuedBytes returns how many bytes written to socket fd are unsent or
// unacknowledged.
func queuedBytes(fd int) (int, error) {
	n, err := unix.IoctlGetInt(fd, drainFIONWRITE)
	if err != nil {
		return 0, os.NewSyscallError("ioctl", err)
	}
	return n, nil
}
