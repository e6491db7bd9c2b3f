package postgres

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/engram-kb/engram"
	"github.com/engram-kb/engram/internal/textsearch"
)

// BM25's parameters, the customary ones (and SQLite FTS5's, which cannot
// be changed there), so that both engines rank alike.
const (
	bm25K1 = 1.2
	bm25B  = 0.75
)

// searchChunk is a chunk row with its search columns: the words of its
// document's title and of its text as engram splits and folds them, for
// to_tsvector('simple', …) (no stemming: docs/SEARCH.md), and their numbers.
type searchChunk struct {
	DocumentID string `json:"document_id"`
	Index      int    `json:"chunk_index"`
	Content    string `json:"content"`
	TokenCount int    `json:"token_count"`
	TitleWords string `json:"title_words"`
	BodyWords  string `json:"body_words"`
	TitleLen   int    `json:"title_len"`
	Len        int    `json:"len"`
}

// searchChunksJSON returns the chunks of docs with their search columns.
func searchChunksJSON(docs []engram.PreparedDocument) ([]byte, error) {
	var out []searchChunk
	for _, d := range docs {
		title, titleLen := textsearch.Normalize(d.Title)
		for _, c := range d.Chunks {
			body, n := textsearch.Normalize(c.Content)
			out = append(out, searchChunk{DocumentID: d.ID, Index: c.Index, Content: c.Content, TokenCount: c.TokenCount,
				TitleWords: title, BodyWords: body, TitleLen: titleLen, Len: titleLen + n})
		}
	}
	return json.Marshal(out)
}

// searchVector is the tsvector of a searchChunk record c: the title's
// words weighted A, the text's D.
const searchVector = `setweight(to_tsvector('simple', c.title_words), 'A') || to_tsvector('simple', c.body_words)`

// insertChunks writes chunks with their search columns from one JSON
// parameter: one statement. The statement-level triggers of migration
// 00017 add their words to the tenant's term statistics.
func insertChunks(ctx context.Context, tx querier, tenantID string, chunksJSON []byte) error {
	_, err := exec(ctx, tx, "chunks.create",
		`INSERT INTO document_chunks (tenant_id, document_id, chunk_index, content, token_count, search, search_len, search_title_len)
		 SELECT $1, c.document_id, c.chunk_index, c.content, c.token_count, `+searchVector+`, c.len, c.title_len
		   FROM json_to_recordset($2::json) AS c(document_id uuid, chunk_index integer, content text, token_count integer,
		        title_words text, body_words text, title_len integer, len integer)`,
		tenantID, string(chunksJSON))
	return err
}

// tsQuery writes q as to_tsquery text. Words are letters and digits only
// (textsearch.Parse) and each is quoted besides, so no query text can
// reach tsquery's operators.
func tsQuery(q engram.SearchQuery) string {
	term := func(t engram.SearchTerm) string {
		parts := make([]string, len(t))
		for i, w := range t {
			parts[i] = "'" + strings.ReplaceAll(strings.ReplaceAll(w, `\`, ""), "'", "") + "'"
		}
		return "(" + strings.Join(parts, " <-> ") + ")"
	}
	var all []string
	for _, clause := range q.All {
		alts := make([]string, len(clause))
		for i, t := range clause {
			alts[i] = term(t)
		}
		all = append(all, "("+strings.Join(alts, " | ")+")")
	}
	m := "(" + strings.Join(all, " | ") + ")"
	for _, t := range q.Not {
		m += " & !" + term(t)
	}
	return m
}

// SearchLexical finds the chunks matching the query through the GIN
// index (search_match, migration 00036: row security would keep a
// tenant's statement from using it), keeps the engram.SearchCandidates best by ts_rank (which has no
// inverse document frequency), and ranks those by BM25 with the tenant's
// term statistics from search_terms: one statement.
func (e *executor) SearchLexical(ctx context.Context, tenantID string, r engram.SearchRequest) ([]engram.SearchHit, error) {
	f := r.Filter
	var out []engram.SearchHit
	err := e.run(ctx, tenantID, func(q querier) error {
		rs, err := query(ctx, q, "search.lexical",
			`WITH q AS (
			     SELECT to_tsquery('simple', $2) AS tsq,
			            coalesce((SELECT array_agg(DISTINCT u.lexeme) FROM unnest(to_tsvector('simple', $3)) u), '{}') AS terms),
			 cand AS (
			     SELECT c.document_id, c.chunk_index, c.search, c.search_len
			       FROM q, search_match(q.tsq, 10 * $11) m
			       JOIN document_chunks c ON c.tenant_id = $1 AND c.document_id = m.document_id AND c.chunk_index = m.chunk_index
			       JOIN documents d ON d.tenant_id = c.tenant_id AND d.id = c.document_id
			      WHERE NOT d.is_deleted
			        AND (CASE WHEN $4::text IS NULL THEN d.classification <> 'spam' ELSE d.classification = $4 END)
			        AND (CASE WHEN $5::text IS NULL THEN d.status <> 'rejected' ELSE d.status = $5 END)
			        AND ($6::text IS NULL OR d.source_type = $6)
			        AND ($7::uuid IS NULL OR d.connector_id = $7)
			        AND ($8::text IS NULL OR d.sender_email = $8)
			        AND ($9::timestamptz IS NULL OR d.created_at >= $9)
			        AND ($10::timestamptz IS NULL OR d.created_at < $10)
			      ORDER BY ts_rank(c.search, q.tsq) DESC, c.document_id, c.chunk_index
			      LIMIT $11),
			 totals AS (
			     SELECT greatest(coalesce(sum(df), 0), 1)::float8 AS n,
			            greatest(coalesce(sum(len), 0), 1)::float8 / greatest(coalesce(sum(df), 0), 1) AS avgdl
			       FROM search_terms WHERE tenant_id = $1 AND term = ''),
			 idf AS (
			     SELECT s.term, greatest(ln((t.n - sum(s.df) + 0.5) / (sum(s.df) + 0.5)), 1e-6) AS idf
			       FROM q, totals t, search_terms s
			      WHERE s.tenant_id = $1 AND s.term = ANY(q.terms)
			      GROUP BY s.term, t.n),
			 scored AS (
			     SELECT c.document_id, c.chunk_index,
			            sum(i.idf * (f.tf * `+ftoa(bm25K1+1)+`) / (f.tf + `+ftoa(bm25K1)+` * (1 - `+ftoa(bm25B)+` + `+ftoa(bm25B)+` * c.search_len / t.avgdl))) AS score
			       FROM cand c CROSS JOIN totals t
			      CROSS JOIN LATERAL unnest(c.search) u
			       JOIN idf i ON i.term = u.lexeme
			      CROSS JOIN LATERAL (SELECT $12 * coalesce(cardinality(array_positions(u.weights, 'A')), 0)
			                                 + cardinality(u.weights) - coalesce(cardinality(array_positions(u.weights, 'A')), 0) AS tf) f
			      GROUP BY c.document_id, c.chunk_index),
			 ranked AS (
			     SELECT s.*, row_number() OVER (PARTITION BY s.document_id ORDER BY s.score DESC, s.chunk_index) AS rn
			       FROM scored s)
			 SELECT d.id::text, coalesce(d.external_id, ''), d.title, d.source_type, d.classification, d.status, d.created_at, d.source_created_at,
			        r.chunk_index, ch.content, r.score
			   FROM ranked r
			   JOIN documents d ON d.tenant_id = $1 AND d.id = r.document_id
			   JOIN document_chunks ch ON ch.tenant_id = $1 AND ch.document_id = r.document_id AND ch.chunk_index = r.chunk_index
			  WHERE $13 OR r.rn = 1
			  ORDER BY r.score DESC, r.document_id, r.chunk_index
			  LIMIT $14 OFFSET $15`,
			tenantID, tsQuery(r.Finder()), strings.Join(r.Query.Words(), " "),
			f.Classification, f.Status, f.SourceType, f.ConnectorID, f.SenderEmail,
			tsPtr(f.CreatedAfter), tsPtr(f.CreatedBefore), engram.SearchCandidates,
			r.TitleWeight, r.Chunks, r.Limit, r.Offset)
		if err != nil {
			return err
		}
		defer rs.Close()
		for rs.Next() {
			var h engram.SearchHit
			var class, status string
			if err := rs.Scan(&h.DocumentID, &h.ExternalID, &h.Title, &h.SourceType, &class, &status, &h.CreatedAt, &h.SourceCreatedAt,
				&h.ChunkIndex, &h.ChunkContent, &h.Score); err != nil {
				return translate(err)
			}
			h.Classification, h.Status = engram.Classification(class), engram.DocumentStatus(status)
			inUTC(&h.CreatedAt, h.SourceCreatedAt)
			out = append(out, h)
		}
		return translate(rs.Err())
	})
	return out, err
}

// SearchWordChunks sums each word's chunk counts in the tenant's term
// statistics (the compacted row and the deltas since): one statement.
func (e *executor) SearchWordChunks(ctx context.Context, tenantID string, words []string, limit int) (map[string]int, error) {
	out := make(map[string]int, len(words))
	err := e.run(ctx, tenantID, func(q querier) error {
		rs, err := query(ctx, q, "search.word_chunks",
			`SELECT term, least(sum(df), $3)::int FROM search_terms WHERE tenant_id = $1 AND term = ANY($2) GROUP BY term`,
			tenantID, words, limit)
		if err != nil {
			return err
		}
		defer rs.Close()
		for rs.Next() {
			var w string
			var n int
			if err := rs.Scan(&w, &n); err != nil {
				return translate(err)
			}
			out[w] = n
		}
		return translate(rs.Err())
	})
	return out, err
}

// SearchReindex reads the chunks of the next documents with their
// titles, and rewrites their search columns from engram's word
// splitting: two statements.
func (e *executor) SearchReindex(ctx context.Context, tenantID, after string, limit int) (string, int, error) {
	var docs []engram.PreparedDocument
	err := e.run(ctx, tenantID, func(q querier) error {
		rs, err := query(ctx, q, "search.reindex_read",
			`WITH d AS (SELECT id, title FROM documents WHERE tenant_id = $1 AND id > $2::uuid ORDER BY id LIMIT $3)
			 SELECT d.id::text, d.title, c.chunk_index, c.content, c.token_count
			   FROM d LEFT JOIN document_chunks c ON c.tenant_id = $1 AND c.document_id = d.id
			  ORDER BY d.id, c.chunk_index`, tenantID, after, limit)
		if err != nil {
			return err
		}
		defer rs.Close()
		for rs.Next() {
			var id, title string
			var idx, tokens *int
			var content *string
			if err := rs.Scan(&id, &title, &idx, &content, &tokens); err != nil {
				return translate(err)
			}
			if len(docs) == 0 || docs[len(docs)-1].ID != id {
				docs = append(docs, engram.PreparedDocument{ID: id, NewDocument: engram.NewDocument{Title: title}})
			}
			if idx != nil {
				d := &docs[len(docs)-1]
				d.Chunks = append(d.Chunks, engram.Chunk{Index: *idx, Content: *content, TokenCount: *tokens})
			}
		}
		return translate(rs.Err())
	})
	if err != nil || len(docs) == 0 {
		return "", 0, err
	}
	b, err := searchChunksJSON(docs)
	if err != nil {
		return "", 0, err
	}
	var n int64
	err = e.run(ctx, tenantID, func(q querier) error {
		tag, err := exec(ctx, q, "search.reindex_write",
			`UPDATE document_chunks t SET search = `+searchVector+`, search_len = c.len, search_title_len = c.title_len
			   FROM json_to_recordset($2::json) AS c(document_id uuid, chunk_index integer, title_words text, body_words text,
			        title_len integer, len integer)
			  WHERE t.tenant_id = $1 AND t.document_id = c.document_id AND t.chunk_index = c.chunk_index`,
			tenantID, string(b))
		n = tag.RowsAffected()
		return err
	})
	return docs[len(docs)-1].ID, int(n), err
}

// tsPtr is ts for an optional time: nil stays nil.
func tsPtr(t *time.Time) any {
	if t == nil {
		return nil
	}
	return ts(*t)
}

// ftoa writes a constant of the ranking formula into its SQL text.
func ftoa(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
