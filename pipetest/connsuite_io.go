package pipetest

import (
	"bytes"
	"encoding/binary"
	"io"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// connBasicIO: a megabyte each way at the same time, in Writes and Reads of
// random sizes, arrives intact; after c1 closes, c2's Reads return io.EOF.
func connBasicIO(c *connCheck) {
	var wg sync.WaitGroup
	send := func(e *connEnd, data []byte, seed uint64) {
		defer wg.Done()
		rng := rand.New(rand.NewPCG(seed, 1))
		for p := data; len(p) > 0; {
			n := min(len(p), 1+rng.IntN(64<<10))
			if m, err := e.write(p[:n]); err != nil {
				c.errorf("%s.Write of %d bytes, after %d of %d, returned %d, %v", e.name, n, len(data)-len(p), len(data), m, err)
				return
			}
			p = p[n:]
		}
	}
	recv := func(e *connEnd, want []byte, seed uint64) {
		defer wg.Done()
		rng := rand.New(rand.NewPCG(seed, 2))
		got := make([]byte, 0, len(want))
		buf := make([]byte, 64<<10)
		for len(got) < len(want) {
			n, err := e.read(buf[:1+rng.IntN(len(buf))])
			got = append(got, buf[:n]...)
			if err != nil {
				c.errorf("%s reading a megabyte: got %d bytes, then %v", e.name, len(got), err)
				return
			}
		}
		if i := differ(got, want); i >= 0 {
			c.errorf("%s read %d bytes where the peer wrote %d; they differ from byte %d on", e.name, len(got), len(want), i)
		}
	}
	d1, d2 := pattern(connMiB, 1), pattern(connMiB, 2)
	wg.Add(4)
	go send(c.e1, d1, 1)
	go send(c.e2, d2, 2)
	go recv(c.e2, d1, 3)
	go recv(c.e1, d2, 4)
	wg.Wait()
	if c.t.Failed() {
		return
	}
	var err error
	c.promptly("c1.Close", func() { err = c.e1.close() })
	if err != nil {
		c.t.Fatalf("c1.Close: %v; want nil", err)
	}
	c.e2.expectEOF("after c1 closed")
	c.e2.expectEOF("again")
}

// connPingPong: the ends exchange a counter, each waiting for the other's
// answer before it writes, a thousand times, as requests and replies. Each
// reads with a buffer larger than a message, so a Read must return the
// bytes there without waiting to fill it; it must not return more than
// was sent.
func connPingPong(c *connCheck) {
	const last = 1000
	var wg sync.WaitGroup
	play := func(e *connEnd, want uint64) {
		defer wg.Done()
		buf := make([]byte, 1024)
		for {
			have := 0
			var err error
			for have < 8 && err == nil {
				var n int
				n, err = e.read(buf[have:])
				have += n
			}
			if have == 0 && err == io.EOF && want == last+1 {
				break // the peer took the last value and closed
			}
			if have > 8 {
				c.errorf("%s waiting for the value %d: a Read returned %d bytes where the peer had sent 8", e.name, want, have)
				break
			}
			if have < 8 {
				c.errorf("%s waiting for the value %d: got %d of 8 bytes, then %v", e.name, want, have, err)
				break
			}
			if v := binary.LittleEndian.Uint64(buf); v != want {
				c.errorf("%s got the value %d, want %d", e.name, v, want)
				break
			}
			if want == last {
				break
			}
			binary.LittleEndian.PutUint64(buf, want+1)
			if n, err := e.write(buf[:8]); err != nil {
				c.errorf("%s.Write of the value %d returned %d, %v", e.name, want+1, n, err)
				break
			}
			want += 2
		}
		if err := e.close(); err != nil {
			c.errorf("%s.Close: %v", e.name, err)
		}
	}
	wg.Add(2)
	go play(c.e1, 1)
	go play(c.e2, 0)
	if n, err := c.e1.write(make([]byte, 8)); err != nil {
		c.errorf("c1.Write of the value 0 returned %d, %v", n, err)
	}
	wg.Wait()
}

// connRacyRead: ten goroutines read c1 with a deadline 1 ms ahead, renewed
// after each timeout, and change their buffer as soon as a Read returns,
// while c2 writes a known stream. Every Read returns bytes that follow each
// other in the stream, or a timeout; together they get every byte once,
// and no more comes.
//
// c2 closes only once the Reads are over, as net.Pipe's SetReadDeadline
// fails once the peer has closed.
func connRacyRead(c *connCheck) {
	c.needDeadlines()
	const total = 256 << 10
	const mod = 251 // the stream is 0, 1, ..., 250, 0, 1, ...
	wrote := make(chan struct{})
	go func() {
		defer close(wrote)
		p := make([]byte, total)
		for i := range p {
			p[i] = byte(i % mod)
		}
		for len(p) > 0 {
			n, err := c.e2.write(p[:min(len(p), 4096)])
			if err != nil {
				c.errorf("c2.Write, with %d bytes left to send, returned %d, %v", len(p), n, err)
				return
			}
			p = p[n:]
		}
	}()
	c.e1.setReadDeadline(time.Now().Add(connRacyTime))
	var got atomic.Int64
	var stop atomic.Bool
	var wg sync.WaitGroup
	for range connRacers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b1, b2 := make([]byte, 1024), bytes.Repeat([]byte{0xff}, 1024)
			for !stop.Load() && got.Load() < total {
				n, err := c.e1.read(b1)
				for i := range n {
					if b1[i] >= mod || i > 0 && b1[i] != (b1[i-1]+1)%mod {
						c.errorf("c1.Read returned %d bytes that do not follow each other in the stream c2 wrote: %v", n, b1[:n])
						return
					}
				}
				got.Add(int64(n))
				copy(b1, b2) // a Read that still used b1 would race with this
				if err == nil {
					continue
				}
				if !connIsTimeout(err) {
					c.errorf("c1.Read, racing others with a deadline, returned %d, %v; want bytes or %s", n, err, connTimeout)
					return
				}
				if err := c.e1.conn.SetReadDeadline(time.Now().Add(connRacyTime)); err != nil {
					c.errorf("c1.SetReadDeadline: %v", err)
					return
				}
			}
		}()
	}
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	select {
	case <-wrote:
		// What is still in flight is read at once, or never.
		tm := time.NewTimer(promptTime)
		defer tm.Stop()
		select {
		case <-done:
		case <-tm.C:
			stop.Store(true)
			<-done
		}
	case <-done:
		await(c.subtest, wrote, promptTime, "c2 writing, once the Reads of c1 had got all it was to write")
	}
	if c.t.Failed() {
		c.t.FailNow()
	}
	if n := got.Load(); n != total {
		c.t.Fatalf("the racing Reads of c1 got %d bytes in all; c2 wrote %d", n, total)
	}
	c.e1.setReadDeadline(time.Time{})
	if err := c.e2.close(); err != nil {
		c.t.Fatalf("c2.Close: %v", err)
	}
	if rest := c.e1.readToEOF("what follows the stream"); len(rest) > 0 {
		c.t.Fatalf("once the racing Reads of c1 had got the %d bytes c2 wrote, c1 read %d more", total, len(rest))
	}
}

// connRacyWrite: ten goroutines write c1 with a deadline 1 ms ahead,
// renewed after each timeout, and change their buffer as soon as a Write
// returns, while c2 reads. Every Write returns its count and nil or a
// timeout; c2 gets exactly as many bytes as the Writes reported, none of
// them from a changed buffer.
func connRacyWrite(c *connCheck) {
	c.needDeadlines()
	const sent, changed = 'w', 'x'
	read := make(chan int64, 1)
	go func() {
		var total int64
		buf := make([]byte, 32<<10)
		for {
			n, err := c.e2.read(buf)
			if bytes.IndexByte(buf[:n], changed) >= 0 {
				c.errorf("c2 read a byte that c1's Write had in its buffer only after the Write returned")
			}
			total += int64(n)
			if err != nil {
				if err != io.EOF {
					c.errorf("c2.Read returned %d, %v; want bytes, then io.EOF when c1 closes", n, err)
				}
				read <- total
				return
			}
		}
	}()
	c.e1.setWriteDeadline(time.Now().Add(connRacyTime))
	var wrote atomic.Int64
	var wg sync.WaitGroup
	for range connRacers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b := make([]byte, 1024)
			for range 100 {
				for i := range b {
					b[i] = sent
				}
				n, err := c.e1.write(b)
				wrote.Add(int64(n))
				for i := range b {
					b[i] = changed // a Write that still used b would race with this
				}
				if err != nil {
					if !connIsTimeout(err) {
						c.errorf("c1.Write, racing others with a deadline, returned %d, %v; want its count and nil or %s", n, err, connTimeout)
						return
					}
					if err := c.e1.conn.SetWriteDeadline(time.Now().Add(connRacyTime)); err != nil {
						c.errorf("c1.SetWriteDeadline: %v", err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	var err error
	c.promptly("c1.Close", func() { err = c.e1.close() })
	if err != nil {
		c.t.Fatalf("c1.Close: %v; want nil", err)
	}
	if got, want := <-read, wrote.Load(); got != want {
		c.t.Fatalf("c2 read %d bytes; the racing Writes of c1 reported %d", got, want)
	}
}
