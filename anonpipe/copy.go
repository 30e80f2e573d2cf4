package anonpipe

import "io"

// writerOnly hides a Writer's ReadFrom so that io.Copy uses its Write.
type writerOnly struct{ io.Writer }

func (r *Reader) writeTo(w io.Writer) (int64, error) {
	if pw, ok := w.(*Writer); ok {
		if pw.stdio {
			return r.f.WriteTo(writerOnly{pw})
		}
		return r.f.WriteTo(pw.f)
	}
	return r.f.WriteTo(w)
}

func (w *Writer) readFrom(src io.Reader) (int64, error) {
	if w.stdio {
		return io.Copy(writerOnly{w}, src)
	}
	if pr, ok := src.(*Reader); ok {
		return w.f.ReadFrom(pr.f)
	}
	return w.f.ReadFrom(src)
}
