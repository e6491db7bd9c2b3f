package sqlite

import (
	"context"
	"database/sql"

	"github.com/engram-kb/engram"
	"github.com/engram-kb/engram/internal/rows"
)

// analysisDocuments is the set an analysis reads: live work documents that
// were classified or confirmed. Rejected, personal, spam and deleted
// documents never reach an analyzer.
const analysisDocuments = `tenant_id = ? AND is_deleted = 0 AND classification = 'work'
	AND status IN ('classified', 'confirmed')`

// CountAnalysisDocuments counts the documents an analysis reads.
func (s *Store) CountAnalysisDocuments(ctx context.Context, tenantID string) (int, error) {
	var n int
	err := queryRow(ctx, s.read, "documents.analysis_count",
		`SELECT count(*) FROM documents WHERE `+analysisDocuments, tenantID).Scan(&n)
	return n, translate(err)
}

// ListAnalysisDocuments reads one batch by keyset on the primary key.
func (s *Store) ListAnalysisDocuments(ctx context.Context, tenantID, afterID string, limit int) ([]engram.AnalysisDocument, error) {
	rs, err := query(ctx, s.read, "documents.analysis_batch",
		`SELECT id, title, substr(content, 1, ?) FROM documents
		  WHERE `+analysisDocuments+` AND id > ? ORDER BY id LIMIT ?`,
		engram.MaxAnalysisContent, tenantID, afterID, limit)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	var out []engram.AnalysisDocument
	for rs.Next() {
		var d engram.AnalysisDocument
		if err := rs.Scan(&d.ID, &d.Title, &d.Content); err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, translate(rs.Err())
}

// UpsertGapProposals writes a batch of proposals in at most four
// statements: the gaps (one INSERT … ON CONFLICT on the fingerprint, which
// returns the id of the new or the existing gap), the questions of the new
// ones, the document links of all, and the audit row. An existing gap is
// left as people made it; only its links grow.
func (s *Store) UpsertGapProposals(ctx context.Context, tenantID, actor string, ps []engram.PreparedProposal) (engram.ProposalOutcome, error) {
	var out engram.ProposalOutcome
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		now := s.nowText()
		rs, err := query(ctx, tx, "gaps.upsert_proposals",
			`INSERT INTO knowledge_gaps (tenant_id, id, title, description, category, priority, context, fingerprint, created_at, updated_at)
			 SELECT ?1, p.value->>'id', p.value->>'title', p.value->>'description', p.value->>'category',
			        p.value->>'priority', p.value->>'context', p.value->>'fingerprint', ?2, ?2
			   FROM json_each(?3) AS p WHERE true
			 ON CONFLICT (tenant_id, fingerprint) DO UPDATE SET fingerprint = excluded.fingerprint
			 RETURNING id, fingerprint`, tenantID, now, rows.ProposalsJSON(ps))
		if err != nil {
			return err
		}
		ids, err := scanPairs(rs)
		if err != nil {
			return err
		}
		questions, links, nQuestions, o := rows.ProposalChildren(ps, ids)
		out = o
		if nQuestions > 0 {
			if _, err := exec(ctx, tx, "gap_questions.create",
				`INSERT INTO gap_questions (tenant_id, gap_id, position, text)
				 SELECT ?, q.value->>'gap_id', q.value->>'position', q.value->>'text' FROM json_each(?) AS q`,
				tenantID, questions); err != nil {
				return err
			}
		}
		// A document deleted since the batch was read is skipped, not an
		// error: the gap stands on its other documents.
		if _, err := exec(ctx, tx, "gap_documents.link",
			`INSERT INTO gap_documents (tenant_id, gap_id, document_id)
			 SELECT ?1, l.value->>'gap_id', l.value->>'document_id' FROM json_each(?2) AS l
			  WHERE EXISTS (SELECT 1 FROM documents d WHERE d.tenant_id = ?1 AND d.id = l.value->>'document_id')
			 ON CONFLICT DO NOTHING`, tenantID, links); err != nil {
			return err
		}
		return s.auditGap(ctx, tx, tenantID, actor, "gaps.analyze", len(out.Created)+len(out.Updated),
			map[string]any{"created": out.Created, "updated": out.Updated})
	})
	return out, err
}

// scanPairs reads (id, fingerprint) rows into a map from fingerprint to id.
func scanPairs(rs *countedRows) (map[string]string, error) {
	defer rs.Close()
	m := map[string]string{}
	for rs.Next() {
		var id, fp string
		if err := rs.Scan(&id, &fp); err != nil {
			return nil, err
		}
		m[fp] = id
	}
	return m, translate(rs.Err())
}
