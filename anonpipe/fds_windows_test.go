package anonpipe_test

// fdCount reports false: Windows has no cheap, reliable way to list a
// process's handles (Wine reports none), so leak checks by count are made
// on Unix only, and Windows relies on the behaviour checks beside them.
func fdCount() (int, bool) {
	return 0, false
}

// addPlatformChildren adds nothing: the Unix-only children list
// descriptors or use descriptor numbers that mean nothing on Windows.
func addPlatformChildren(map[string]func([]string) int) {}

func closeInheritedOnExec() {}
