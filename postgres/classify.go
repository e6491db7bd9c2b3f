package postgres

import (
	"context"
	"encoding/json"
	"time"

	"github.com/engram-kb/engram"
	"github.com/engram-kb/engram/internal/rows"
	"github.com/jackc/pgx/v5"
)

// classifyContentPrefix bounds how much of each document the classifier
// reads: its rules look at the start of a text, and reading whole documents
// would make a 10,000-document run move gigabytes.
const classifyContentPrefix = 20000

// ClassifyDocuments reads and locks the selection (one statement),
// classifies it, stores every verdict in one UPDATE from a JSON parameter,
// and writes the audit row: three statements in one transaction. Pending
// selections skip rows another classify run holds, so two runs share the
// queue instead of doing the same work twice.
func (s *Store) ClassifyDocuments(ctx context.Context, tenantID, actor string, sel engram.ClassifySelection, classify engram.ClassifyFunc) (engram.ClassifyOutcome, error) {
	var out engram.ClassifyOutcome
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		const cols = `SELECT d.id::text, d.title, left(d.content, $1), d.sender, d.sender_email, d.source_type, d.metadata, d.user_confirmed`
		var rs pgx.Rows
		var err error
		if len(sel.IDs) > 0 {
			rs, err = query(ctx, tx, "documents.classify_read",
				cols+` FROM unnest($3::uuid[]) AS u(id) JOIN documents d ON d.tenant_id = $2 AND d.id = u.id
				 WHERE NOT d.is_deleted ORDER BY d.id FOR UPDATE OF d`,
				classifyContentPrefix, tenantID, sel.IDs)
		} else {
			rs, err = query(ctx, tx, "documents.classify_read",
				cols+` FROM documents d WHERE d.tenant_id = $2 AND d.status = 'pending' AND NOT d.is_deleted
				 ORDER BY d.created_at, d.id LIMIT $3 FOR UPDATE SKIP LOCKED`,
				classifyContentPrefix, tenantID, sel.Limit)
		}
		if err != nil {
			return err
		}
		inputs, found, skipped, err := scanClassifyInputs(rs)
		if err != nil {
			return err
		}
		notFound := []string{}
		if len(sel.IDs) > 0 {
			notFound = rows.NotFound(sel.IDs, found)
		}
		planned, err := engram.RunClassifier(ctx, classify, inputs, sel.AutoConfirmThreshold)
		if err != nil {
			return err
		}
		updated := map[string]bool{}
		if len(planned) > 0 {
			if updated, err = writeClassifications(ctx, tx, tenantID, planned, ts(s.now())); err != nil {
				return err
			}
		}
		out = engram.Summarize(planned, updated, notFound, skipped)
		return s.audit(ctx, tx, tenantID, actor, "documents.classify", out.Total,
			map[string]any{"ids": rows.SortedKeys(updated), "auto_confirmed": out.AutoConfirmed})
	})
	return out, err
}

func scanClassifyInputs(rs pgx.Rows) (inputs []engram.ClassifyInput, found map[string]bool, skipped []string, err error) {
	defer rs.Close()
	found = map[string]bool{}
	for rs.Next() {
		var in engram.ClassifyInput
		var meta []byte
		var confirmed bool
		if err := rs.Scan(&in.ID, &in.Title, &in.Content, &in.Sender, &in.SenderEmail, &in.SourceType, &meta, &confirmed); err != nil {
			return nil, nil, nil, err
		}
		found[in.ID] = true
		if confirmed {
			skipped = append(skipped, in.ID)
			continue
		}
		in.Metadata = meta
		inputs = append(inputs, in)
	}
	return inputs, found, skipped, translate(rs.Err())
}

// writeClassifications stores classifier verdicts in one UPDATE from a JSON
// parameter, never over a person's decision, and returns the ids written.
func writeClassifications(ctx context.Context, tx pgx.Tx, tenantID string, planned []engram.ClassifyRow, now time.Time) (map[string]bool, error) {
	b, _ := json.Marshal(planned)
	rs, err := query(ctx, tx, "documents.classify_write",
		`UPDATE documents d
		    SET classification = r.classification, classification_confidence = r.confidence,
		        classification_reason = r.reason, status = r.status, updated_at = $1
		   FROM json_to_recordset($2::json) AS r(id uuid, classification text, confidence double precision, reason text, status text)
		  WHERE d.tenant_id = $3 AND d.id = r.id AND NOT d.user_confirmed AND NOT d.is_deleted
		 RETURNING d.id::text`, now, string(b), tenantID)
	if err != nil {
		return nil, err
	}
	return collectIDs(rs)
}
