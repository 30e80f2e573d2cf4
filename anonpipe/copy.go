package anonpipe

import "io"

// writerOnly hides a Writer's ReadFrom so that io.Copy uses its Write.
type writerOnly struct{ io.Writer }

// readerOnly hides an *os.File's WriteTo so that io.Copy reads it with Read.
type readerOnly struct{ io.Reader }

// writeTo first lets the kernel move the bytes (spliceTo, Linux only); when
// it cannot, or stops part way for a reason that loses nothing (an
// unsupported file system, say), io.Copy goes on, reading our pipe with
// os.File.Read and writing to w through w's own methods. os.File.WriteTo
// would not do: where it copies in the kernel, it reports w's failures as
// its own file's, and w's errors must stay w's own (os/exec ignores only
// the exact error of its stdin pipe's Write, golang/go#9173). A Writer is
// written through its Write, which reports a broken pipe as ErrBrokenPipe
// and, on Windows, keeps the count exact (see fileCopyKeepsCount).
func (r *Reader) writeTo(w io.Writer) (int64, error) {
	pw, isWriter := w.(*Writer)
	if isWriter && !fileCopyKeepsCount {
		return io.Copy(writerOnly{pw}, readerOnly{r.f})
	}
	n, handled, err := r.spliceTo(w)
	if handled || err != nil {
		return n, err
	}
	if isWriter {
		w = writerOnly{pw}
	}
	m, err := io.Copy(w, readerOnly{r.f})
	return n + m, err
}

// readFrom is writeTo's counterpart: src's errors are its Read's, and ours
// are those of the Writer's Write, on whatever path the copy takes.
func (w *Writer) readFrom(src io.Reader) (int64, error) {
	if !fileCopyKeepsCount {
		return io.Copy(writerOnly{w}, src)
	}
	n, handled, err := w.spliceFrom(src)
	if handled || err != nil {
		return n, err
	}
	if pr, ok := src.(*Reader); ok {
		src = readerOnly{pr.f}
	}
	m, err := io.Copy(writerOnly{w}, src)
	return n + m, err
}
