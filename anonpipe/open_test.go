package anonpipe_test

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/anonpipe/anonpipe/anonpipe"
	"github.com/matryer/is"
)

func TestOpenRefusesMalformedHandles(t *testing.T) {
	for _, tc := range []struct{ handle, reason string }{
		{"", "empty string"},
		{"abc", "not a decimal number"},
		{"-1", "not a decimal number"},
		{"+3", "not a decimal number"},
		{" 3", "not a decimal number"},
		{"3 ", "not a decimal number"},
		{"3\n", "not a decimal number"},
		{"0x3", "not a decimal number"},
		{"٣", "not a decimal number: '٣' is not a digit"},        // an Arabic-Indic digit three
		{"3\xff", `not a decimal number: '\xff' is not a digit`}, // a byte that is not UTF-8, shown as it is
		{"03", "leading zero"},
		{"99999999999999999999999", "out of range"},
		{"4294967296", "out of range"},
	} {
		for _, open := range []struct {
			name string
			f    func(string) error
		}{
			{"OpenReader", func(h string) error { _, err := anonpipe.OpenReader(h); return err }},
			{"OpenWriter", func(h string) error { _, err := anonpipe.OpenWriter(h); return err }},
		} {
			t.Run(open.name+"("+tc.handle+")", func(t *testing.T) {
				is := is.New(t)
				err := open.f(tc.handle)
				is.True(errors.Is(err, anonpipe.ErrInvalidHandle))               // a malformed handle is ErrInvalidHandle
				is.True(strings.Contains(err.Error(), strconv.Quote(tc.handle))) // the error quotes the handle
				is.True(strings.Contains(err.Error(), tc.reason))                // the error gives the reason
			})
		}
	}
}
