package anonpipe

import "io"

// writerOnly hides a Writer's ReadFrom so that io.Copy uses its Write.
type writerOnly struct{ io.Writer }

// readerOnly hides an *os.File's WriteTo so that io.Copy reads it with Read.
type readerOnly struct{ io.Reader }

// WriteTo copies from the pipe to w until EOF, for io.Copy, and returns the
// bytes copied and the first error other than io.EOF. On Linux the bytes
// move inside the kernel when w is a [Writer], an *os.File, io.Discard, a
// *net.TCPConn or a *net.UnixConn; a type of the caller's that embeds one
// of these is written through its own Write. r's deadline and Close apply
// as to a Read, and w's deadline as to a Write on w. An error of w is
// exactly what w.Write would return.
func (r *Reader) WriteTo(w io.Writer) (int64, error) {
	// The kernel moves what it can (spliceTo); when it cannot, or stops
	// part way without losing anything, io.Copy does the rest through w's
	// own methods. Not os.File.WriteTo, which reports w's failures as its
	// own file's: w's errors must stay w's own, since os/exec ignores only
	// the exact error of its stdin pipe's Write (golang/go#9173). A Writer
	// is written through its Write, which reports ErrBrokenPipe.
	n, handled, err := r.spliceTo(w)
	if handled || err != nil {
		return n, err
	}
	if pw, ok := w.(*Writer); ok {
		w = writerOnly{pw}
	}
	m, err := io.Copy(w, r.plain())
	return n + m, err
}

// plain is r read as a plain io.Reader, without WriteTo and WithBusyPoll,
// through its endIO if it has one.
func (r *Reader) plain() io.Reader {
	if r.io != nil {
		return readerOnly{r.io}
	}
	return readerOnly{r.f}
}

// ReadFrom copies from src into the pipe until io.EOF, for io.Copy, and
// returns the bytes copied and the first error other than io.EOF. On Linux
// the bytes move inside the kernel when src is a [Reader], an *os.File, a
// *net.TCPConn or a *net.UnixConn, or an io.LimitedReader of one; a type of
// the caller's that embeds one of these is read through its own Read. w's
// deadline and Close apply as to a Write, and src's deadline as to a Read
// on src. An error of src is exactly what src.Read would return.
func (w *Writer) ReadFrom(src io.Reader) (int64, error) {
	// As in WriteTo: src's errors are its Read's, ours our Write's.
	n, handled, err := w.spliceFrom(src)
	if handled || err != nil {
		return n, err
	}
	if pr, ok := src.(*Reader); ok {
		src = pr.plain()
	}
	m, err := io.Copy(writerOnly{w}, src)
	return n + m, err
}
