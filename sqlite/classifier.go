package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"

	"github.com/engram-kb/engram"
)

// ClassifierModelInsert stores the tenant's next model version in one
// INSERT … SELECT: the version is one more than the newest, read in the
// same statement (the one writer serialises two trainings).
func (e *executor) ClassifierModelInsert(ctx context.Context, tenantID string, m engram.ClassifierModel) (int, error) {
	var v int
	err := queryRow(ctx, e.q, "classifier.model_insert",
		`INSERT INTO classifier_models (tenant_id, version, created_at, created_by, training_size, classes, figures, model)
		 SELECT ?1, coalesce(max(version), 0) + 1, ?2, nullif(?3, ''), ?4, ?5, ?6, ?7
		   FROM classifier_models WHERE tenant_id = ?1
		 RETURNING version`,
		tenantID, fmtTime(m.CreatedAt), m.CreatedBy, m.TrainingSize, string(m.Classes), string(m.Figures), m.Data).Scan(&v)
	return v, translate(err)
}

// ClassifierModelLatest reads the tenant's newest model by its primary key.
func (e *executor) ClassifierModelLatest(ctx context.Context, tenantID string, withData bool) (*engram.ClassifierModel, error) {
	var m engram.ClassifierModel
	var at, classes, figures string
	var by sql.NullString
	err := queryRow(ctx, e.q, "classifier.model_latest",
		`SELECT version, created_at, created_by, training_size, classes, figures, CASE WHEN ?2 THEN model END
		   FROM classifier_models WHERE tenant_id = ?1 ORDER BY version DESC LIMIT 1`,
		tenantID, withData).Scan(&m.Version, &at, &by, &m.TrainingSize, &classes, &figures, &m.Data)
	if isNoRows(err) {
		return nil, nil
	}
	if err != nil {
		return nil, translate(err)
	}
	m.CreatedAt, m.CreatedBy = parseTime(at), by.String
	m.Classes, m.Figures = json.RawMessage(classes), json.RawMessage(figures)
	return &m, nil
}

// decidedWhere is what makes a document a person's decision.
const decidedWhere = `tenant_id = ?1 AND is_deleted = 0 AND user_confirmed = 1 AND status <> 'rejected'
	AND classification IN ('work', 'personal', 'spam')`

// DecisionsRead reads a page of decisions in id order.
func (e *executor) DecisionsRead(ctx context.Context, tenantID, after string, limit int) ([]engram.Decision, error) {
	rs, err := query(ctx, e.q, "classifier.decisions_read",
		`SELECT id, title, substr(content, 1, ?4), sender, sender_email, source_type, metadata, classification
		   FROM documents WHERE `+decidedWhere+` AND id > ?2 ORDER BY id LIMIT ?3`,
		tenantID, after, limit, engram.ClassifyContentPrefix)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	var out []engram.Decision
	for rs.Next() {
		var d engram.Decision
		var meta string
		if err := rs.Scan(&d.ID, &d.Title, &d.Content, &d.Sender, &d.SenderEmail, &d.SourceType, &meta, &d.Classification); err != nil {
			return nil, err
		}
		d.Metadata = json.RawMessage(meta)
		out = append(out, d)
	}
	return out, translate(rs.Err())
}

// DecisionCount counts the tenant's decisions.
func (e *executor) DecisionCount(ctx context.Context, tenantID string) (int, error) {
	var n int
	err := queryRow(ctx, e.q, "classifier.decision_count", `SELECT count(*) FROM documents WHERE `+decidedWhere, tenantID).Scan(&n)
	return n, translate(err)
}

// ClassifierDue lists tenants with enough new decisions, across tenants.
func (e *executor) ClassifierDue(ctx context.Context, minNew, limit int) ([]string, error) {
	rs, err := query(ctx, e.q, "classifier.due",
		`SELECT d.tenant_id FROM (
		     SELECT tenant_id, count(*) AS n FROM documents
		      WHERE is_deleted = 0 AND user_confirmed = 1 AND status <> 'rejected'
		        AND classification IN ('work', 'personal', 'spam')
		      GROUP BY tenant_id) d
		   JOIN tenants t ON t.id = d.tenant_id AND t.is_active = 1
		   LEFT JOIN (SELECT tenant_id, max(version) AS v FROM classifier_models GROUP BY tenant_id) lv ON lv.tenant_id = d.tenant_id
		   LEFT JOIN classifier_models m ON m.tenant_id = lv.tenant_id AND m.version = lv.v
		  WHERE d.n >= CASE WHEN m.version IS NULL THEN 2 * ?1
		                    ELSE m.training_size + max(?1, m.training_size / 10) END
		  ORDER BY d.tenant_id LIMIT ?2`, minNew, limit)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	var out []string
	for rs.Next() {
		var id string
		if err := rs.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, translate(rs.Err())
}
