package anonpipe_test

import "testing"

// startSocketpairChild skips: Windows has no socketpair to hand a child.
func startSocketpairChild(b *testing.B, _, _ []string) (duplex, func() error) {
	b.Skip("no socketpair on Windows")
	return nil, nil
}
