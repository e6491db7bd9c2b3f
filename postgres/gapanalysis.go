package postgres

import (
	"context"

	"github.com/engram-kb/engram"
	"github.com/engram-kb/engram/internal/rows"
	"github.com/jackc/pgx/v5"
)

// analysisDocuments is the set an analysis reads: live work documents that
// were classified or confirmed. Rejected, personal, spam and deleted
// documents never reach an analyzer.
const analysisDocuments = `tenant_id = $1 AND NOT is_deleted AND classification = 'work'
	AND status IN ('classified', 'confirmed')`

// CountAnalysisDocuments counts the documents an analysis reads.
func (s *Store) CountAnalysisDocuments(ctx context.Context, tenantID string) (int, error) {
	var n int
	err := s.read(ctx, func(c *pgxConn) error {
		return queryRow(ctx, c, "documents.analysis_count", `SELECT count(*) FROM documents WHERE `+analysisDocuments, []any{tenantID}, &n)
	})
	return n, err
}

// ListAnalysisDocuments reads one batch by keyset on the primary key.
func (s *Store) ListAnalysisDocuments(ctx context.Context, tenantID, afterID string, limit int) ([]engram.AnalysisDocument, error) {
	var out []engram.AnalysisDocument
	after := afterID
	if after == "" {
		after = "00000000-0000-0000-0000-000000000000"
	}
	err := s.read(ctx, func(c *pgxConn) error {
		rs, err := query(ctx, c, "documents.analysis_batch",
			`SELECT id::text, title, left(content, $2) FROM documents
			  WHERE `+analysisDocuments+` AND id > $3::uuid ORDER BY id LIMIT $4`,
			tenantID, engram.MaxAnalysisContent, after, limit)
		if err != nil {
			return err
		}
		defer rs.Close()
		for rs.Next() {
			var d engram.AnalysisDocument
			if err := rs.Scan(&d.ID, &d.Title, &d.Content); err != nil {
				return err
			}
			out = append(out, d)
		}
		return translate(rs.Err())
	})
	return out, err
}

// UpsertGapProposals writes a batch of proposals in at most four
// statements: the gaps (one INSERT … ON CONFLICT on the fingerprint, in
// fingerprint order so concurrent runs lock in the same order, returning
// the id of the new or the existing gap), the questions of the new ones,
// the document links of all, and the audit row. An existing gap is left
// as people made it; only its links grow.
func (s *Store) UpsertGapProposals(ctx context.Context, tenantID, actor string, ps []engram.PreparedProposal) (engram.ProposalOutcome, error) {
	var out engram.ProposalOutcome
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		now := ts(s.now())
		rs, err := query(ctx, tx, "gaps.upsert_proposals",
			`INSERT INTO knowledge_gaps (tenant_id, id, title, description, category, priority, context, fingerprint, created_at, updated_at)
			 SELECT $1, p.id, p.title, p.description, p.category, p.priority, p.context::jsonb, p.fingerprint, $2, $2
			   FROM json_to_recordset($3::json) AS p(id uuid, fingerprint text, title text, description text,
			        category text, priority smallint, context text)
			  ORDER BY p.fingerprint
			 ON CONFLICT (tenant_id, fingerprint) DO UPDATE SET fingerprint = excluded.fingerprint
			 RETURNING id::text, fingerprint`, tenantID, now, rows.ProposalsJSON(ps))
		if err != nil {
			return err
		}
		ids := map[string]string{}
		for rs.Next() {
			var id, fp string
			if err := rs.Scan(&id, &fp); err != nil {
				rs.Close()
				return err
			}
			ids[fp] = id
		}
		rs.Close()
		if err := rs.Err(); err != nil {
			return translate(err)
		}
		questions, links, nQuestions, o := rows.ProposalChildren(ps, ids)
		out = o
		if nQuestions > 0 {
			if _, err := exec(ctx, tx, "gap_questions.create",
				`INSERT INTO gap_questions (tenant_id, gap_id, position, text)
				 SELECT $1, q.gap_id, q.position, q.text
				   FROM json_to_recordset($2::json) AS q(gap_id uuid, position integer, text text)`,
				tenantID, questions); err != nil {
				return err
			}
		}
		// Documents are locked FOR KEY SHARE while linked: one deleted since
		// the batch was read is skipped, not a foreign-key error.
		if _, err := exec(ctx, tx, "gap_documents.link",
			`INSERT INTO gap_documents (tenant_id, gap_id, document_id)
			 SELECT d.tenant_id, l.gap_id, d.id
			   FROM json_to_recordset($2::json) AS l(gap_id uuid, document_id uuid)
			   JOIN documents d ON d.tenant_id = $1 AND d.id = l.document_id
			    FOR KEY SHARE OF d
			 ON CONFLICT DO NOTHING`, tenantID, links); err != nil {
			return err
		}
		return s.auditGap(ctx, tx, tenantID, actor, "gaps.analyze", len(out.Created)+len(out.Updated),
			map[string]any{"created": out.Created, "updated": out.Updated})
	})
	return out, err
}
