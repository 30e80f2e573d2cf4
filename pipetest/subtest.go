package pipetest

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// What TestPipe and TestConn share: how their sub-tests make calls on the
// ends, wait for them and compare bytes.

// Times and sizes of both suites. Only watchdogTime and promptTime bound
// calls that should return.
const (
	// watchdogTime is how long a sub-test may run before the suite takes it
	// as hung, or a quarter of the time left to the test's deadline, but at
	// least minWatchdog. The grace for closing the ends to end it is half
	// of that.
	watchdogTime = 10 * time.Second
	minWatchdog  = 2 * time.Second
	// promptTime is how long a call that must return "at once" may take.
	promptTime = time.Second
	// bigWrite is the size of a Write that no pipe or connection under
	// test can take whole with nobody reading.
	bigWrite = 8 << 20
	// partK is how many bytes a sub-test reads from a big Write to know
	// that the Write is under way.
	partK = 1000
)

// watchdogFor returns the watchdog time of t's sub-tests.
func watchdogFor(t *testing.T) time.Duration {
	d := watchdogTime
	if dl, ok := t.Deadline(); ok {
		d = max(min(d, time.Until(dl)/4), minWatchdog)
	}
	return d
}

// result is what a call on an end returned, and when; n is -1 for a call
// without a count, such as Drain.
type result struct {
	n   int
	err error
	at  time.Time
}

func res(n int, err error) result     { return result{n, err, time.Now()} }
func res64(n int64, err error) result { return res(int(n), err) }

func (r result) String() string {
	if r.n < 0 {
		return fmt.Sprint(r.err)
	}
	return fmt.Sprintf("%d, %v", r.n, r.err)
}

// goCall runs f in a new goroutine, whose result comes on the returned
// channel, once the goroutine is about to call f.
//
// A sub-test that starts a call and then ends it (with Close, a deadline or
// a cancelled context) must find it under way: an act that comes first
// makes the call fail at once, which tests something else. Nothing outside
// a pipe can see that a call is blocked; but the goroutine runs on into f
// while the scheduler wakes the caller, so f is almost always under way
// when the caller acts.
func goCall[T any](f func() T) <-chan T {
	ready := make(chan struct{})
	ch := make(chan T, 1)
	go func() {
		close(ready)
		ch <- f()
	}()
	<-ready
	return ch
}

// blocked reports whether the call whose result comes on ch is still
// pending after d, and if not, its result.
func blocked(ch <-chan result, d time.Duration) (result, bool) {
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case r := <-ch:
		return r, false
	case <-tm.C:
		return result{}, true
	}
}

type readFunc func([]byte) (int, error)

func (f readFunc) Read(p []byte) (int, error) { return f(p) }

// differ returns the index of the first byte where got and want differ, or
// where one ends, or -1 if they are equal.
func differ(got, want []byte) int {
	if bytes.Equal(got, want) {
		return -1
	}
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	return i
}

// pattern returns n pseudo-random bytes drawn from seed.
func pattern(n int, seed uint64) []byte {
	b := make([]byte, n+8)
	rng := rand.NewPCG(seed, 0x5eed)
	for i := 0; i < n; i += 8 {
		binary.LittleEndian.PutUint64(b[i:], rng.Uint64())
	}
	return b[:n:n]
}
