//go:build !linux

package anonpipe

import "io"

// spliceTo reports the copy unhandled: only Linux has splice(2).
func (r *Reader) spliceTo(io.Writer) (int64, bool, error) { return 0, false, nil }

// spliceFrom reports the copy unhandled: only Linux has splice(2).
func (w *Writer) spliceFrom(io.Reader) (int64, bool, error) { return 0, false, nil }
