package sqlite

import (
	"context"
	"database/sql"
	"encoding/hex"
	"encoding/json"

	"github.com/engram-kb/engram"
)

// Vectors live in document_chunks (embedding, embedding_model): a
// changed chunk is inserted anew without one and a deleted one takes its
// vector along, in the writing transaction, so no vector outlives its
// text. A vector search reads the tenant's vectors of one model through
// the index of migration 00028 and scores them exactly (see
// docs/SEARCH.md: sqlite-vec's vec0 is not used yet).

// pendingModel is the condition of a chunk c not embedded by ?2, in a
// form the index (tenant_id, embedding_model) serves.
const pendingModel = `(c.embedding_model IS NULL OR c.embedding_model < ?2 OR c.embedding_model > ?2)`

// EmbedPending reads up to limit chunks not embedded by model.
func (e *executor) EmbedPending(ctx context.Context, tenantID, model string, limit int) ([]engram.PendingChunk, error) {
	rs, err := query(ctx, e.q, "embed.pending",
		`SELECT c.document_id, c.chunk_index, c.content FROM document_chunks c
		  WHERE c.tenant_id = ?1 AND `+pendingModel+` LIMIT ?3`, tenantID, model, limit)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	var out []engram.PendingChunk
	for rs.Next() {
		var p engram.PendingChunk
		if err := rs.Scan(&p.DocumentID, &p.ChunkIndex, &p.Content); err != nil {
			return nil, translate(err)
		}
		out = append(out, p)
	}
	return out, translate(rs.Err())
}

// embedRow is a vector as EmbedWrite's JSON parameter carries it.
type embedRow struct {
	engram.ChunkKey
	Content string `json:"content"`
	Vector  string `json:"vector"`
}

// EmbedWrite stores vectors whose chunks still hold the text embedded.
func (e *executor) EmbedWrite(ctx context.Context, tenantID, model string, vs []engram.ChunkEmbedding) (int, error) {
	rows := make([]embedRow, len(vs))
	for i, v := range vs {
		rows[i] = embedRow{ChunkKey: v.ChunkKey, Content: v.Content, Vector: hex.EncodeToString(v.Vector)}
	}
	b, err := json.Marshal(rows)
	if err != nil {
		return 0, err
	}
	res, err := exec(ctx, e.q, "embed.write",
		`UPDATE document_chunks AS c SET embedding = unhex(v.vector), embedding_model = ?2
		   FROM (SELECT value ->> 'document_id' AS document_id, value ->> 'chunk_index' AS chunk_index,
		                value ->> 'content' AS content, value ->> 'vector' AS vector FROM json_each(?3)) AS v
		  WHERE c.tenant_id = ?1 AND c.document_id = v.document_id AND c.chunk_index = v.chunk_index
		    AND c.content = v.content AND `+pendingModel, tenantID, model, string(b))
	if err != nil {
		return 0, err
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// EmbedDue lists active tenants with a chunk not embedded by model.
func (e *executor) EmbedDue(ctx context.Context, model string, limit int) ([]string, error) {
	rs, err := query(ctx, e.q, "embed.due",
		`SELECT t.id FROM tenants t
		  WHERE t.is_active AND EXISTS (SELECT 1 FROM document_chunks c WHERE c.tenant_id = t.id AND `+pendingModel+`)
		  ORDER BY t.id LIMIT ?1`, limit, model)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	var out []string
	for rs.Next() {
		var id string
		if err := rs.Scan(&id); err != nil {
			return nil, translate(err)
		}
		out = append(out, id)
	}
	return out, translate(rs.Err())
}

// EmbedCounts counts the tenant's chunks and those embedded by model.
func (e *executor) EmbedCounts(ctx context.Context, tenantID, model string) (engram.EmbedStatus, error) {
	st := engram.EmbedStatus{Model: model}
	err := queryRow(ctx, e.q, "embed.counts",
		`SELECT (SELECT count(*) FROM document_chunks WHERE tenant_id = ?1),
		        (SELECT count(*) FROM document_chunks WHERE tenant_id = ?1 AND embedding_model = ?2)`,
		tenantID, model).Scan(&st.Chunks, &st.Embedded)
	return st, translate(err)
}

// VectorScan reads the vectors of the tenant's chunks of live documents
// that pass the filter.
func (e *executor) VectorScan(ctx context.Context, tenantID, model string, f engram.SearchFilter, fn func(engram.ChunkKey, []byte)) error {
	var class, status any
	if f.Classification != nil {
		class = string(*f.Classification)
	}
	if f.Status != nil {
		status = string(*f.Status)
	}
	rs, err := query(ctx, e.q, "search.vector_scan",
		`SELECT c.document_id, c.chunk_index, c.embedding
		   FROM document_chunks c
		   JOIN documents d ON d.tenant_id = c.tenant_id AND d.id = c.document_id
		  WHERE c.tenant_id = ?1 AND c.embedding_model = ?2 AND NOT d.is_deleted
		    AND (CASE WHEN ?3 IS NULL THEN d.classification <> 'spam' ELSE d.classification = ?3 END)
		    AND (CASE WHEN ?4 IS NULL THEN d.status <> 'rejected' ELSE d.status = ?4 END)
		    AND (?5 IS NULL OR d.source_type = ?5)
		    AND (?6 IS NULL OR d.connector_id = ?6)
		    AND (?7 IS NULL OR d.sender_email = ?7)
		    AND (?8 IS NULL OR d.created_at >= ?8)
		    AND (?9 IS NULL OR d.created_at < ?9)`,
		tenantID, model, class, status, f.SourceType, f.ConnectorID, f.SenderEmail, fmtTimePtr(f.CreatedAfter), fmtTimePtr(f.CreatedBefore))
	if err != nil {
		return err
	}
	defer rs.Close()
	var k engram.ChunkKey
	var v []byte
	for rs.Next() {
		if err := rs.Scan(&k.DocumentID, &k.ChunkIndex, &v); err != nil {
			return translate(err)
		}
		fn(k, v)
	}
	return translate(rs.Err())
}

// SearchHitsRead reads the hits of chunks of live documents.
func (e *executor) SearchHitsRead(ctx context.Context, tenantID string, keys []engram.ChunkKey) ([]engram.SearchHit, error) {
	b, err := json.Marshal(keys)
	if err != nil {
		return nil, err
	}
	rs, err := query(ctx, e.q, "search.hits",
		`SELECT d.id, coalesce(d.external_id, ''), d.title, d.source_type, d.classification, d.status, d.created_at, d.source_created_at,
		        c.chunk_index, c.content
		   FROM json_each(?2) k
		   JOIN document_chunks c ON c.tenant_id = ?1 AND c.document_id = k.value ->> 'document_id' AND c.chunk_index = k.value ->> 'chunk_index'
		   JOIN documents d ON d.tenant_id = ?1 AND d.id = c.document_id
		  WHERE NOT d.is_deleted`, tenantID, string(b))
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
			&h.ChunkIndex, &h.ChunkContent); err != nil {
			return nil, translate(err)
		}
		h.Classification, h.Status = engram.Classification(class), engram.DocumentStatus(status)
		h.CreatedAt = parseTime(created)
		h.SourceCreatedAt = parseTimePtr(srcCreated)
		out = append(out, h)
	}
	return out, translate(rs.Err())
}
