package anonpipe_test

import (
	"errors"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/anonpipe/anonpipe/anonpipe"
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

// TestStartRefusesChangedInheritedHandles undoes, after ToChild and
// FromChild, what they set in SysProcAttr to pass the child its ends; Start
// must refuse, name the handle, and close every end.
func TestStartRefusesChangedInheritedHandles(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(c *anonpipe.Cmd)
		want   string // what the error says changed
	}{
		{"entry removed", func(c *anonpipe.Cmd) {
			c.SysProcAttr.AdditionalInheritedHandles = c.SysProcAttr.AdditionalInheritedHandles[1:]
		}, "is no longer in SysProcAttr.AdditionalInheritedHandles"},
		{"SysProcAttr replaced", func(c *anonpipe.Cmd) {
			c.SysProcAttr = &syscall.SysProcAttr{HideWindow: true}
		}, "is no longer in SysProcAttr.AdditionalInheritedHandles"},
		{"SysProcAttr removed", func(c *anonpipe.Cmd) {
			c.SysProcAttr = nil
		}, "is no longer in SysProcAttr.AdditionalInheritedHandles"},
		{"NoInheritHandles set", func(c *anonpipe.Cmd) {
			c.SysProcAttr.NoInheritHandles = true
		}, "SysProcAttr.NoInheritHandles"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			is := is.New(t)
			c := child(t, "exit")
			w, wh, err := c.ToChild()
			is.NoErr(err) // attaching a pipe to the child
			r, _, err := c.FromChild()
			is.NoErr(err) // attaching a pipe from the child
			tc.change(c)

			err = c.Start()
			is.True(err != nil)                                       // Start refuses
			is.True(strings.Contains(err.Error(), strconv.Quote(wh))) // naming the handle
			is.True(strings.Contains(err.Error(), tc.want))           // and what changed
			is.True(c.Process == nil)                                 // and starts nothing
			_, err = w.Write([]byte("x"))
			is.True(errors.Is(err, os.ErrClosed)) // the failed Start closed the parent's write end
			_, err = r.Read(make([]byte, 1))
			is.True(errors.Is(err, os.ErrClosed)) // and its read end
			is.NoErr(c.Close())                   // Close has nothing left to do
		})
	}
}
