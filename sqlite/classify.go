package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"

	"github.com/engram-kb/engram"
	"github.com/engram-kb/engram/internal/rows"
)

// classifyContentPrefix bounds how much of each document the classifier
// reads: its rules look at the start of a text, and reading whole documents
// would make a 10,000-document run move gigabytes.
const classifyContentPrefix = 20000

// ClassifyDocuments reads the selection (one statement), classifies it,
// stores every verdict in one UPDATE from a JSON parameter, and writes the
// audit row: three statements in one transaction.
func (s *Store) ClassifyDocuments(ctx context.Context, tenantID, actor string, sel engram.ClassifySelection, classify engram.ClassifyFunc) (engram.ClassifyOutcome, error) {
	var out engram.ClassifyOutcome
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var rs *countedRows
		var err error
		const cols = `SELECT id, title, substr(content, 1, ?), sender, sender_email, source_type, metadata, user_confirmed FROM documents`
		if len(sel.IDs) > 0 {
			rs, err = query(ctx, tx, "documents.classify_read",
				cols+` WHERE tenant_id = ? AND is_deleted = 0 AND `+idsIn,
				classifyContentPrefix, tenantID, rows.IDsJSON(sel.IDs))
		} else {
			rs, err = query(ctx, tx, "documents.classify_read",
				cols+` WHERE tenant_id = ? AND is_deleted = 0 AND status = 'pending'
				 ORDER BY created_at, id LIMIT ?`,
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
			if updated, err = s.writeClassifications(ctx, tx, tenantID, planned); err != nil {
				return err
			}
		}
		out = engram.Summarize(planned, updated, notFound, skipped)
		return s.audit(ctx, tx, tenantID, actor, "documents.classify", out.Total,
			map[string]any{"ids": rows.SortedKeys(updated), "auto_confirmed": out.AutoConfirmed})
	})
	return out, err
}

func scanClassifyInputs(rs *countedRows) (inputs []engram.ClassifyInput, found map[string]bool, skipped []string, err error) {
	defer rs.Close()
	found = map[string]bool{}
	for rs.Next() {
		var in engram.ClassifyInput
		var meta string
		var confirmed bool
		if err := rs.Scan(&in.ID, &in.Title, &in.Content, &in.Sender, &in.SenderEmail, &in.SourceType, &meta, &confirmed); err != nil {
			return nil, nil, nil, err
		}
		found[in.ID] = true
		if confirmed {
			skipped = append(skipped, in.ID)
			continue
		}
		in.Metadata = json.RawMessage(meta)
		inputs = append(inputs, in)
	}
	return inputs, found, skipped, translate(rs.Err())
}

// writeClassifications stores classifier verdicts in one UPDATE from a JSON
// parameter, never over a person's decision, and returns the ids written.
// MATERIALIZED makes SQLite scan the verdicts once and look each document
// up by primary key; without it the planner scans the JSON once per
// document, which is quadratic.
func (s *Store) writeClassifications(ctx context.Context, tx *sql.Tx, tenantID string, planned []engram.ClassifyRow) (map[string]bool, error) {
	b, _ := json.Marshal(planned)
	return updateReturningIDs(ctx, tx, "documents.classify_write",
		`WITH r AS MATERIALIZED (
				     SELECT value->>'id' AS id, value->>'classification' AS classification,
				            value->>'confidence' AS confidence, value->>'reason' AS reason,
				            value->>'status' AS status
				       FROM json_each(?2))
				 UPDATE documents
				    SET classification = r.classification,
				        classification_confidence = r.confidence,
				        classification_reason = r.reason,
				        status = r.status,
				        updated_at = ?1
				   FROM r
				  WHERE documents.tenant_id = ?3 AND documents.id = r.id
				    AND documents.user_confirmed = 0 AND documents.is_deleted = 0
				 RETURNING documents.id`, s.nowText(), string(b), tenantID)
}
