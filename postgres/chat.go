package postgres

import (
	"context"
	"encoding/json"
	"time"

	"github.com/engram-kb/engram"
	"github.com/jackc/pgx/v5"
)

const conversationColumns = `id::text, owner, title, shared, created_at, last_message_at`

func scanConversation(row pgx.Row) (engram.Conversation, error) {
	var c engram.Conversation
	err := row.Scan(&c.ID, &c.Owner, &c.Title, &c.Shared, &c.CreatedAt, &c.LastMessageAt)
	c.CreatedAt, c.LastMessageAt = c.CreatedAt.UTC(), c.LastMessageAt.UTC()
	return c, err
}

// foundRow turns a one-row read into found or not.
func foundRow[T any](v T, err error) (T, bool, error) {
	if isNoRows(err) {
		return v, false, nil
	}
	if err != nil {
		return v, false, translate(err)
	}
	return v, true, nil
}

// ConversationInsert inserts a conversation.
func (e *executor) ConversationInsert(ctx context.Context, tenantID string, c engram.Conversation) error {
	return e.run(ctx, tenantID, func(q querier) error {
		_, err := exec(ctx, q, "conversations.create",
			`INSERT INTO conversations (tenant_id, id, owner, title, shared, created_at, last_message_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			tenantID, c.ID, c.Owner, c.Title, c.Shared, ts(c.CreatedAt), ts(c.LastMessageAt))
		return err
	})
}

// ConversationList reads a keyset page of owner's conversations.
func (e *executor) ConversationList(ctx context.Context, tenantID, owner string, after *engram.ConversationKey, limit int) ([]engram.Conversation, error) {
	var at *time.Time
	id := engram.NilID
	if after != nil {
		t := ts(after.LastMessageAt)
		at, id = &t, after.ID
	}
	out := []engram.Conversation{}
	err := e.run(ctx, tenantID, func(q querier) error {
		rs, err := query(ctx, q, "conversations.list",
			`SELECT `+conversationColumns+` FROM conversations
			  WHERE tenant_id = $1 AND owner = $2 AND ($3::timestamptz IS NULL OR (last_message_at, id) < ($3, $4::uuid))
			  ORDER BY last_message_at DESC, id DESC LIMIT $5`,
			tenantID, owner, at, id, limit)
		if err != nil {
			return err
		}
		defer rs.Close()
		for rs.Next() {
			c, err := scanConversation(rs)
			if err != nil {
				return translate(err)
			}
			out = append(out, c)
		}
		return translate(rs.Err())
	})
	return out, err
}

// ConversationGet reads a conversation viewer may see.
func (e *executor) ConversationGet(ctx context.Context, tenantID, id, viewer string) (engram.Conversation, bool, error) {
	var c engram.Conversation
	err := e.run(ctx, tenantID, func(q querier) (err error) {
		c, err = oneRow(ctx, q, "conversations.get",
			`SELECT `+conversationColumns+` FROM conversations WHERE tenant_id = $1 AND id = $2 AND (owner = $3 OR shared)`,
			scanConversation, tenantID, id, viewer)
		return err
	})
	return foundRow(c, err)
}

// ConversationTouch moves the conversation's last message time.
func (e *executor) ConversationTouch(ctx context.Context, tenantID, id, owner, title string, at time.Time) (bool, error) {
	var n int64
	err := e.run(ctx, tenantID, func(q querier) error {
		tag, err := exec(ctx, q, "conversations.touch",
			`UPDATE conversations SET last_message_at = greatest(last_message_at, $4), title = CASE WHEN title = '' THEN $5 ELSE title END
			  WHERE tenant_id = $1 AND id = $2 AND owner = $3`,
			tenantID, id, owner, ts(at), title)
		n = tag.RowsAffected()
		return err
	})
	return n > 0, err
}

// ConversationShare sets whether the conversation is shared.
func (e *executor) ConversationShare(ctx context.Context, tenantID, id, owner string, shared bool) (engram.Conversation, bool, error) {
	var c engram.Conversation
	err := e.run(ctx, tenantID, func(q querier) (err error) {
		c, err = oneRow(ctx, q, "conversations.share",
			`UPDATE conversations SET shared = $4 WHERE tenant_id = $1 AND id = $2 AND owner = $3 RETURNING `+conversationColumns,
			scanConversation, tenantID, id, owner, shared)
		return err
	})
	return foundRow(c, err)
}

// ConversationDelete deletes the conversation.
func (e *executor) ConversationDelete(ctx context.Context, tenantID, id, owner string) (bool, error) {
	var n int64
	err := e.run(ctx, tenantID, func(q querier) error {
		tag, err := exec(ctx, q, "conversations.delete",
			`DELETE FROM conversations WHERE tenant_id = $1 AND id = $2 AND owner = $3`, tenantID, id, owner)
		n = tag.RowsAffected()
		return err
	})
	return n > 0, err
}

type messageRow struct {
	ID             string            `json:"id"`
	ConversationID string            `json:"conversation_id"`
	Role           string            `json:"role"`
	Content        string            `json:"content"`
	Citations      []engram.Citation `json:"citations"`
	CreatedAt      time.Time         `json:"created_at"`
}

// MessagesInsert inserts messages from one JSON array.
func (e *executor) MessagesInsert(ctx context.Context, tenantID string, ms []engram.Message) error {
	rs := make([]messageRow, len(ms))
	for i, m := range ms {
		cs := m.Citations
		if cs == nil {
			cs = []engram.Citation{}
		}
		rs[i] = messageRow{m.ID, m.ConversationID, m.Role, m.Content, cs, ts(m.CreatedAt)}
	}
	b, err := json.Marshal(rs)
	if err != nil {
		return err
	}
	return e.run(ctx, tenantID, func(q querier) error {
		_, err := exec(ctx, q, "messages.create",
			`INSERT INTO messages (tenant_id, conversation_id, id, role, content, citations, created_at)
			 SELECT $1, m.conversation_id, m.id, m.role, m.content, m.citations, m.created_at
			   FROM jsonb_to_recordset($2::jsonb) AS m(conversation_id uuid, id uuid, role text, content text, citations jsonb, created_at timestamptz)`,
			tenantID, string(b))
		return err
	})
}

func scanMessage(row pgx.Row, extra ...any) (engram.Message, error) {
	var m engram.Message
	var cites []byte
	err := row.Scan(append([]any{&m.ID, &m.ConversationID, &m.Role, &m.Content, &cites, &m.CreatedAt}, extra...)...)
	if err != nil {
		return m, err
	}
	m.CreatedAt = m.CreatedAt.UTC()
	if err := json.Unmarshal(cites, &m.Citations); err != nil || m.Citations == nil {
		m.Citations = []engram.Citation{}
	}
	return m, nil
}

// MessagesRecent reads the conversation's newest messages.
func (e *executor) MessagesRecent(ctx context.Context, tenantID, conversationID string, limit int) ([]engram.Message, error) {
	out := []engram.Message{}
	err := e.run(ctx, tenantID, func(q querier) error {
		rs, err := query(ctx, q, "messages.recent",
			`SELECT id::text, conversation_id::text, role, content, citations, created_at FROM (
			   SELECT * FROM messages WHERE tenant_id = $1 AND conversation_id = $2
			    ORDER BY created_at DESC, id DESC LIMIT $3) m ORDER BY created_at, id`,
			tenantID, conversationID, limit)
		if err != nil {
			return err
		}
		defer rs.Close()
		for rs.Next() {
			m, err := scanMessage(rs)
			if err != nil {
				return translate(err)
			}
			out = append(out, m)
		}
		return translate(rs.Err())
	})
	return out, err
}

// AskedMessageGet reads an answer and its question.
func (e *executor) AskedMessageGet(ctx context.Context, tenantID, messageID, viewer string) (engram.AskedMessage, bool, error) {
	var a engram.AskedMessage
	err := e.run(ctx, tenantID, func(q querier) (err error) {
		a, err = oneRow(ctx, q, "messages.asked",
			`SELECT m.id::text, m.conversation_id::text, m.role, m.content, m.citations, m.created_at, c.owner,
			        coalesce((SELECT p.content FROM messages p
			                   WHERE p.tenant_id = m.tenant_id AND p.conversation_id = m.conversation_id AND p.role = 'user'
			                     AND (p.created_at, p.id) < (m.created_at, m.id)
			                   ORDER BY p.created_at DESC, p.id DESC LIMIT 1), '')
			   FROM messages m JOIN conversations c ON c.tenant_id = m.tenant_id AND c.id = m.conversation_id
			  WHERE m.tenant_id = $1 AND m.id = $2 AND m.role = 'assistant' AND (c.owner = $3 OR c.shared)`,
			func(row pgx.Row) (engram.AskedMessage, error) {
				var x engram.AskedMessage
				m, err := scanMessage(row, &x.Owner, &x.Question)
				x.Message = m
				return x, err
			}, tenantID, messageID, viewer)
		return err
	})
	return foundRow(a, err)
}

// AskFeedbackUpsert stores a rating.
func (e *executor) AskFeedbackUpsert(ctx context.Context, tenantID, messageID, rater, rating, comment string, at time.Time) error {
	return e.run(ctx, tenantID, func(q querier) error {
		_, err := exec(ctx, q, "ask_feedback.upsert",
			`INSERT INTO ask_feedback (tenant_id, message_id, rater, rating, comment, created_at) VALUES ($1, $2, $3, $4, $5, $6)
			 ON CONFLICT (tenant_id, message_id, rater) DO UPDATE SET rating = excluded.rating, comment = excluded.comment, created_at = excluded.created_at`,
			tenantID, messageID, rater, rating, comment, ts(at))
		return err
	})
}

// AskEvidenceInsert stores evidence from one JSON array.
func (e *executor) AskEvidenceInsert(ctx context.Context, tenantID string, ev []engram.AskEvidence) error {
	for i := range ev {
		ev[i].CreatedAt = ts(ev[i].CreatedAt)
	}
	b, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	return e.run(ctx, tenantID, func(q querier) error {
		_, err := exec(ctx, q, "ask_evidence.create",
			`INSERT INTO ask_evidence (tenant_id, message_id, reason, conversation_id, question, asker, fingerprint, created_at)
			 SELECT $1, x.message_id, x.reason, x.conversation_id, x.question, x.asker, x.fingerprint, x.created_at
			   FROM jsonb_to_recordset($2::jsonb) AS x(message_id uuid, reason text, conversation_id uuid, question text,
			        asker text, fingerprint text, created_at timestamptz)
			 ON CONFLICT (tenant_id, message_id, reason) DO NOTHING`, tenantID, string(b))
		return err
	})
}

// AskEvidencePending reads evidence not filed under a gap yet.
func (e *executor) AskEvidencePending(ctx context.Context, tenantID string, limit int) ([]engram.AskEvidence, error) {
	var out []engram.AskEvidence
	err := e.run(ctx, tenantID, func(q querier) error {
		rs, err := query(ctx, q, "ask_evidence.pending",
			`SELECT message_id::text, conversation_id::text, question, asker, reason, fingerprint, created_at FROM ask_evidence
			  WHERE tenant_id = $1 AND gap_id IS NULL ORDER BY created_at, message_id LIMIT $2`, tenantID, limit)
		if err != nil {
			return err
		}
		defer rs.Close()
		for rs.Next() {
			var x engram.AskEvidence
			if err := rs.Scan(&x.MessageID, &x.ConversationID, &x.Question, &x.Asker, &x.Reason, &x.Fingerprint, &x.CreatedAt); err != nil {
				return translate(err)
			}
			x.CreatedAt = x.CreatedAt.UTC()
			out = append(out, x)
		}
		return translate(rs.Err())
	})
	return out, err
}

// AskEvidenceFile files pending evidence under gaps, from one JSON object.
func (e *executor) AskEvidenceFile(ctx context.Context, tenantID string, gapIDs map[string]string) error {
	b, err := json.Marshal(gapIDs)
	if err != nil {
		return err
	}
	return e.run(ctx, tenantID, func(q querier) error {
		_, err := exec(ctx, q, "ask_evidence.file",
			`UPDATE ask_evidence x SET gap_id = g.value::uuid FROM jsonb_each_text($2::jsonb) AS g
			  WHERE x.tenant_id = $1 AND x.gap_id IS NULL AND x.fingerprint = g.key`, tenantID, string(b))
		return err
	})
}

// LLMUsageRead reads a day's tokens.
func (e *executor) LLMUsageRead(ctx context.Context, tenantID string, day time.Time) (int, error) {
	var n int64
	err := e.run(ctx, tenantID, func(q querier) error {
		return queryRow(ctx, q, "llm_usage.read",
			`SELECT coalesce(sum(tokens), 0) FROM llm_usage WHERE tenant_id = $1 AND day = $2::date`,
			[]any{tenantID, day.UTC().Format(time.DateOnly)}, &n)
	})
	return int(n), err
}

// LLMUsageAdd adds to a day's tokens.
func (e *executor) LLMUsageAdd(ctx context.Context, tenantID string, day time.Time, tokens int) error {
	return e.run(ctx, tenantID, func(q querier) error {
		_, err := exec(ctx, q, "llm_usage.add",
			`INSERT INTO llm_usage (tenant_id, day, tokens) VALUES ($1, $2::date, $3)
			 ON CONFLICT (tenant_id, day) DO UPDATE SET tokens = llm_usage.tokens + excluded.tokens`,
			tenantID, day.UTC().Format(time.DateOnly), tokens)
		return err
	})
}

// ChunksRead reads chunks' text, from one JSON array of references.
func (e *executor) ChunksRead(ctx context.Context, tenantID string, refs []engram.ChunkRef) ([]engram.ChunkRef, error) {
	b, err := json.Marshal(refs)
	if err != nil {
		return nil, err
	}
	var out []engram.ChunkRef
	err = e.run(ctx, tenantID, func(q querier) error {
		rs, err := query(ctx, q, "chunks.read",
			`SELECT c.document_id::text, c.chunk_index, c.content
			   FROM jsonb_to_recordset($2::jsonb) AS r(document_id uuid, chunk_index integer)
			   JOIN document_chunks c ON c.tenant_id = $1 AND c.document_id = r.document_id AND c.chunk_index = r.chunk_index
			   JOIN documents d ON d.tenant_id = c.tenant_id AND d.id = c.document_id AND NOT d.is_deleted`, tenantID, string(b))
		if err != nil {
			return err
		}
		defer rs.Close()
		for rs.Next() {
			var c engram.ChunkRef
			if err := rs.Scan(&c.DocumentID, &c.ChunkIndex, &c.Content); err != nil {
				return translate(err)
			}
			out = append(out, c)
		}
		return translate(rs.Err())
	})
	return out, err
}

// GapAnswerRows reads the answers of gaps that are not closed.
func (e *executor) GapAnswerRows(ctx context.Context, tenantID string, limit int) ([]engram.GapAnswerRow, error) {
	var out []engram.GapAnswerRow
	err := e.run(ctx, tenantID, func(q querier) error {
		rs, err := query(ctx, q, "gap_answers.publishable",
			`SELECT g.id::text, g.title, qu.position, qu.text, a.answer_text
			   FROM gap_answers a
			   JOIN knowledge_gaps g ON g.tenant_id = a.tenant_id AND g.id = a.gap_id
			   JOIN gap_questions qu ON qu.tenant_id = a.tenant_id AND qu.gap_id = a.gap_id AND qu.position = a.question_position
			  WHERE a.tenant_id = $1 AND g.status <> 'closed'
			  ORDER BY g.id, qu.position, a.created_at, a.id LIMIT $2`, tenantID, limit)
		if err != nil {
			return err
		}
		defer rs.Close()
		for rs.Next() {
			var r engram.GapAnswerRow
			if err := rs.Scan(&r.GapID, &r.Title, &r.Position, &r.Question, &r.Answer); err != nil {
				return translate(err)
			}
			out = append(out, r)
		}
		return translate(rs.Err())
	})
	return out, err
}
