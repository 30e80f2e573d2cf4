//go:build !linux

package anonpipe

import (
	"os"
	"time"
)

// busyPoller is never made here: WithBusyPoll has no effect.
type busyPoller struct{}

func newBusyPoller(*os.File, time.Duration) *busyPoller { return nil }

func (*busyPoller) read([]byte) (int, error) { panic("unreachable") }
