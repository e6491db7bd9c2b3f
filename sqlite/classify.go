package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"

	"github.com/engram-kb/engram"
)

const classifyContentPrefix = engram.ClassifyContentPrefix

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
