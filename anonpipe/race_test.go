//go:build race

package anonpipe_test

// raceEnabled shortens loops whose every turn starts a child: a child built
// with the race detector takes about 100 ms to start.
const raceEnabled = true
