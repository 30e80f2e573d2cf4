//go:build unix && !linux

package anonpipe_test

import "testing"

func platformWrongDescriptors(*testing.T) []wrongDescriptor { return nil }

func platformFuzzSlots(*testing.F) []fuzzSlot { return nil }
