//go:build !unix && !windows

package anonpipe

const handleBits = 64

func checkHandle(string, bool) error { return errUnsupported }
