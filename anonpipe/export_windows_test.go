package anonpipe

// PipeForChild makes a pipe as Cmd.ToChild (childReads) or Cmd.FromChild
// does, and returns both of its ends in this process, the child's end
// synchronous, as OpenReader or OpenWriter gets it in a child.
func PipeForChild(childReads bool) (*Reader, *Writer, error) {
	return makePipe(config{childReads: childReads, childWrites: !childReads})
}
