package postgres

import (
	"context"
	"encoding/base64"
	"encoding/json"

	"github.com/engram-kb/engram"
)

// Vectors live in document_chunks (embedding bytea, embedding_model): a
// changed chunk is inserted anew without one and a deleted one takes its
// vector along, in the writing transaction. A vector search is an exact
// nearest-neighbour scan without extensions: the database reads the
// tenant's vectors of one model through the index of migration 00028
// (filtered by live documents and the search's filters) and engram
// scores them; docs/SEARCH.md has the measurements that chose this over
// a dot product in SQL, and the tenant size it serves under 200 ms.

// pendingModel is the condition of a chunk c not embedded by $2, in a
// form the index (tenant_id, embedding_model) serves.
const pendingModel = `(c.embedding_model IS NULL OR c.embedding_model < $2 OR c.embedding_model > $2)`

// EmbedPending reads up to limit chunks not embedded by model.
func (e *executor) EmbedPending(ctx context.Context, tenantID, model string, limit int) ([]engram.PendingChunk, error) {
	var out []engram.PendingChunk
	err := e.run(ctx, tenantID, func(q querier) error {
		rs, err := query(ctx, q, "embed.pending",
			`SELECT c.document_id::text, c.chunk_index, c.content FROM document_chunks c
			  WHERE c.tenant_id = $1 AND `+pendingModel+` LIMIT $3`, tenantID, model, limit)
		if err != nil {
			return err
		}
		defer rs.Close()
		for rs.Next() {
			var p engram.PendingChunk
			if err := rs.Scan(&p.DocumentID, &p.ChunkIndex, &p.Content); err != nil {
				return translate(err)
			}
			out = append(out, p)
		}
		return translate(rs.Err())
	})
	return out, err
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
		rows[i] = embedRow{ChunkKey: v.ChunkKey, Content: v.Content, Vector: base64.StdEncoding.EncodeToString(v.Vector)}
	}
	b, err := json.Marshal(rows)
	if err != nil {
		return 0, err
	}
	var n int64
	err = e.run(ctx, tenantID, func(q querier) error {
		tag, err := exec(ctx, q, "embed.write",
			`UPDATE document_chunks c SET embedding = decode(v.vector, 'base64'), embedding_model = $2
			   FROM json_to_recordset($3::json) AS v(document_id uuid, chunk_index integer, content text, vector text)
			  WHERE c.tenant_id = $1 AND c.document_id = v.document_id AND c.chunk_index = v.chunk_index
			    AND c.content = v.content AND `+pendingModel, tenantID, model, string(b))
		n = tag.RowsAffected()
		return err
	})
	return int(n), err
}

// EmbedDue lists active tenants with a chunk not embedded by model,
// across tenants.
func (e *executor) EmbedDue(ctx context.Context, model string, limit int) ([]string, error) {
	var out []string
	err := e.run(ctx, "", func(q querier) error {
		rs, err := query(ctx, q, "embed.due",
			`SELECT t.id::text FROM tenants t
			  WHERE t.is_active AND EXISTS (SELECT 1 FROM document_chunks c WHERE c.tenant_id = t.id AND `+pendingModel+`)
			  ORDER BY t.id LIMIT $1`, limit, model)
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

// EmbedCounts counts the tenant's chunks and those embedded by model.
func (e *executor) EmbedCounts(ctx context.Context, tenantID, model string) (engram.EmbedStatus, error) {
	st := engram.EmbedStatus{Model: model}
	err := e.run(ctx, tenantID, func(q querier) error {
		return queryRow(ctx, q, "embed.counts",
			`SELECT (SELECT count(*) FROM document_chunks WHERE tenant_id = $1),
			        (SELECT count(*) FROM document_chunks WHERE tenant_id = $1 AND embedding_model = $2)`,
			[]any{tenantID, model}, &st.Chunks, &st.Embedded)
	})
	return st, err
}

// VectorScan reads the vectors of the tenant's chunks of live documents
// that pass the filter.
func (e *executor) VectorScan(ctx context.Context, tenantID, model string, f engram.SearchFilter, fn func(engram.ChunkKey, []byte)) error {
	return e.run(ctx, tenantID, func(q querier) error {
		rs, err := query(ctx, q, "search.vector_scan",
			`SELECT c.document_id::text, c.chunk_index, c.embedding
			   FROM document_chunks c
			   JOIN documents d ON d.tenant_id = c.tenant_id AND d.id = c.document_id
			  WHERE c.tenant_id = $1 AND c.embedding_model = $2 AND NOT d.is_deleted
			    AND (CASE WHEN $3::text IS NULL THEN d.classification <> 'spam' ELSE d.classification = $3 END)
			    AND (CASE WHEN $4::text IS NULL THEN d.status <> 'rejected' ELSE d.status = $4 END)
			    AND ($5::text IS NULL OR d.source_type = $5)
			    AND ($6::uuid IS NULL OR d.connector_id = $6)
			    AND ($7::text IS NULL OR d.sender_email = $7)
			    AND ($8::timestamptz IS NULL OR d.created_at >= $8)
			    AND ($9::timestamptz IS NULL OR d.created_at < $9)`,
			tenantID, model, f.Classification, f.Status, f.SourceType, f.ConnectorID, f.SenderEmail,
			tsPtr(f.CreatedAfter), tsPtr(f.CreatedBefore))
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
	})
}

// SearchHitsRead reads the hits of chunks of live documents.
func (e *executor) SearchHitsRead(ctx context.Context, tenantID string, keys []engram.ChunkKey) ([]engram.SearchHit, error) {
	b, err := json.Marshal(keys)
	if err != nil {
		return nil, err
	}
	var out []engram.SearchHit
	err = e.run(ctx, tenantID, func(q querier) error {
		rs, err := query(ctx, q, "search.hits",
			`SELECT d.id::text, coalesce(d.external_id, ''), d.title, d.source_type, d.classification, d.status, d.created_at, d.source_created_at,
			        c.chunk_index, c.content
			   FROM json_to_recordset($2::json) AS k(document_id uuid, chunk_index integer)
			   JOIN document_chunks c ON c.tenant_id = $1 AND c.document_id = k.document_id AND c.chunk_index = k.chunk_index
			   JOIN documents d ON d.tenant_id = $1 AND d.id = c.document_id
			  WHERE NOT d.is_deleted`, tenantID, string(b))
		if err != nil {
			return err
		}
		defer rs.Close()
		for rs.Next() {
			var h engram.SearchHit
			var class, status string
			if err := rs.Scan(&h.DocumentID, &h.ExternalID, &h.Title, &h.SourceType, &class, &status, &h.CreatedAt, &h.SourceCreatedAt,
				&h.ChunkIndex, &h.ChunkContent); err != nil {
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
