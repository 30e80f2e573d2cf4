package pipetest

import (
	"net"
	"sync"
	"testing"
	"time"
)

// MakeConn makes a new connection for [TestConn], which calls it at the
// start of each sub-test. c1 and c2 must be the two ends of one connection,
// open, with nothing in flight: what is written to one is read from the
// other. stop, which may be nil, releases whatever else the connection
// holds, such as a listener or a child process. A non-nil err fails the
// sub-test; stop is then still called if it is not nil.
//
// When the sub-test ends, or earlier when its watchdog fires, TestConn
// closes c1 and c2, ignoring the errors, and then calls stop, once.
type MakeConn func() (c1, c2 net.Conn, stop func(), err error)

// Times and sizes of TestConn alone.
const (
	// connRacyTime is the deadline of the racing calls of RacyRead and
	// RacyWrite, renewed after each timeout, as nettest's.
	connRacyTime = time.Millisecond
	// connFutureTime is the deadline of FutureTimeout.
	connFutureTime = 100 * time.Millisecond
	// connBufferedTime is how long a small Write, with nobody reading, may
	// take for the check to count on the connection buffering it.
	connBufferedTime = 100 * time.Millisecond
	// connMiB is what BasicIO sends each way.
	connMiB = 1 << 20
	// connRacers is how many goroutines race in RacyRead, RacyWrite and
	// each round of ConcurrentMethods.
	connRacers = 10
)

// TestConn checks that the connections mc makes behave as a connection of
// two pipes does, such as [ConnPipe]'s, anonpipe's or a Unix socketpair's,
// with a sub-test of t for each behaviour, each on a new connection:
//   - what golang.org/x/net/nettest.TestConn checks, under its names
//     (BasicIO, PingPong, RacyRead, RacyWrite, the five Timeout checks,
//     ConcurrentMethods), more strictly: no byte lost, duplicated or
//     reordered, and a timeout is a net.Error matching
//     os.ErrDeadlineExceeded;
//   - Close: the peer reads the bytes then io.EOF, its Writes fail with a
//     broken pipe, and later calls fail matching net.ErrClosed or
//     os.ErrClosed;
//   - half-close: CloseWrite, CloseRead, CloseReadBreaksPeer.
//
// A sub-test skips, saying why, when a deadline setter returns
// os.ErrNoDeadline or c1 lacks CloseRead or CloseWrite; CloseReadBreaksPeer
// skips for sockets, whose CloseRead leaves a waiting peer Write blocked.
// Each sub-test has a watchdog, as in [TestPipe]. Run it with -race.
func TestConn(t *testing.T, mc MakeConn) {
	t.Helper()
	if mc == nil {
		t.Fatal("pipetest.TestConn: nil MakeConn")
	}
	s := &connSuite{mc: mc, watchdog: watchdogFor(t)}
	s.run(t, "BasicIO", connBasicIO)
	s.run(t, "PingPong", connPingPong)
	s.run(t, "RacyRead", connRacyRead)
	s.run(t, "RacyWrite", connRacyWrite)
	s.run(t, "ReadTimeout", connReadTimeout)
	s.run(t, "WriteTimeout", connWriteTimeout)
	s.run(t, "PastTimeout", connPastTimeout)
	s.run(t, "PresentTimeout", connPresentTimeout)
	s.run(t, "FutureTimeout", connFutureTimeout)
	s.run(t, "CloseTimeout", connCloseTimeout)
	s.run(t, "ConcurrentMethods", connConcurrentMethods)
	s.run(t, "EOFAfterClose", connEOFAfterClose)
	s.run(t, "CloseUnblocksPeerRead", connCloseUnblocksPeerRead)
	s.run(t, "CloseUnblocksPeerWrite", connCloseUnblocksPeerWrite)
	s.run(t, "UseAfterClose", connUseAfterClose)
	s.run(t, "CloseWrite", connCloseWrite)
	s.run(t, "CloseRead", connCloseRead)
	s.run(t, "CloseReadBreaksPeer", connCloseReadBreaksPeer)
}

// connSuite is the state of one TestConn call.
type connSuite struct {
	mc       MakeConn
	watchdog time.Duration // the grace period is half of it

	// big is the data of big Writes, made once; sub-tests run one at a
	// time, but a hung one's goroutines may still read it.
	bigOnce sync.Once
	big     []byte
}

func (s *connSuite) bigData() []byte {
	s.bigOnce.Do(func() {
		// Random bytes repeated with a prime period, which no buffer size
		// divides: as good as all random for the first megabyte the checks
		// read, and made far faster under -race.
		base := pattern(65521, 3)
		s.big = make([]byte, bigWrite)
		for i := 0; i < len(s.big); i += len(base) {
			copy(s.big[i:], base)
		}
	})
	return s.big
}

// run runs f as the sub-test name of t, on a new connection, under a
// watchdog.
func (s *connSuite) run(t *testing.T, name string, f func(c *connCheck)) {
	t.Run(name, func(t *testing.T) {
		c1, c2, stop, err := s.mc()
		if err != nil {
			if stop != nil {
				stop()
			}
			t.Fatalf("MakeConn: %v", err)
		}
		c := &connCheck{subtest: watch(t, s.watchdog, stop, c1, c2), s: s}
		c.e1 = &connEnd{c: c, name: "c1", conn: c1}
		c.e2 = &connEnd{c: c, name: "c2", conn: c2}
		if c1 == nil || c2 == nil {
			t.Fatalf("MakeConn returned a nil connection (c1: %v, c2: %v) and no error", c1, c2)
		}
		f(c)
	})
}
