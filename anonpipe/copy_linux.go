package anonpipe

import (
	"io"
	"math"
	"net"
	"os"
	"reflect"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// Reader.WriteTo and Writer.ReadFrom move bytes with splice(2) between this
// package's pipe end ("ours") and the other side of the copy ("the peer")
// when the peer is a regular file, /dev/null or /dev/zero, or a pipe, FIFO or
// stream socket in non-blocking mode. One splice call links the two
// descriptors directly, so no byte is ever held anywhere but in them: when
// splice cannot go on (EINVAL from an O_APPEND file or a file system without
// splice support, say), the rest of the copy falls back to io.Copy and
// nothing is lost or repeated.
//
// Waiting never spins. splice with SPLICE_F_NONBLOCK fails with EAGAIN
// without telling which descriptor was not ready, so a zero-timeout poll(2)
// of both names the culprit, and the copy parks on that descriptor's own
// poller through its syscall.RawConn (Read or Write returning false). A
// regular file or /dev/null never makes splice wait, so there EAGAIN always
// means our pipe. The wait on our end obeys this end's deadline and Close;
// the wait on the peer obeys the peer's, exactly as a Read or Write on it
// would, and the peer's deadline is also checked before each step taken
// from our side, as a generic copy checks it at each Read or Write. Each
// descriptor is used only inside its RawConn callback, so a
// concurrent Close cannot hand its number to another file meanwhile, and no
// callback parks while holding the other descriptor, so closing either side
// never waits on a stalled copy.
//
// golang/go#75304 is the trap avoided here: the standard library's splice
// into a pipe retries EAGAIN without a poller able to wake it and spins.

const (
	spliceFlags = unix.SPLICE_F_MOVE | unix.SPLICE_F_NONBLOCK
	// spliceMax bounds one splice call; the kernel moves at most what the
	// pipe holds anyway.
	spliceMax = 1 << 30
	// spliceBudget is how many bytes one callback moves before giving the
	// descriptors back, so that a Close waits at most that long.
	spliceBudget = 16 << 20
	// spliceMaxRetries bounds EAGAINs after which poll reports both ends
	// ready: then splice cannot be trusted to make progress, and the copy
	// falls back rather than spin.
	spliceMaxRetries = 8
	// spliceMaxIdle bounds EAGAINs in a row without progress, parked or
	// not, before the copy falls back to io.Copy: a last guard against a
	// readiness the poller reports but splice never honours.
	spliceMaxIdle = 1000
)

// peerKind says how splice treats the peer.
type peerKind uint8

const (
	peerNone     peerKind = iota // splice is not used
	peerFile                     // regular file, /dev/null, /dev/zero: never waits
	peerPollable                 // non-blocking pipe, FIFO or stream socket
)

// verdict is what a splice step asks the copy to do next.
type verdict uint8

const (
	vAgain    verdict = iota // progress made: call again
	vDone                    // EOF, or the limit reached
	vWaitOurs                // our pipe is not ready: park on it
	vWaitPeer                // the peer is not ready: park on it
	vFallback                // splice cannot go on: copy the rest with os.File
	vFailed                  // splice failed with errno
)

// spliceTo copies from the pipe to w. handled is false when splice was not
// usable, or stopped part way without error after n bytes.
func (r *Reader) spliceTo(w io.Writer) (n int64, handled bool, err error) {
	if w == io.Discard {
		// io.Copy(io.Discard, r) is how a pipe is drained. io.Discard
		// would read it 8 KiB at a time; splicing to /dev/null frees the
		// pipe's pages without copying them out of the kernel.
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
	ours, err := r.f.SyscallConn()
	if err != nil {
		return 0, false, nil
	}
	c := &splicer{ours: ours, ourName: r.f.Name(), peer: peer, toPeer: true, remain: math.MaxInt64}
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
	ours, err := w.f.SyscallConn()
	if err != nil {
		return 0, false, nil
	}
	c := &splicer{ours: ours, ourName: w.f.Name(), peer: peer, remain: remain}
	n, handled, err = c.run()
	if limited {
		lr.N -= n
	}
	return n, handled, err
}

// peerEnd is the other side of a copy. Its errors are reported as its own
// Write or Read would report them: see spliceError and rawPeerError.
type peerEnd struct {
	rc     syscall.RawConn
	name   string   // an os.File's, whose errors are wrapped here as its methods would
	conn   net.Conn // a socket's, whose errors net reports itself
	writer bool     // a Writer, whose Write reports a broken pipe as ErrBrokenPipe
}

// peerOf accepts only types whose Read and Write are the descriptor's own,
// so that splicing skips nothing: a type that embeds an *os.File or a
// net.Conn and overrides Write (to transform or count bytes, say) must see
// every byte, and gets them through its methods.
func peerOf(x any) (peerEnd, bool) {
	var f *os.File
	writer := false
	switch v := x.(type) {
	case *Reader:
		f = v.f
	case *Writer:
		f, writer = v.f, true
	case *os.File:
		f = v
	case *net.TCPConn, *net.UnixConn:
		return connPeer(v.(syscall.Conn))
	default:
		sc, ok := x.(syscall.Conn)
		if !ok || !stdlibCopyWrapper(x) {
			return peerEnd{}, false
		}
		return connPeer(sc)
	}
	if f == nil {
		return peerEnd{}, false
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return peerEnd{}, false
	}
	return peerEnd{rc: rc, name: f.Name(), writer: writer}, true
}

// stdlibCopyWrapper recognises the wrappers that os.File's and
// net.TCPConn's own ReadFrom and WriteTo hand to io.Copy when they cannot
// copy in the kernel: an *os.File or *net.TCPConn with ReadFrom or WriteTo
// hidden, every other method its own. io.Copy(w, f) with an *os.File f
// reaches Writer.ReadFrom through one of them. Should a Go release rename
// them, such copies only lose splice.
func stdlibCopyWrapper(x any) bool {
	t := reflect.TypeOf(x)
	if t == nil {
		return false
	}
	switch t.PkgPath() + "." + t.Name() {
	case "os.fileWithoutReadFrom", "os.fileWithoutWriteTo",
		"net.tcpConnWithoutReadFrom", "net.tcpConnWithoutWriteTo":
		return true
	}
	return false
}

// connPeer is the peer behind a socket, or behind os's or net's wrapper of
// a file or a socket.
func connPeer(sc syscall.Conn) (peerEnd, bool) {
	rc, err := sc.SyscallConn()
	if err != nil || rc == nil {
		return peerEnd{}, false
	}
	p := peerEnd{rc: rc}
	p.conn, _ = sc.(net.Conn)
	if nf, ok := sc.(interface{ Name() string }); ok {
		p.name = nf.Name()
	}
	return p, true
}

// classify tells how splice can use fd as the peer; dst says the copy
// writes to it.
func classify(fd int, dst bool) peerKind {
	var st unix.Stat_t
	if unix.Fstat(fd, &st) != nil {
		return peerNone
	}
	fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
	if err != nil {
		return peerNone
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
		if dst && fl&unix.O_APPEND != 0 {
			return peerNone // splice refuses O_APPEND destinations
		}
		return peerFile
	case unix.S_IFCHR:
		// /dev/null and /dev/zero (mem devices 3 and 5) never block;
		// other devices, such as terminals, might, and are not pollable.
		if unix.Major(st.Rdev) == 1 && (unix.Minor(st.Rdev) == 3 || unix.Minor(st.Rdev) == 5) {
			return peerFile
		}
	case unix.S_IFSOCK:
		if typ, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TYPE); err != nil || typ != unix.SOCK_STREAM {
			return peerNone
		}
		fallthrough
	case unix.S_IFIFO:
		// Waiting for the peer goes through its poller, which only a
		// non-blocking descriptor is registered with.
		if fl&unix.O_NONBLOCK != 0 {
			return peerPollable
		}
	}
	return peerNone
}

// splicer is one copy between our pipe end and a peer.
type splicer struct {
	ours    syscall.RawConn
	ourName string
	peer    peerEnd
	toPeer  bool // Reader.WriteTo: our pipe is the source
	kind    peerKind
	remain  int64
	n       int64
	retries int // EAGAINs with both ends ready, since the last progress
	idle    int // EAGAINs since the last progress
	errno   error
	v       verdict
	ofd     int // our descriptor, while a callback holds it
	pfd     int // the peer's descriptor, while a callback holds it
}

func (c *splicer) run() (int64, bool, error) {
	if err := c.peer.rc.Control(func(fd uintptr) { c.kind = classify(int(fd), c.toPeer) }); err != nil || c.kind == peerNone {
		// A closed peer is reported by its own Write or Read, on
		// io.Copy's path.
		return 0, false, nil
	}
	var ourErr, peerErr error
	stepWithPeer := func(pfd uintptr) { c.v = c.step(c.ofd, int(pfd)) }
	stepWithOurs := func(ofd uintptr) { c.v = c.step(int(ofd), c.pfd) }
	// Each callback holds its own descriptor and borrows the other's with
	// Control only for the step, never while parked. Control takes no
	// lock, so a concurrent Read or Write on the other end is not kept
	// out, as it would not be between two chunks of a generic copy.
	waited := false
	onOurs := func(ofd uintptr) bool {
		if waited {
			// Back to the loop after each wait, so that the peer's
			// deadline is checked before the next step.
			waited, c.v = false, vAgain
			return true
		}
		c.ofd = int(ofd)
		if err := c.peer.rc.Control(stepWithPeer); err != nil {
			peerErr = err
			return true
		}
		waited = c.v == vWaitOurs
		return !waited
	}
	onPeer := func(pfd uintptr) bool {
		c.pfd = int(pfd)
		if err := c.ours.Control(stepWithOurs); err != nil {
			ourErr = err
			return true
		}
		return c.v != vWaitPeer
	}
	waitOurs, waitPeer := c.ours.Write, c.peer.rc.Read
	if c.toPeer {
		waitOurs, waitPeer = c.ours.Read, c.peer.rc.Write
	}
	// probe checks the peer's deadline (and that it is open) as a Read or
	// Write on it would, without waiting. A regular file has no deadline.
	probe := func(uintptr) bool { return true }
	atPeer := false
	for {
		if atPeer {
			peerErr = waitPeer(onPeer)
		} else {
			if c.kind == peerPollable {
				peerErr = waitPeer(probe)
			}
			if peerErr == nil {
				if err := waitOurs(onOurs); err != nil {
					ourErr = err
				}
			}
		}
		switch {
		case ourErr != nil:
			if unsupportedWait(ourErr) {
				return c.n, false, nil
			}
			return c.n, true, rawConnError(c.ourOp(), c.ourName, ourErr)
		case peerErr != nil:
			if unsupportedWait(peerErr) {
				return c.n, false, nil
			}
			return c.n, true, c.rawPeerError(peerErr)
		}
		switch c.v {
		case vAgain, vWaitOurs:
			atPeer = false
		case vWaitPeer:
			atPeer = true
		case vDone:
			return c.n, true, nil
		case vFallback:
			return c.n, false, nil
		case vFailed:
			return c.n, true, c.spliceError()
		}
	}
}

// step splices until it must wait, is done, or has moved spliceBudget bytes.
// Both descriptors are held by the caller.
func (c *splicer) step(ofd, pfd int) verdict {
	in, out := pfd, ofd
	if c.toPeer {
		in, out = ofd, pfd
	}
	var moved int64
	for c.remain > 0 {
		m, err := unix.Splice(in, nil, out, nil, int(min(c.remain, spliceMax)), spliceFlags)
		switch {
		case err == nil && m > 0:
			c.n += m
			c.remain -= m
			c.retries, c.idle = 0, 0
			if moved += m; moved >= spliceBudget {
				return vAgain
			}
			continue
		case err == nil:
			return vDone // EOF
		case err == unix.EINTR:
			continue
		case err == unix.EAGAIN:
			if c.idle++; c.idle > spliceMaxIdle {
				return vFallback
			}
			if c.kind == peerFile {
				return vWaitOurs
			}
			ourReady, peerReady := c.ready(ofd, pfd)
			switch {
			case !ourReady:
				return vWaitOurs
			case !peerReady:
				return vWaitPeer
			}
			if c.retries++; c.retries > spliceMaxRetries {
				return vFallback
			}
		case err == unix.EINVAL, err == unix.ENOSYS, err == unix.EOPNOTSUPP,
			err == unix.EBADF, err == unix.ESPIPE, err == unix.EXDEV:
			// The kernel refused before moving anything: this pair of
			// files (or this file system) cannot splice.
			return vFallback
		default:
			c.errno = err
			return vFailed
		}
	}
	return vDone
}

// ready polls both descriptors without waiting. An error or hang-up counts
// as ready: the next splice reports it.
func (c *splicer) ready(ofd, pfd int) (ours, peer bool) {
	ourEv, peerEv := int16(unix.POLLOUT), int16(unix.POLLIN)
	if c.toPeer {
		ourEv, peerEv = peerEv, ourEv
	}
	fds := [2]unix.PollFd{{Fd: int32(ofd), Events: ourEv}, {Fd: int32(pfd), Events: peerEv}}
	for {
		_, err := unix.Poll(fds[:], 0)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return true, true
		}
		break
	}
	const gone = unix.POLLERR | unix.POLLHUP | unix.POLLNVAL
	return fds[0].Revents&(ourEv|gone) != 0, fds[1].Revents&(peerEv|gone) != 0
}

// spliceError reports a failed splice on the side that failed, exactly as
// a Write or Read there would: os/exec, for one, ignores only the exact
// error of its stdin pipe's Write (golang/go#9173). splice fails with EPIPE
// only when writing, to a pipe without readers or a socket shut for
// writing; that names the side written to. Any other error comes from the
// peer, a file or a socket, since our pipe fails no other way.
func (c *splicer) spliceError() error {
	if c.errno == unix.EPIPE && !c.toPeer {
		return wrapWriteError(&os.PathError{Op: "write", Path: c.ourName, Err: c.errno})
	}
	op := c.peerOp()
	if conn := c.peer.conn; conn != nil {
		// As net's conn.Write and Read wrap an errno.
		return &net.OpError{Op: op, Net: network(conn), Source: conn.LocalAddr(), Addr: conn.RemoteAddr(), Err: os.NewSyscallError(op, c.errno)}
	}
	// As os.File.Write and Read wrap an errno: bare, in a PathError.
	err := error(&os.PathError{Op: op, Path: c.peer.name, Err: c.errno})
	if c.peer.writer {
		return wrapWriteError(err)
	}
	return err
}

// rawPeerError reports a failure of the peer's RawConn (its deadline, or
// its Close) as the peer's Write or Read would. net's RawConn reports it
// as the conn's I/O does, but for the name of the operation.
func (c *splicer) rawPeerError(err error) error {
	if oe, ok := err.(*net.OpError); ok && c.peer.conn != nil {
		e := *oe
		e.Op = c.peerOp()
		return &e
	}
	return rawConnError(c.peerOp(), c.peer.name, err)
}

// network is the network a connection's own errors name. net names there
// the network the connection was made with, which its address reports too,
// except that a TCP address says "tcp" for "tcp4" and "tcp6" alike.
func network(conn net.Conn) string {
	for _, a := range [...]net.Addr{conn.LocalAddr(), conn.RemoteAddr()} {
		if a != nil {
			return a.Network()
		}
	}
	return ""
}

// ourOp names our side's operation as its Read or Write would.
func (c *splicer) ourOp() string {
	if c.toPeer {
		return "read"
	}
	return "write"
}

func (c *splicer) peerOp() string {
	if c.toPeer {
		return "write"
	}
	return "read"
}

// unsupportedWait recognises internal/poll's error for a wait on a
// descriptor the poller does not know, which only a descriptor made
// non-blocking behind its os.File's back can reach. The copy then falls
// back to io.Copy, whose Read or Write of that file reports it.
func unsupportedWait(err error) bool {
	return strings.HasSuffix(err.Error(), "waiting for unsupported file type")
}
