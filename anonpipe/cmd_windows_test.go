package anonpipe_test

import (
	"io"
	"strconv"
	"testing"

	"github.com/matryer/is"
	"golang.org/x/sys/windows"
)

// TestChildEndsAreNotInheritableBeforeStart checks that ToChild and FromChild
// leave the child's ends non-inheritable, so that a process another part of
// the program creates with bInheritHandles=TRUE before Start inherits
// neither; Start makes them inheritable only while it creates the child,
// which still gets and uses both.
func TestChildEndsAreNotInheritableBeforeStart(t *testing.T) {
	is := is.New(t)
	c := child(t, "echo")
	w, wh, err := c.ToChild()
	is.NoErr(err) // attaching a pipe to the child
	r, rh, err := c.FromChild()
	is.NoErr(err) // attaching a pipe from the child
	for _, h := range []string{wh, rh} {
		v, err := strconv.ParseUint(h, 10, 64)
		is.NoErr(err) // the handle string is a decimal HANDLE
		flags, open := handleFlags(windows.Handle(v))
		is.True(open)                                   // the child's end is open in the parent before Start
		is.True(flags&windows.HANDLE_FLAG_INHERIT == 0) // and not inheritable
	}
	c.Args = append(c.Args, wh, rh)
	is.NoErr(c.Start()) // starting the child, which inherits its ends through the handle list
	_, err = io.WriteString(w, "both ways")
	is.NoErr(err)       // writing to the child
	is.NoErr(w.Close()) // EOF for the child
	got, err := io.ReadAll(r)
	is.NoErr(err)                      // reading the echo
	is.Equal(string(got), "both ways") // the child used both ends
	is.NoErr(c.Wait())                 // the child exits cleanly
}
