package sqlite

import (
	"context"
	"time"

	"github.com/engram-kb/engram"
	"github.com/engram-kb/engram/internal/rows"
)

// analysisDocuments is the set an analysis reads: live work documents that
// were classified or confirmed. Rejected, personal, spam and deleted
// documents never reach an analyzer.
const analysisDocuments = `tenant_id = ? AND is_deleted = 0 AND classification = 'work'
	AND status IN ('classified', 'confirmed')`

// AnalysisDocumentsCount counts the documents an analysis reads.
func (e *executor) AnalysisDocumentsCount(ctx context.Context, tenantID string) (int, error) {
	var n int
	err := queryRow(ctx, e.q, "documents.analysis_count",
		`SELECT count(*) FROM documents WHERE `+analysisDocuments, tenantID).Scan(&n)
	return n, translate(err)
}

// AnalysisDocumentsList reads one batch by keyset on the primary key.
func (e *executor) AnalysisDocumentsList(ctx context.Context, tenantID, afterID string, limit int) ([]engram.AnalysisDocument, error) {
	rs, err := query(ctx, e.q, "documents.analysis_batch",
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

// GapsUpsertProposals inserts the new proposals in one INSERT … ON
// CONFLICT on the fingerprint, which returns the id of the new or the
// existing gap.
func (e *executor) GapsUpsertProposals(ctx context.Context, tenantID string, ps []engram.PreparedProposal, at time.Time) (map[string]string, error) {
	rs, err := query(ctx, e.q, "gaps.upsert_proposals",
		`INSERT INTO knowledge_gaps (tenant_id, id, title, description, category, priority, context, fingerprint, created_at, updated_at)
		 SELECT ?1, p.value->>'id', p.value->>'title', p.value->>'description', p.value->>'category',
		        p.value->>'priority', p.value->>'context', p.value->>'fingerprint', ?2, ?2
		   FROM json_each(?3) AS p WHERE true
		 ON CONFLICT (tenant_id, fingerprint) DO UPDATE SET fingerprint = excluded.fingerprint
		 RETURNING id, fingerprint`, tenantID, fmtTime(at), rows.ProposalsJSON(ps))
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	ids := map[string]string{}
	for rs.Next() {
		var id, fp string
		if err := rs.Scan(&id, &fp); err != nil {
			return nil, err
		}
		ids[fp] = id
	}
	return ids, translate(rs.Err())
}

// GapLinksInsert adds the links whose document exists.
func (e *executor) GapLinksInsert(ctx context.Context, tenantID string, links []engram.GapLink) error {
	_, err := exec(ctx, e.q, "gap_documents.link",
		`INSERT INTO gap_documents (tenant_id, gap_id, document_id)
		 SELECT ?1, l.value->>'gap_id', l.value->>'document_id' FROM json_each(?2) AS l
		  WHERE EXISTS (SELECT 1 FROM documents d WHERE d.tenant_id = ?1 AND d.id = l.value->>'document_id')
		 ON CONFLICT DO NOTHING`, tenantID, rows.LinksJSON(links))
	return err
}
