package postgres

import (
	"context"
	"time"

	"github.com/engram-kb/engram"
	"github.com/engram-kb/engram/internal/rows"
)

// analysisDocuments is the set an analysis reads: live work documents that
// were classified or confirmed. Rejected, personal, spam and deleted
// documents never reach an analyzer.
const analysisDocuments = `tenant_id = $1 AND NOT is_deleted AND classification = 'work'
	AND status IN ('classified', 'confirmed')`

// AnalysisDocumentsCount counts the documents an analysis reads.
func (e *executor) AnalysisDocumentsCount(ctx context.Context, tenantID string) (int, error) {
	var n int
	err := e.run(ctx, tenantID, func(q querier) error {
		return queryRow(ctx, q, "documents.analysis_count", `SELECT count(*) FROM documents WHERE `+analysisDocuments, []any{tenantID}, &n)
	})
	return n, err
}

// AnalysisDocumentsList reads one batch by keyset on the primary key.
func (e *executor) AnalysisDocumentsList(ctx context.Context, tenantID, afterID string, limit int) ([]engram.AnalysisDocument, error) {
	var out []engram.AnalysisDocument
	after := afterID
	if after == "" {
		after = "00000000-0000-0000-0000-000000000000"
	}
	err := e.run(ctx, tenantID, func(q querier) error {
		rs, err := query(ctx, q, "documents.analysis_batch",
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

// GapsUpsertProposals inserts the new proposals in one INSERT … ON
// CONFLICT on the fingerprint, in fingerprint order so concurrent runs
// lock in the same order, returning the id of the new or the existing
// gap.
func (e *executor) GapsUpsertProposals(ctx context.Context, tenantID string, ps []engram.PreparedProposal, at time.Time) (map[string]string, error) {
	ids := map[string]string{}
	err := e.run(ctx, tenantID, func(q querier) error {
		rs, err := query(ctx, q, "gaps.upsert_proposals",
			`INSERT INTO knowledge_gaps (tenant_id, id, title, description, category, priority, context, fingerprint, created_at, updated_at)
			 SELECT $1, p.id, p.title, p.description, p.category, p.priority, p.context::jsonb, p.fingerprint, $2, $2
			   FROM json_to_recordset($3::json) AS p(id uuid, fingerprint text, title text, description text,
			        category text, priority smallint, context text)
			  ORDER BY p.fingerprint
			 ON CONFLICT (tenant_id, fingerprint) DO UPDATE SET fingerprint = excluded.fingerprint
			 RETURNING id::text, fingerprint`, tenantID, ts(at), rows.ProposalsJSON(ps))
		if err != nil {
			return err
		}
		defer rs.Close()
		for rs.Next() {
			var id, fp string
			if err := rs.Scan(&id, &fp); err != nil {
				return err
			}
			ids[fp] = id
		}
		return translate(rs.Err())
	})
	return ids, err
}

// GapLinksInsert adds the links whose document exists, key-share locking
// the documents while it does, so one deleted meanwhile is skipped rather
// than a foreign-key error.
func (e *executor) GapLinksInsert(ctx context.Context, tenantID string, links []engram.GapLink) error {
	return e.run(ctx, tenantID, func(q querier) error {
		_, err := exec(ctx, q, "gap_documents.link",
			`INSERT INTO gap_documents (tenant_id, gap_id, document_id)
			 SELECT d.tenant_id, l.gap_id, d.id
			   FROM json_to_recordset($2::json) AS l(gap_id uuid, document_id uuid)
			   JOIN documents d ON d.tenant_id = $1 AND d.id = l.document_id
			    FOR KEY SHARE OF d
			 ON CONFLICT DO NOTHING`, tenantID, rows.LinksJSON(links))
		return err
	})
}
