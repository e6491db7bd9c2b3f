package rows

import "github.com/engram-kb/engram"

// DocumentStatsRow is the row both engines' document stats statements
// return: the total, a count per status (in the order of
// engram.DocumentStatuses), a count per class (engram.Classifications),
// the documents needing review, the average confidence (NULL when none)
// and the deleted documents.
type DocumentStatsRow struct {
	st       engram.DocumentStats
	byStatus []int
	byClass  []int
}

// NewDocumentStatsRow returns a row ready to scan.
func NewDocumentStatsRow() *DocumentStatsRow {
	return &DocumentStatsRow{st: engram.NewDocumentStats(),
		byStatus: make([]int, len(engram.DocumentStatuses)), byClass: make([]int, len(engram.Classifications))}
}

// Dest returns the scan destinations in column order.
func (r *DocumentStatsRow) Dest() []any {
	dest := []any{&r.st.Total}
	for i := range r.byStatus {
		dest = append(dest, &r.byStatus[i])
	}
	for i := range r.byClass {
		dest = append(dest, &r.byClass[i])
	}
	return append(dest, &r.st.NeedsReview, &r.st.AverageConfidence, &r.st.Deleted)
}

// Stats returns the scanned stats.
func (r *DocumentStatsRow) Stats() engram.DocumentStats {
	r.st.Fill(r.byStatus, r.byClass)
	return r.st
}

// GapStatsRow is the row both engines' gap stats statements return: a
// count per status (in the order of engram.GapStatuses), a count per
// category (engram.GapCategories), then the answers, the verified answers
// and the useful and not useful feedback.
type GapStatsRow struct {
	byStatus, byCategory                 []int
	answers, verified, useful, notUseful int
}

// NewGapStatsRow returns a row ready to scan.
func NewGapStatsRow() *GapStatsRow {
	return &GapStatsRow{byStatus: make([]int, len(engram.GapStatuses)), byCategory: make([]int, len(engram.GapCategories))}
}

// Dest returns the scan destinations in column order.
func (r *GapStatsRow) Dest() []any {
	var dest []any
	for i := range r.byStatus {
		dest = append(dest, &r.byStatus[i])
	}
	for i := range r.byCategory {
		dest = append(dest, &r.byCategory[i])
	}
	return append(dest, &r.answers, &r.verified, &r.useful, &r.notUseful)
}

// Stats returns the scanned stats.
func (r *GapStatsRow) Stats() engram.GapStats {
	return engram.FillGapStats(r.byStatus, r.byCategory, r.answers, r.verified, r.useful, r.notUseful)
}
