package postgres

import (
	"github.com/engram-kb/engram"
	"github.com/jackc/pgx/v5"
)

// RawTx returns the pgx transaction under a driver transaction, so that a
// test can send a statement no driver method would (rls_test.go).
func RawTx(tx engram.Tx) pgx.Tx { return tx.(*txExecutor).tx }

// BeginQuery is beginQuery, for the test of what it writes.
var BeginQuery = beginQuery
