package postgres

import (
	"context"
	"encoding/json"

	"github.com/engram-kb/engram"
)

// ClassifierModelInsert stores the tenant's next model version in one
// INSERT … SELECT: the version is one more than the newest. Two trainings
// storing at once collide on the primary key: the second is a conflict.
func (e *executor) ClassifierModelInsert(ctx context.Context, tenantID string, m engram.ClassifierModel) (int, error) {
	var v int
	err := e.run(ctx, tenantID, func(q querier) error {
		return queryRow(ctx, q, "classifier.model_insert",
			`INSERT INTO classifier_models (tenant_id, version, created_at, created_by, training_size, classes, figures, model)
			 SELECT $1, coalesce(max(version), 0) + 1, $2, nullif($3, ''), $4, $5, $6, $7
			   FROM classifier_models WHERE tenant_id = $1
			 RETURNING version`,
			[]any{tenantID, ts(m.CreatedAt), m.CreatedBy, m.TrainingSize, string(m.Classes), string(m.Figures), m.Data}, &v)
	})
	return v, err
}

// ClassifierModelLatest reads the tenant's newest model by its primary key.
func (e *executor) ClassifierModelLatest(ctx context.Context, tenantID string, withData bool) (*engram.ClassifierModel, error) {
	var m engram.ClassifierModel
	var by *string
	var classes, figures []byte
	err := e.run(ctx, tenantID, func(q querier) error {
		return queryRow(ctx, q, "classifier.model_latest",
			`SELECT version, created_at, created_by, training_size, classes, figures, CASE WHEN $2 THEN model END
			   FROM classifier_models WHERE tenant_id = $1 ORDER BY version DESC LIMIT 1`,
			[]any{tenantID, withData}, &m.Version, &m.CreatedAt, &by, &m.TrainingSize, &classes, &figures, &m.Data)
	})
	if isNoRows(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	m.CreatedAt = m.CreatedAt.UTC()
	if by != nil {
		m.CreatedBy = *by
	}
	m.Classes, m.Figures = json.RawMessage(classes), json.RawMessage(figures)
	return &m, nil
}

// decidedWhere is what makes a document a person's decision.
const decidedWhere = `tenant_id = $1 AND NOT is_deleted AND user_confirmed AND status <> 'rejected'
	AND classification IN ('work', 'personal', 'spam')`

// DecisionsRead reads a page of decisions in id order.
func (e *executor) DecisionsRead(ctx context.Context, tenantID, after string, limit int) ([]engram.Decision, error) {
	var out []engram.Decision
	if after == "" {
		after = "00000000-0000-0000-0000-000000000000"
	}
	err := e.run(ctx, tenantID, func(q querier) error {
		rs, err := query(ctx, q, "classifier.decisions_read",
			`SELECT id::text, title, left(content, $4), sender, sender_email, source_type, metadata, classification
			   FROM documents WHERE `+decidedWhere+` AND id > $2::uuid ORDER BY id LIMIT $3`,
			tenantID, after, limit, engram.ClassifyContentPrefix)
		if err != nil {
			return err
		}
		defer rs.Close()
		for rs.Next() {
			var d engram.Decision
			var meta []byte
			if err := rs.Scan(&d.ID, &d.Title, &d.Content, &d.Sender, &d.SenderEmail, &d.SourceType, &meta, &d.Classification); err != nil {
				return translate(err)
			}
			d.Metadata = meta
			out = append(out, d)
		}
		return translate(rs.Err())
	})
	return out, err
}

// DecisionCount counts the tenant's decisions.
func (e *executor) DecisionCount(ctx context.Context, tenantID string) (int, error) {
	var n int
	err := e.run(ctx, tenantID, func(q querier) error {
		return queryRow(ctx, q, "classifier.decision_count", `SELECT count(*) FROM documents WHERE `+decidedWhere, []any{tenantID}, &n)
	})
	return n, err
}

// ClassifierDue lists tenants with enough new decisions, across tenants.
func (e *executor) ClassifierDue(ctx context.Context, minNew, limit int) ([]string, error) {
	var out []string
	err := e.run(ctx, "", func(q querier) error {
		rs, err := query(ctx, q, "classifier.due",
			`SELECT d.tenant_id::text FROM (
			     SELECT tenant_id, count(*) AS n FROM documents
			      WHERE NOT is_deleted AND user_confirmed AND status <> 'rejected'
			        AND classification IN ('work', 'personal', 'spam')
			      GROUP BY tenant_id) d
			   JOIN tenants t ON t.id = d.tenant_id AND t.is_active
			   LEFT JOIN LATERAL (SELECT m.training_size FROM classifier_models m
			                       WHERE m.tenant_id = d.tenant_id ORDER BY m.version DESC LIMIT 1) m ON true
			  WHERE d.n >= CASE WHEN m.training_size IS NULL THEN 2 * $1::int
			                    ELSE m.training_size + greatest($1::int, m.training_size / 10) END
			  ORDER BY d.tenant_id LIMIT $2`, minNew, limit)
		if err != nil {
			return err
		}
		defer rs.Close()
		for rs.Next() {
			var id string
			if err := rs.Scan(&id); err != nil {
				return translate(err)
			}
			out = append(out, id)
		}
		return translate(rs.Err())
	})
	return out, err
}
