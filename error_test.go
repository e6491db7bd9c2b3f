package engram

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

type pgLike struct{ msg string }

func (e pgLike) Error() string    { return e.msg }
func (e pgLike) SQLState() string { return "22P02" }

type sqliteLike struct{ msg string }

func (e sqliteLike) Error() string { return e.msg }
func (e sqliteLike) Code() int     { return 19 }

type plain struct{ msg string }

func (e plain) Error() string { return e.msg }

// TestLogTextDropsValues: what an internal error's log line says keeps
// the error's kind and drops its text, which can quote parameters.
func TestLogTextDropsValues(t *testing.T) {
	t.Parallel()
	secret := "Quarterly layoffs plan"
	cases := []struct {
		err  error
		want string
	}{
		{fmt.Errorf("insert: %w", pgLike{`invalid input syntax for type uuid: "` + secret + `"`}), "internal: sqlstate 22P02"},
		{fmt.Errorf("update: %w", sqliteLike{"CHECK constraint failed: " + secret}), "internal: result code 19"},
		{fmt.Errorf("read %s: %w", secret, plain{"closed pool"}), "internal: closed pool"},
		{fmt.Errorf("wait: %w", context.Canceled), "internal: context canceled"},
		{Errorf(EInvalid, "title: must not be empty"), "invalid_argument: title: must not be empty"},
		{nil, ""},
	}
	for _, c := range cases {
		got := LogText(c.err)
		if got != c.want {
			t.Errorf("LogText(%v) = %q, want %q", c.err, got, c.want)
		}
		if strings.Contains(got, secret) {
			t.Errorf("LogText(%v) carries the value", c.err)
		}
	}
}
