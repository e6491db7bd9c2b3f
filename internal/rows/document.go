package rows

import (
	"time"

	"github.com/engram-kb/engram"
)

// DocumentTerm names one condition of a document list's filter. Each
// engine keeps the SQL of every term; the terms decide which of them a
// list uses, in which order, and with which value.
type DocumentTerm int

// The terms, in the order the list statements name them.
const (
	TermStatus DocumentTerm = iota
	TermClassification
	TermNeedsReview // no value: classified and not confirmed
	TermSourceType
	TermConnectorID
	TermCreatedAfter  // time.Time
	TermCreatedBefore // time.Time
)

// DocumentCond is one term of a filter with its value (nil for a term
// that takes none). Time values are time.Time; the engine formats them.
type DocumentCond struct {
	Term  DocumentTerm
	Value any
}

// DocumentConds returns the conditions of f beyond the tenant and the
// live-document ones every list has.
func DocumentConds(f engram.DocumentFilter) []DocumentCond {
	var out []DocumentCond
	add := func(t DocumentTerm, v any) { out = append(out, DocumentCond{t, v}) }
	if f.Status != nil {
		add(TermStatus, string(*f.Status))
	}
	if f.Classification != nil {
		add(TermClassification, string(*f.Classification))
	}
	if f.NeedsReview {
		add(TermNeedsReview, nil)
	}
	if f.SourceType != nil {
		add(TermSourceType, *f.SourceType)
	}
	if f.ConnectorID != nil {
		add(TermConnectorID, *f.ConnectorID)
	}
	if f.CreatedAfter != nil {
		add(TermCreatedAfter, *f.CreatedAfter)
	}
	if f.CreatedBefore != nil {
		add(TermCreatedBefore, *f.CreatedBefore)
	}
	return out
}

// Keyset is how a page starts after its cursor. NULL sorts as the smallest
// value on both engines: first ascending, last descending.
type Keyset int

// The keyset comparisons. Each is a row comparison where the cursor has a
// value, which both engines turn into an index range starting at the
// cursor (an OR of column comparisons is a filter over every row before).
const (
	KeysetNone         Keyset = iota // no cursor
	KeysetAfter                      // (col, id) > (value, id)
	KeysetAfterNull                  // ascending from a NULL: the rest of the NULLs, then every value
	KeysetBeforeOrNull               // descending, nullable column: (col, id) < (value, id), then the NULLs
	KeysetBefore                     // (col, id) < (value, id)
	KeysetBeforeNull                 // descending within the NULLs: col IS NULL AND id < id
)

// DocumentListPlan is a document list decided once for both engines: its
// filter, its order and where its page starts. Each engine renders it
// into its own SQL.
type DocumentListPlan struct {
	Conds []DocumentCond
	Sort  engram.DocumentSort
	Desc  bool
	// Keyset compares with CursorValue (time.Time, float64 or string by
	// the sort column; nil from a NULL) and CursorID.
	Keyset      Keyset
	CursorValue any
	CursorID    string
}

// PlanDocumentList decides the list f asks for. It returns invalid_argument
// for an unknown sort key.
func PlanDocumentList(f engram.DocumentFilter) (DocumentListPlan, error) {
	if !f.Sort.Valid() {
		return DocumentListPlan{}, engram.Errorf(engram.EInvalid, "sort: %q is not a sort key", f.Sort)
	}
	p := DocumentListPlan{Conds: DocumentConds(f), Sort: f.Sort, Desc: f.Desc}
	c := f.Cursor
	if c == nil {
		return p, nil
	}
	p.CursorID = c.ID
	if c.Value != nil {
		switch f.Sort {
		case engram.SortCreatedAt, engram.SortSourceCreatedAt:
			p.CursorValue = c.TimeValue()
		case engram.SortConfidence:
			p.CursorValue = c.FloatValue()
		default:
			p.CursorValue = *c.Value
		}
	}
	switch {
	case !f.Desc && c.Value != nil:
		p.Keyset = KeysetAfter
	case !f.Desc:
		p.Keyset = KeysetAfterNull
	case c.Value != nil && f.Sort.Nullable():
		p.Keyset = KeysetBeforeOrNull
	case c.Value != nil:
		p.Keyset = KeysetBefore
	default:
		p.Keyset = KeysetBeforeNull
	}
	return p, nil
}

// TimeParam returns v with a time.Time made a parameter by format, for
// the conditions whose values may be times.
func TimeParam[T any](v any, format func(time.Time) T) any {
	if t, ok := v.(time.Time); ok {
		return format(t)
	}
	return v
}

// FinishDocument sets the fields of a scanned document that both engines
// convert the same way: its enums and its recipients.
func FinishDocument(d *engram.Document, status, class string, recipients []byte) error {
	d.Status = engram.DocumentStatus(status)
	d.Classification = engram.Classification(class)
	var err error
	d.Recipients, err = DecodeRecipients(d.ID, recipients)
	return err
}

// Found turns a one-row read into found or not: no row (as noRows tells)
// is not found, any other error is returned as translate makes it.
func Found[T any](v T, err error, noRows func(error) bool, translate func(error) error) (T, bool, error) {
	var zero T
	if noRows(err) {
		return zero, false, nil
	}
	if err != nil {
		return zero, false, translate(err)
	}
	return v, true, nil
}

// Scanner is a row being read: *sql.Row, *sql.Rows, pgx.Row and pgx.Rows
// all are.
type Scanner interface{ Scan(dest ...any) error }

// Rows is a result being read row by row, as both drivers' rows are.
type Rows interface {
	Scanner
	Next() bool
	Err() error
}

// Collect scans every row of rs with scan; it returns an empty slice, not
// nil, for no rows. Errors are returned as the driver gave them.
func Collect[T any](rs Rows, scan func(Scanner) (T, error)) ([]T, error) {
	out := []T{}
	for rs.Next() {
		v, err := scan(rs)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rs.Err()
}
