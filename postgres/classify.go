package postgres

import (
	"context"
	"encoding/json"
	"time"

	"github.com/engram-kb/engram"
	"github.com/jackc/pgx/v5"
)

const classifyContentPrefix = engram.ClassifyContentPrefix

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
