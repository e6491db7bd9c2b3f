package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"strings"

	"github.com/engram-kb/engram"
)

// tenantWord is the one word of a chunk's tenant column (migration
// 00017).
func tenantWord(tenantID string) string { return "t" + strings.ReplaceAll(tenantID, "-", "") }

// ftsQuery writes q as an FTS5 MATCH expression over the tenant's
// chunks. Every word and phrase is
// an FTS5 string ("…"); words are letters and digits only
// (textsearch.Parse), so no query text can reach FTS5's operators or
// column filters.
func ftsQuery(tenantID string, q engram.SearchQuery) string {
	term := func(t engram.SearchTerm) string {
		return `"` + strings.ReplaceAll(strings.Join(t, " "), `"`, "") + `"`
	}
	clauses := make([]string, len(q.All))
	for i, c := range q.All {
		alts := make([]string, len(c))
		for j, t := range c {
			alts[j] = term(t)
		}
		clauses[i] = "(" + strings.Join(alts, " OR ") + ")"
	}
	m := `tenant : "` + tenantWord(tenantID) + `" AND {title body} : (` + strings.Join(clauses, " OR ") + ")"
	if len(q.Not) > 0 {
		nots := make([]string, len(q.Not))
		for i, t := range q.Not {
			nots[i] = term(t)
		}
		m += " NOT {title body} : (" + strings.Join(nots, " OR ") + ")"
	}
	return m
}

// SearchLexical ranks the tenant's matching chunks by FTS5's bm25() with
// the title column weighted, keeps the best engram.SearchCandidates, and
// checks the filters (and the tenant again) on those: one statement.
func (e *executor) SearchLexical(ctx context.Context, tenantID string, r engram.SearchRequest) ([]engram.SearchHit, error) {
	f := r.Filter
	var class, status any
	if f.Classification != nil {
		class = string(*f.Classification)
	}
	if f.Status != nil {
		status = string(*f.Status)
	}
	rs, err := query(ctx, e.q, "search.lexical",
		`WITH top AS (
		     SELECT rowid AS id, -bm25(chunk_search, 0.0, ?1, 1.0) AS score
		       FROM chunk_search WHERE chunk_search MATCH ?2
		      ORDER BY score DESC LIMIT ?14),
		 m AS (
		     SELECT c.document_id, c.chunk_index, top.score
		       FROM top
		       JOIN document_chunks c ON c.id = top.id
		       JOIN documents d ON d.tenant_id = c.tenant_id AND d.id = c.document_id
		      WHERE c.tenant_id = ?3 AND NOT d.is_deleted
		        AND (CASE WHEN ?4 IS NULL THEN d.classification <> 'spam' ELSE d.classification = ?4 END)
		        AND (CASE WHEN ?5 IS NULL THEN d.status <> 'rejected' ELSE d.status = ?5 END)
		        AND (?6 IS NULL OR d.source_type = ?6)
		        AND (?7 IS NULL OR d.connector_id = ?7)
		        AND (?8 IS NULL OR d.sender_email = ?8)
		        AND (?9 IS NULL OR d.created_at >= ?9)
		        AND (?10 IS NULL OR d.created_at < ?10)),
		 ranked AS (
		     SELECT m.*, row_number() OVER (PARTITION BY m.document_id ORDER BY m.score DESC, m.chunk_index) AS rn FROM m)
		 SELECT d.id, coalesce(d.external_id, ''), d.title, d.source_type, d.classification, d.status, d.created_at, d.source_created_at,
		        r.chunk_index, ch.content, r.score
		   FROM ranked r
		   JOIN documents d ON d.tenant_id = ?3 AND d.id = r.document_id
		   JOIN document_chunks ch ON ch.tenant_id = ?3 AND ch.document_id = r.document_id AND ch.chunk_index = r.chunk_index
		  WHERE ?11 OR r.rn = 1
		  ORDER BY r.score DESC, r.document_id, r.chunk_index
		  LIMIT ?12 OFFSET ?13`,
		r.TitleWeight, ftsQuery(tenantID, r.Finder()), tenantID, class, status, f.SourceType, f.ConnectorID, f.SenderEmail,
		fmtTimePtr(f.CreatedAfter), fmtTimePtr(f.CreatedBefore), r.Chunks, r.Limit, r.Offset, engram.SearchCandidates)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	var out []engram.SearchHit
	for rs.Next() {
		var h engram.SearchHit
		var class, status, created string
		var srcCreated sql.NullString
		if err := rs.Scan(&h.DocumentID, &h.ExternalID, &h.Title, &h.SourceType, &class, &status, &created, &srcCreated,
			&h.ChunkIndex, &h.ChunkContent, &h.Score); err != nil {
			return nil, translate(err)
		}
		h.Classification, h.Status = engram.Classification(class), engram.DocumentStatus(status)
		h.CreatedAt = parseTime(created)
		h.SourceCreatedAt = parseTimePtr(srcCreated)
		out = append(out, h)
	}
	return out, translate(rs.Err())
}

// SearchWordChunks counts each word's chunks of the tenant in the FTS5
// index, stopping at limit: one statement. FTS5 keeps no count per word
// and tenant, and its file-wide one (fts5vocab) reads the word's whole
// list, so a count here costs at most limit rows.
func (e *executor) SearchWordChunks(ctx context.Context, tenantID string, words []string, limit int) (map[string]int, error) {
	list, err := json.Marshal(words)
	if err != nil {
		return nil, err
	}
	rs, err := query(ctx, e.q, "search.word_chunks",
		`SELECT w.value, (SELECT count(*) FROM (
		         SELECT 1 FROM chunk_search
		          WHERE chunk_search MATCH 'tenant : "' || ?1 || '" AND {title body} : "' || replace(w.value, '"', '') || '"'
		          LIMIT ?3))
		   FROM json_each(?2) w`, tenantWord(tenantID), string(list), limit)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	out := make(map[string]int, len(words))
	for rs.Next() {
		var w string
		var n int
		if err := rs.Scan(&w, &n); err != nil {
			return nil, translate(err)
		}
		out[w] = n
	}
	return out, translate(rs.Err())
}

// SearchReindex finds the last of the next documents and writes the
// index entries of the chunks of the documents up to it again from the
// chunks and titles (REPLACE: an entry that is there is overwritten):
// two statements.
func (e *executor) SearchReindex(ctx context.Context, tenantID, after string, limit int) (string, int, error) {
	var last sql.NullString
	if err := queryRow(ctx, e.q, "search.reindex_next",
		`SELECT max(id) FROM (SELECT id FROM documents WHERE tenant_id = ?1 AND id > ?2 ORDER BY id LIMIT ?3)`,
		tenantID, after, limit).Scan(&last); err != nil {
		return "", 0, translate(err)
	}
	if !last.Valid {
		return "", 0, nil
	}
	res, err := exec(ctx, e.q, "search.reindex_write",
		`INSERT OR REPLACE INTO chunk_search (rowid, tenant, title, body)
		 SELECT c.id, 't' || replace(c.tenant_id, '-', ''), d.title, c.content
		   FROM document_chunks c JOIN documents d ON d.tenant_id = c.tenant_id AND d.id = c.document_id
		  WHERE c.tenant_id = ?1 AND c.document_id > ?2 AND c.document_id <= ?3`, tenantID, after, last.String)
	if err != nil {
		return "", 0, err
	}
	n, _ := res.RowsAffected()
	return last.String, int(n), nil
}
