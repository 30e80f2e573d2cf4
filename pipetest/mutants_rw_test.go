package pipetest_test

import (
	"context"
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// The mutants of reading and writing; see mutant.
func rwMutants() []mutant {
	return []mutant{
		{
			name:   "ReadWaitsToFillBuffer",
			breaks: "a Read waits until its buffer is full",
			caught: "ReadReturnsWhatIsThere",
			says:   "did not return at once",
			mutate: func(m *mutantPipe) {
				m.read = func(p []byte) (int, error) { return io.ReadFull(m.r, p) }
			},
		},
		{
			name:   "ZeroLengthReadWaits",
			breaks: "a Read of no bytes waits for a byte, and takes it",
			caught: "ZeroLengthRead",
			says:   "Read(nil) on an empty pipe did not return at once",
			mutate: func(m *mutantPipe) {
				m.read = func(p []byte) (int, error) {
					if len(p) == 0 {
						_, err := m.r.Read(make([]byte, 1))
						return 0, err
					}
					return m.r.Read(p)
				}
			},
		},
		{
			name:   "ZeroLengthReadTakesAByte",
			breaks: "a Read of no bytes takes a byte if one comes within 20 ms",
			caught: "ZeroLengthRead",
			says:   "zero-length Read (which must take nothing)",
			mutate: func(m *mutantPipe) {
				m.read = func(p []byte) (int, error) {
					if len(p) == 0 {
						m.r.SetReadDeadline(time.Now().Add(mtick))
						m.r.Read(make([]byte, 1))
						m.r.SetReadDeadline(time.Time{})
						return 0, nil
					}
					return m.r.Read(p)
				}
			},
		},
		{
			name:   "ZeroLengthWriteWritesAByte",
			breaks: "a Write of no bytes writes a zero byte",
			caught: "ZeroLengthWrite",
			says:   "which must add nothing",
			mutate: func(m *mutantPipe) {
				m.write = func(p []byte) (int, error) {
					if len(p) == 0 {
						_, err := m.w.Write([]byte{0})
						return 0, err
					}
					return m.w.Write(p)
				}
			},
		},
		{
			name:   "ZeroLengthWriteWaits",
			breaks: "a Write of no bytes waits for the pipe to close",
			caught: "ZeroLengthWrite",
			says:   "Write([]byte(nil)) with nobody reading did not return at once",
			mutate: func(m *mutantPipe) {
				m.write = func(p []byte) (int, error) {
					if len(p) == 0 {
						<-m.wClosed
						return 0, closedError("write")
					}
					return m.w.Write(p)
				}
			},
		},
		{
			name:   "NeverFull",
			breaks: "a Write never blocks: what does not fit waits in a queue of its own",
			caught: "WriteBlocksWhenFull",
			says:   "want it to block once the pipe is full",
			mutate: neverFull,
		},
		{
			name:        "NeverFullNoDeadlines",
			breaks:      "as NeverFull, on ends without deadlines",
			caught:      "WriteBlocksWhenFull",
			says:        "want them to block once the pipe is full",
			noDeadlines: true,
			mutate:      neverFull,
		},
		{
			name:   "OneByteWriteIgnoresFull",
			breaks: "a 1-byte Write returns at once on a full pipe, its byte going in later",
			caught: "WriteBlocksWhenFull",
			says:   "writes block while the pipe is full",
			mutate: func(m *mutantPipe) {
				m.write = func(p []byte) (int, error) {
					if len(p) != 1 {
						return m.w.Write(p)
					}
					b := []byte{p[0]}
					go m.w.Write(b)
					return 1, nil
				}
			},
		},
		{
			name:   "FullForever",
			breaks: "once a Write found the pipe full, reading does not free it: Writes time out at once",
			caught: "WriteBlocksWhenFull",
			says:   "reading frees space",
			mutate: func(m *mutantPipe) {
				var full atomic.Bool
				m.write = func(p []byte) (int, error) {
					if full.Load() && len(p) > 0 {
						return 0, timeoutError("write")
					}
					n, err := m.w.Write(p)
					if isTimeout(err) {
						full.Store(true)
					}
					return n, err
				}
			},
		},
		{
			name:   "CutShortWriteHidesError",
			breaks: "a Write cut short returns its count without an error",
			caught: "PartialWrite",
			says:   "want fewer bytes and an error",
			mutate: func(m *mutantPipe) {
				m.write = func(p []byte) (int, error) {
					n, err := m.w.Write(p)
					if n > 0 {
						err = nil
					}
					return n, err
				}
			},
		},
		{
			name:   "CutShortWriteReportsZero",
			breaks: "a Write cut short reports 0 bytes written",
			caught: "PartialWrite",
			says:   "want the count of bytes it wrote",
			mutate: cutShortReportsZero,
		},
		{
			name:        "CutShortWriteReportsZeroNoDeadlines",
			breaks:      "as CutShortWriteReportsZero, on ends without deadlines",
			caught:      "PartialWrite",
			says:        "blocked when its end was closed",
			noDeadlines: true,
			mutate:      cutShortReportsZero,
		},
		{
			name:   "CutShortWriteReportsOneMore",
			breaks: "a Write cut short reports a byte more than it wrote",
			caught: "PartialWrite",
			says:   "the rest of a Write cut short",
			mutate: func(m *mutantPipe) {
				m.write = func(p []byte) (int, error) {
					n, err := m.w.Write(p)
					if err != nil && n < len(p) {
						n++
					}
					return n, err
				}
			},
		},
		{
			name:   "SplitsWritesOf4096",
			breaks: "a Write of 2049 to 4096 bytes goes in as two halves, and the reader may read the first alone",
			caught: "AtomicWrites/4096",
			says:   "4096-byte", // a record split, or mixed with another
			mutate: func(m *mutantPipe) { splitWrites(m, 2048, 4096) },
		},
		{
			name:   "SplitsWritesOf1000",
			breaks: "a Write of 513 to 2048 bytes goes in as two halves, and the reader may read the first alone",
			caught: "AtomicWrites/1000",
			says:   "1000-byte", // a record split, or mixed with another
			mutate: func(m *mutantPipe) { splitWrites(m, 512, 2048) },
		},
		{
			name:   "EOFWhileWriterOpen",
			breaks: "a Read of an empty pipe returns io.EOF though the writer is open",
			caught: "EOFAfterWriterCloses",
			says:   "EOF comes only once the writer is closed",
			mutate: eofWhileWriterOpen,
		},
		{
			name:        "EOFWhileWriterOpenNoDeadlines",
			breaks:      "as EOFWhileWriterOpen, on ends without deadlines",
			caught:      "EOFAfterWriterCloses",
			says:        "EOF comes only once the writer is closed",
			noDeadlines: true,
			mutate:      eofWhileWriterOpen,
		},
		{
			name:   "CloseDropsUnreadBytes",
			breaks: "once the writer is closed, Read returns io.EOF with bytes unread",
			caught: "EOFAfterWriterCloses",
			says:   "the bytes written before the writer closed",
			mutate: func(m *mutantPipe) {
				m.read = func(p []byte) (int, error) {
					select {
					case <-m.wClosed:
						return 0, io.EOF
					default:
						return m.r.Read(p)
					}
				}
			},
		},
		{
			name:   "EOFOnlyOnce",
			breaks: "after io.EOF, Reads return 0, nil",
			caught: "EOFAfterWriterCloses",
			says:   "want 0, io.EOF, repeatably",
			mutate: func(m *mutantPipe) {
				var eof atomic.Bool
				m.read = func(p []byte) (int, error) {
					if eof.Load() {
						return 0, nil
					}
					n, err := m.r.Read(p)
					if err == io.EOF {
						eof.Store(true)
					}
					return n, err
				}
			},
		},
	}
}

func neverFull(m *mutantPipe) {
	var (
		mu     sync.Mutex
		queue  [][]byte
		notify = make(chan struct{}, 1)
		pump   sync.Once
	)
	m.write = func(p []byte) (int, error) {
		pump.Do(func() {
			go func() {
				for {
					mu.Lock()
					if len(queue) == 0 {
						mu.Unlock()
						select {
						case <-notify:
							continue
						case <-m.wClosed:
							return
						}
					}
					b := queue[0]
					queue = queue[1:]
					mu.Unlock()
					if _, err := m.w.Write(b); err != nil {
						return
					}
				}
			}()
		})
		mu.Lock()
		queue = append(queue, append([]byte(nil), p...))
		mu.Unlock()
		select {
		case notify <- struct{}{}:
		default:
		}
		return len(p), nil
	}
}

func cutShortReportsZero(m *mutantPipe) {
	m.write = func(p []byte) (int, error) {
		n, err := m.w.Write(p)
		if err != nil {
			n = 0
		}
		return n, err
	}
}

func eofWhileWriterOpen(m *mutantPipe) {
	written, read := counted(m)
	countedRead := m.read
	m.read = func(p []byte) (int, error) {
		if len(p) > 0 && read.Load() >= written.Load() {
			return 0, io.EOF
		}
		return countedRead(p)
	}
}

// splitWrites makes m write each Write of more than lo and at most hi bytes
// in two halves, letting the reader read the first before it writes the
// second.
func splitWrites(m *mutantPipe, lo, hi int) {
	m.write = func(p []byte) (int, error) {
		if len(p) <= lo || len(p) > hi {
			return m.w.Write(p)
		}
		n, err := m.w.Write(p[:len(p)/2])
		if err != nil {
			return n, err
		}
		m.w.Drain(context.Background())
		k, err := m.w.Write(p[len(p)/2:])
		return n + k, err
	}
}

// counted makes m count the bytes written and read, for mutants that act on
// whether the pipe holds unread bytes.
func counted(m *mutantPipe) (written, read *atomic.Int64) {
	written, read = new(atomic.Int64), new(atomic.Int64)
	m.write = func(p []byte) (int, error) {
		n, err := m.w.Write(p)
		written.Add(int64(n))
		return n, err
	}
	m.read = func(p []byte) (int, error) {
		n, err := m.r.Read(p)
		read.Add(int64(n))
		return n, err
	}
	return written, read
}
