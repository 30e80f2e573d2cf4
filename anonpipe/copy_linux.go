package anonpipe

import (
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// Reader.WriteTo and Writer.ReadFrom move bytes with splice(2) between our
// pipe end and the other side of the copy, the peer, when the peer is a
// regular file, /dev/null or /dev/zero, or a non-blocking pipe, FIFO or
// stream socket. A splice links the two descriptors directly, so no byte is
// held anywhere else: when splice cannot go on (EINVAL from a file system
// without splice support, say), io.Copy does the rest and nothing is lost
// or repeated.
//
// Each splice runs inside the RawConn callback of the side the copy would
// wait for, with the other side's descriptor borrowed through Control. So
// a concurrent Close cannot hand either number to another file meanwhile,
// the poller resets that side's readiness before the splice that finds it
// not ready, and no wake-up is lost. splice's EAGAIN does not say which side
// was not ready; a zero-timeout poll(2) of both does. The wait on our end
// obeys our deadline and Close, the wait on the peer the peer's, and the
// peer's deadline is checked before each step, as its Read or Write would
// check it.
//
// golang/go#75304 is the trap avoided here: the standard library's splice
// into a pipe retries EAGAIN without a poller able to wake it, and spins.

const (
	// spliceBudget is what one step moves before it gives the descriptors
	// back, so that a Close waits at most that long.
	spliceBudget = 16 << 20
	// spliceMaxRetries bounds the EAGAINs in a row after which poll finds
	// both sides ready (each can be a race with the other side); past it
	// splice cannot be trusted to progress, and io.Copy does the rest.
	spliceMaxRetries = 8
)

// What a step asks the copy to do next.
const (
	stepAgain    = iota // it moved its budget
	stepDone            // EOF, or the limit reached
	stepWaitOurs        // our end is not ready
	stepWaitPeer        // the peer is not ready
	stepFallback        // splice cannot go on: io.Copy does the rest
	stepFailed          // splice failed with errno
)

// spliceTo copies from the pipe to w. handled is false when splice was not
// usable, or stopped part way without error after n bytes.
func (r *Reader) spliceTo(w io.Writer) (n int64, handled bool, err error) {
	if w == io.Discard {
		// Splicing to /dev/null frees the pipe's pages without copying
		// them out of the kernel, as io.Discard's 8 KiB reads would.
		null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
		if err != nil {
			return 0, false, nil
		}
		defer null.Close()
		w = null
	}
	peer, ok := peerOf(w)
	if !ok {
		return 0, false, nil
	}
	c := splicer{ours: r.f, grow: r.grow, peer: peer, toPeer: true, remain: math.MaxInt64}
	return c.run()
}

// spliceFrom copies from src into the pipe, honouring an io.LimitedReader
// (io.CopyN) as os.File.ReadFrom does.
func (w *Writer) spliceFrom(src io.Reader) (n int64, handled bool, err error) {
	remain := int64(math.MaxInt64)
	lr, limited := src.(*io.LimitedReader)
	if limited {
		if lr.N <= 0 {
			return 0, true, nil
		}
		remain, src = lr.N, lr.R
	}
	peer, ok := peerOf(src)
	if !ok {
		return 0, false, nil
	}
	c := splicer{ours: w.f, grow: w.grow, peer: peer, remain: remain}
	n, handled, err = c.run()
	if limited {
		lr.N -= n
	}
	return n, handled, err
}

// peerEnd is the other side of a copy, whose errors are reported as its own
// Read or Write would report them.
type peerEnd struct {
	rc     syscall.RawConn
	name   string   // a file's, for errors as os.File's methods make them
	conn   net.Conn // a socket, for errors as net makes them
	writer bool     // a Writer, whose Write reports a broken pipe as ErrBrokenPipe
	grow   *growth  // a Reader's or Writer's
}

// peerOf accepts only types whose Read and Write are the descriptor's own,
// so that splicing skips nothing: a type of the caller's that embeds an
// *os.File or a net.Conn, to count or transform bytes say, gets every byte
// through its methods. It also accepts the wrappers that os.File's and
// net.TCPConn's ReadFrom and WriteTo hand io.Copy when they cannot copy in
// the kernel themselves (io.Copy(w, file) reaches Writer.ReadFrom that
// way), whose methods are all the file's or the conn's but the one they
// hide; should a Go release rename them, such copies only lose splice.
func peerOf(x any) (peerEnd, bool) {
	var p peerEnd
	switch v := x.(type) {
	case *Reader:
		x, p.grow = v.f, v.grow
	case *Writer:
		x, p.writer, p.grow = v.f, true, v.grow
	}
	switch x.(type) {
	case *os.File, *net.TCPConn, *net.UnixConn:
	default:
		switch fmt.Sprintf("%T", x) {
		case "os.fileWithoutReadFrom", "os.fileWithoutWriteTo",
			"net.tcpConnWithoutReadFrom", "net.tcpConnWithoutWriteTo":
		default:
			return p, false
		}
	}
	sc, ok := x.(syscall.Conn)
	if !ok {
		return p, false
	}
	rc, err := sc.SyscallConn() // fails for a nil *os.File
	if err != nil || rc == nil {
		return p, false
	}
	p.rc = rc
	p.conn, _ = x.(net.Conn)
	if f, ok := x.(interface{ Name() string }); ok {
		p.name = f.Name()
	}
	return p, true
}

// How splice can use a descriptor.
const (
	spliceNone   = iota
	spliceFile   // a regular file, /dev/null or /dev/zero: never waits
	splicePolled // a non-blocking pipe, FIFO or stream socket: waits on the poller
)

// spliceKind tells how splice can use fd; dst says the copy writes to it.
func spliceKind(fd int, dst bool) int {
	var st unix.Stat_t
	if unix.Fstat(fd, &st) != nil {
		return spliceNone
	}
	fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
	if err != nil {
		return spliceNone
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
		if dst && fl&unix.O_APPEND != 0 {
			return spliceNone // splice refuses O_APPEND destinations
		}
		return spliceFile
	case unix.S_IFCHR:
		// /dev/null and /dev/zero (mem devices 3 and 5) never block; other
		// devices, terminals say, might, and are not on the poller.
		if unix.Major(st.Rdev) == 1 && (unix.Minor(st.Rdev) == 3 || unix.Minor(st.Rdev) == 5) {
			return spliceFile
		}
	case unix.S_IFSOCK:
		if typ, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TYPE); err != nil || typ != unix.SOCK_STREAM {
			return spliceNone
		}
		fallthrough
	case unix.S_IFIFO:
		// Only a non-blocking descriptor is on the poller, which waits.
		if fl&unix.O_NONBLOCK != 0 {
			return splicePolled
		}
	}
	return spliceNone
}

// splicer is one copy between our end and a peer.
type splicer struct {
	ours    *os.File
	grow    *growth // ours
	peer    peerEnd
	toPeer  bool // Reader.WriteTo: our end is the source
	polled  bool // the peer is splicePolled, not spliceFile
	remain  int64
	n       int64
	retries int   // EAGAINs with both sides ready, since the last progress
	errno   error // of stepFailed
}

func (c *splicer) run() (int64, bool, error) {
	ours, err := c.ours.SyscallConn()
	if err != nil {
		return 0, false, nil
	}
	// A closed side is reported by its own Read or Write, on io.Copy's path.
	ourKind, peerKind := spliceNone, spliceNone
	if ours.Control(func(fd uintptr) { ourKind = spliceKind(int(fd), !c.toPeer) }) != nil || ourKind != splicePolled {
		return 0, false, nil
	}
	if c.peer.rc.Control(func(fd uintptr) { peerKind = spliceKind(int(fd), c.toPeer) }) != nil || peerKind == spliceNone {
		return 0, false, nil
	}
	c.polled = peerKind == splicePolled
	waitOurs, waitPeer := ours.Write, c.peer.rc.Read
	ourOp, peerOp := "write", "read"
	if c.toPeer {
		waitOurs, waitPeer = ours.Read, c.peer.rc.Write
		ourOp, peerOp = "read", "write"
	}

	// Each callback holds its side's descriptor and borrows the other's
	// only for the step, never while parked, so closing either side never
	// waits for a stalled copy.
	var next int
	var ofd, pfd int
	var ourErr, peerErr error
	stepWithPeer := func(fd uintptr) { next = c.step(ofd, int(fd)) }
	stepWithOurs := func(fd uintptr) { next = c.step(int(fd), pfd) }
	waited := false
	onOurs := func(fd uintptr) bool {
		if waited {
			// Back to the loop after a wait, to check the peer's
			// deadline before the next step.
			waited, next = false, stepAgain
			return true
		}
		ofd = int(fd)
		if peerErr = c.peer.rc.Control(stepWithPeer); peerErr != nil {
			return true
		}
		waited = next == stepWaitOurs
		return !waited
	}
	onPeer := func(fd uintptr) bool {
		pfd = int(fd)
		if ourErr = ours.Control(stepWithOurs); ourErr != nil {
			return true
		}
		return next != stepWaitPeer
	}
	ready := func(uintptr) bool { return true }
	for {
		if next == stepWaitPeer {
			peerErr = waitPeer(onPeer)
		} else {
			if c.polled {
				peerErr = waitPeer(ready) // checks the peer's deadline
			}
			if peerErr == nil {
				if err := waitOurs(onOurs); err != nil {
					ourErr = err
				}
			}
		}
		switch {
		case ourErr != nil:
			return c.n, true, rawConnError(ourOp, c.ours.Name(), ourErr)
		case peerErr != nil:
			return c.n, true, c.rawPeerError(peerOp, peerErr)
		case next == stepDone:
			return c.n, true, nil
		case next == stepFallback:
			return c.n, false, nil
		case next == stepFailed:
			return c.n, true, c.spliceError(peerOp)
		}
	}
}

// step splices until it must wait, is done, or has moved spliceBudget.
// The caller holds both descriptors.
func (c *splicer) step(ofd, pfd int) int {
	in, out := pfd, ofd
	if c.toPeer {
		in, out = ofd, pfd
	}
	var moved int64
	for c.remain > 0 {
		k, err := unix.Splice(in, nil, out, nil, int(min(c.remain, 1<<30)), unix.SPLICE_F_MOVE|unix.SPLICE_F_NONBLOCK)
		m := int64(k) // int on 32-bit systems
		switch err {
		case nil:
			if m == 0 {
				return stepDone // EOF
			}
			c.n += m
			c.remain -= m
			c.grow.add(m)
			c.peer.grow.add(m)
			c.retries = 0
			if moved += m; moved >= spliceBudget {
				return stepAgain
			}
		case unix.EINTR:
		case unix.EAGAIN:
			if !c.polled {
				return stepWaitOurs
			}
			ourReady, peerReady := c.ready(ofd, pfd)
			switch {
			case !ourReady:
				return stepWaitOurs
			case !peerReady:
				return stepWaitPeer
			}
			if c.retries++; c.retries > spliceMaxRetries {
				return stepFallback
			}
		case unix.EINVAL, unix.ENOSYS, unix.EOPNOTSUPP, unix.EBADF, unix.ESPIPE, unix.EXDEV:
			// The kernel refused before moving anything: this pair of
			// files, or this file system, cannot splice.
			return stepFallback
		default:
			c.errno = err
			return stepFailed
		}
	}
	return stepDone
}

// ready polls both descriptors without waiting. An error or a hang-up
// counts as ready: the next splice reports it.
func (c *splicer) ready(ofd, pfd int) (ours, peer bool) {
	ourEv, peerEv := int16(unix.POLLOUT), int16(unix.POLLIN)
	if c.toPeer {
		ourEv, peerEv = peerEv, ourEv
	}
	fds := [2]unix.PollFd{{Fd: int32(ofd), Events: ourEv}, {Fd: int32(pfd), Events: peerEv}}
	err := error(unix.EINTR)
	for err == unix.EINTR {
		_, err = unix.Poll(fds[:], 0)
	}
	if err != nil {
		return true, true
	}
	const gone = unix.POLLERR | unix.POLLHUP | unix.POLLNVAL
	return fds[0].Revents&(ourEv|gone) != 0, fds[1].Revents&(peerEv|gone) != 0
}

// spliceError reports a failed splice as a Write or Read on the side that
// failed would: os/exec, for one, ignores only the exact error of its stdin
// pipe's Write (golang/go#9173). splice fails with EPIPE only when writing,
// to a pipe without readers or a socket shut for writing, which names the
// side written to; our pipe fails no other way, so any other error is the
// peer's.
func (c *splicer) spliceError(peerOp string) error {
	if c.errno == unix.EPIPE && !c.toPeer {
		return wrapWriteError(&os.PathError{Op: "write", Path: c.ours.Name(), Err: c.errno})
	}
	if conn := c.peer.conn; conn != nil {
		// As net's conn.Read and Write wrap an errno.
		return &net.OpError{Op: peerOp, Net: network(conn), Source: conn.LocalAddr(), Addr: conn.RemoteAddr(), Err: os.NewSyscallError(peerOp, c.errno)}
	}
	err := error(&os.PathError{Op: peerOp, Path: c.peer.name, Err: c.errno})
	if c.peer.writer {
		return wrapWriteError(err)
	}
	return err
}

// rawPeerError reports a failure of the peer's RawConn (its deadline or
// its Close) as its Read or Write would. net's RawConn reports it as the
// conn's I/O does, but for the operation's name.
func (c *splicer) rawPeerError(peerOp string, err error) error {
	if oe, ok := err.(*net.OpError); ok && c.peer.conn != nil {
		e := *oe
		e.Op = peerOp
		return &e
	}
	return rawConnError(peerOp, c.peer.name, err)
}

// network is the network a connection's own errors name: the one its
// address reports, except that a TCP address says "tcp" for "tcp4" and
// "tcp6" alike, as net's errors do.
func network(conn net.Conn) string {
	for _, a := range [...]net.Addr{conn.LocalAddr(), conn.RemoteAddr()} {
		if a != nil {
			return a.Network()
		}
	}
	return ""
}
