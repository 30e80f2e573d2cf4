package anonpipe

import "io"

// writerOnly hides a Writer's ReadFrom so that io.Copy uses its Write.
type writerOnly struct{ io.Writer }

// writeTo first lets the kernel move the bytes (spliceTo, Linux only); when
// it cannot, or stops part way for a reason that loses nothing (an
// unsupported file system, say), the copy goes on through os.File. Into a
// Writer whose bytes must go through its Write (on descriptor 1 or 2, or on
// Windows: see fileCopyKeepsCount), os.File only reads.
func (r *Reader) writeTo(w io.Writer) (int64, error) {
	pw, isWriter := w.(*Writer)
	if isWriter && (pw.stdio || !fileCopyKeepsCount) {
		return r.f.WriteTo(writerOnly{pw})
	}
	n, handled, err := r.spliceTo(w)
	if handled || err != nil {
		return n, err
	}
	var m int64
	if isWriter {
		m, err = r.f.WriteTo(pw.f)
	} else {
		m, err = r.f.WriteTo(w)
	}
	return n + m, err
}

// readFrom is writeTo's counterpart. A Writer on descriptor 1 or 2 keeps the
// path of its Write, which never raises SIGPIPE, and so does every Writer on
// Windows, whose Write keeps the count exact (see fileCopyKeepsCount).
func (w *Writer) readFrom(src io.Reader) (int64, error) {
	if w.stdio || !fileCopyKeepsCount {
		return io.Copy(writerOnly{w}, src)
	}
	n, handled, err := w.spliceFrom(src)
	if handled || err != nil {
		return n, err
	}
	var m int64
	if pr, ok := src.(*Reader); ok {
		m, err = w.f.ReadFrom(pr.f)
	} else {
		m, err = w.f.ReadFrom(src)
	}
	return n + m, err
}
