package pipetest_test

import (
	"io"
	"sync"
)

// The mutants of what becomes of the bytes; see mutant.
func dataMutants() []mutant {
	return []mutant{
		{
			name:   "TimedOutReadFilledLater",
			breaks: "a Read that timed out gets the bytes of the next Read copied into its buffer",
			caught: "BufferNotRetained/Read",
			says:   "the buffer of a Read that timed out, after later Writes",
			mutate: func(m *mutantPipe) {
				var mu sync.Mutex
				var stale []byte
				m.read = func(p []byte) (int, error) {
					n, err := m.r.Read(p)
					mu.Lock()
					defer mu.Unlock()
					if stale != nil {
						copy(stale, p[:n])
						stale = nil
					}
					if isTimeout(err) {
						stale = p
					}
					return n, err
				}
			},
		},
		{
			name:   "WriteKeepsBuffer",
			breaks: "the reader gets bytes from the writer's buffers, not copies of them",
			caught: "BufferNotRetained/Write",
			says:   "what follows a Write whose buffer changed after it returned",
			mutate: keepsBuffer,
		},
		{
			name:        "WriteKeepsBufferNoDeadlines",
			breaks:      "as WriteKeepsBuffer, on ends without deadlines",
			caught:      "BufferNotRetained/Write",
			says:        "what follows a Write whose buffer changed after it returned",
			noDeadlines: true,
			mutate:      keepsBuffer,
		},
		{
			name:   "ShortWriteWithoutError",
			breaks: "a Write of more than 4096 bytes writes 4096 of them and returns nil",
			caught: "RandomMegabyte",
			says:   "a Write that writes less than asked must return an error",
			mutate: func(m *mutantPipe) {
				m.write = func(p []byte) (int, error) {
					return m.w.Write(p[:min(len(p), 4096)])
				}
			},
		},
		{
			name:   "BigWriteLosesLastByte",
			breaks: "a Write of more than 32 KiB loses its last byte",
			caught: "RandomMegabyte",
			says:   "a megabyte written and read in random sizes",
			mutate: func(m *mutantPipe) {
				m.write = func(p []byte) (int, error) {
					if len(p) <= 32<<10 {
						return m.w.Write(p)
					}
					n, err := m.w.Write(p[:len(p)-1])
					if err == nil {
						n++
					}
					return n, err
				}
			},
		},
		{
			name:   "ReadFromDropsBytesWithEOF",
			breaks: "ReadFrom drops the bytes its source returns with io.EOF",
			caught: "ReadFromWriteTo",
			says:   "ReadFrom of 1048576 bytes returned 10",
			mutate: func(m *mutantPipe) {
				m.readFrom = func(src io.Reader) (int64, error) {
					buf := make([]byte, 32<<10)
					var total int64
					for {
						n, err := src.Read(buf)
						if err == io.EOF {
							return total, nil
						}
						k, werr := m.w.Write(buf[:n])
						total += int64(k)
						if werr != nil {
							return total, werr
						}
						if err != nil {
							return total, err
						}
					}
				}
			},
		},
		{
			name:   "WriteToCountsBeforeWriting",
			breaks: "WriteTo counts the bytes it read, not those its destination took",
			caught: "ReadFromWriteTo",
			says:   "WriteTo into a writer that took 1048575 bytes and refused the next returned 1048576",
			mutate: func(m *mutantPipe) {
				m.writeTo = func(dst io.Writer) (int64, error) {
					buf := make([]byte, 32<<10)
					var total int64
					for {
						n, err := m.r.Read(buf)
						total += int64(n)
						if _, werr := dst.Write(buf[:n]); werr != nil {
							return total, werr
						}
						if err == io.EOF {
							return total, nil
						}
						if err != nil {
							return total, err
						}
					}
				}
			},
		},
	}
}

// keepsBuffer makes the reader of m get the bytes of every Write from its
// buffer as it is when they are read.
func keepsBuffer(m *mutantPipe) {
	type kept struct {
		off int64
		buf []byte
	}
	var (
		mu      sync.Mutex
		bufs    []kept
		wOff    int64
		rOff    int64
		writeMu sync.Mutex // one Write at a time, so that offsets hold
	)
	m.write = func(p []byte) (int, error) {
		writeMu.Lock()
		defer writeMu.Unlock()
		mu.Lock()
		bufs = append(bufs, kept{wOff, p})
		mu.Unlock()
		n, err := m.w.Write(p)
		mu.Lock()
		wOff += int64(n)
		mu.Unlock()
		return n, err
	}
	m.read = func(p []byte) (int, error) {
		n, err := m.r.Read(p)
		mu.Lock()
		defer mu.Unlock()
		for i := range n {
			off := rOff + int64(i)
			for _, k := range bufs {
				if off >= k.off && off-k.off < int64(len(k.buf)) {
					p[i] = k.buf[off-k.off]
				}
			}
		}
		rOff += int64(n)
		return n, err
	}
}
