// Package capture records the statements a store sends under a context,
// with their arguments, for diagnostics such as the tests that EXPLAIN
// every statement. Requests never carry a capture.
package capture

import (
	"context"
	"sync"
)

// Statement is one SQL statement a store sent: its operation name, text
// and arguments.
type Statement struct {
	Op   string
	SQL  string
	Args []any
}

// Capture collects the statements sent under one context.
type Capture struct {
	mu    sync.Mutex
	stmts []Statement
}

// Statements returns what was captured so far.
func (c *Capture) Statements() []Statement {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Statement(nil), c.stmts...)
}

type captureKey struct{}

// With returns a context under which the stores record every statement
// they send into the returned Capture.
func With(ctx context.Context) (context.Context, *Capture) {
	c := &Capture{}
	return context.WithValue(ctx, captureKey{}, c), c
}

// Record adds a statement to the capture ctx carries, if any.
func Record(ctx context.Context, op, sql string, args []any) {
	if c, ok := ctx.Value(captureKey{}).(*Capture); ok {
		c.mu.Lock()
		c.stmts = append(c.stmts, Statement{Op: op, SQL: sql, Args: append([]any(nil), args...)})
		c.mu.Unlock()
	}
}
