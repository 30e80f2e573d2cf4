package exampletest

import (
	"testing"

	"github.com/matryer/is"
)

func TestRaceEnviron(t *testing.T) {
	is := is.New(t)
	is.Equal(raceEnviron([]string{"A=1"}), []string{"A=1", "GORACE=atexit_sleep_ms=0"}) // GORACE is added
	is.Equal(raceEnviron([]string{"GORACE=halt_on_error=1 log_path=/tmp/r", "A=1"}),
		[]string{"A=1", "GORACE=halt_on_error=1 log_path=/tmp/r atexit_sleep_ms=0"}) // a user's GORACE options are kept
	is.Equal(raceEnviron([]string{"GORACE=atexit_sleep_ms=5"}), []string{"GORACE=atexit_sleep_ms=5"}) // and an atexit_sleep_ms already set
}
