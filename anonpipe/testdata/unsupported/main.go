// Command unsupported checks, on a system anonpipe does not support (CI runs
// it as js/wasm under Node.js), that every constructor fails with an error
// matching errors.ErrUnsupported instead of panicking or pretending.
package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/anonpipe/anonpipe/anonpipe"
)

func main() {
	failed := false
	check := func(what string, err error) {
		if !errors.Is(err, errors.ErrUnsupported) {
			fmt.Printf("FAIL: %s: %v does not match errors.ErrUnsupported\n", what, err)
			failed = true
			return
		}
		fmt.Printf("ok: %s: %v\n", what, err)
	}
	_, _, err := anonpipe.Pipe()
	check("Pipe", err)
	_, err = anonpipe.OpenReader("3")
	check("OpenReader", err)
	_, err = anonpipe.OpenWriter("4")
	check("OpenWriter", err)
	_, _, err = anonpipe.Command("child").ToChild()
	check("Cmd.ToChild", err)
	_, _, err = anonpipe.Command("child").FromChild()
	check("Cmd.FromChild", err)
	_, _, err = anonpipe.ConnPipe()
	check("ConnPipe", err)
	_, err = anonpipe.OpenConn("3,4")
	check("OpenConn", err)
	_, _, err = anonpipe.Command("child").Conn()
	check("Cmd.Conn", err)
	check("Cmd.Start", anonpipe.Command("child").Start())
	if failed {
		os.Exit(1)
	}
}
