//go:build unix && !linux

package anonpipe

import "os"

// oPath is zero: O_PATH descriptors are Linux's.
const oPath = 0

// reopen returns nil: only Linux can open a pipe anew from its descriptor
// (elsewhere /dev/fd/N duplicates the descriptor, description and all), so
// the end adopts the descriptor in the mode it is in.
func reopen(int, bool) *os.File { return nil }
