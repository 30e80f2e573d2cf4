//go:build !race

package anonpipe_test

const raceEnabled = false
