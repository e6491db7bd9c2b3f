package sqlite

import (
	"context"
	"encoding/json"
	"time"

	"github.com/engram-kb/engram"
)

const conversationColumns = `id, owner, title, shared, created_at, last_message_at`

func scanConversation(sc interface{ Scan(...any) error }) (engram.Conversation, error) {
	var c engram.Conversation
	var created, last string
	err := sc.Scan(&c.ID, &c.Owner, &c.Title, &c.Shared, &created, &last)
	c.CreatedAt, c.LastMessageAt = parseTime(created), parseTime(last)
	return c, err
}

// ConversationInsert inserts a conversation.
func (e *executor) ConversationInsert(ctx context.Context, tenantID string, c engram.Conversation) error {
	_, err := exec(ctx, e.q, "conversations.create",
		`INSERT INTO conversations (tenant_id, id, owner, title, shared, created_at, last_message_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		tenantID, c.ID, c.Owner, c.Title, c.Shared, fmtTime(c.CreatedAt), fmtTime(c.LastMessageAt))
	return err
}

// ConversationList reads a keyset page of owner's conversations.
func (e *executor) ConversationList(ctx context.Context, tenantID, owner string, after *engram.ConversationKey, limit int) ([]engram.Conversation, error) {
	at, id := "", ""
	if after != nil {
		at, id = fmtTime(after.LastMessageAt), after.ID
	}
	rs, err := query(ctx, e.q, "conversations.list",
		`SELECT `+conversationColumns+` FROM conversations
		  WHERE tenant_id = ?1 AND owner = ?2 AND (?3 = '' OR (last_message_at, id) < (?3, ?4))
		  ORDER BY last_message_at DESC, id DESC LIMIT ?5`,
		tenantID, owner, at, id, limit)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	out := []engram.Conversation{}
	for rs.Next() {
		c, err := scanConversation(rs)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, translate(rs.Err())
}

// ConversationGet reads a conversation viewer may see.
func (e *executor) ConversationGet(ctx context.Context, tenantID, id, viewer string) (engram.Conversation, bool, error) {
	return found(scanConversation(queryRow(ctx, e.q, "conversations.get",
		`SELECT `+conversationColumns+` FROM conversations WHERE tenant_id = ? AND id = ? AND (owner = ? OR shared)`,
		tenantID, id, viewer)))
}

// ConversationTouch moves the conversation's last message time.
func (e *executor) ConversationTouch(ctx context.Context, tenantID, id, owner, title string, at time.Time) (bool, error) {
	res, err := exec(ctx, e.q, "conversations.touch",
		`UPDATE conversations SET last_message_at = max(last_message_at, ?4), title = CASE WHEN title = '' THEN ?5 ELSE title END
		  WHERE tenant_id = ?1 AND id = ?2 AND owner = ?3`,
		tenantID, id, owner, fmtTime(at), title)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// ConversationShare sets whether the conversation is shared.
func (e *executor) ConversationShare(ctx context.Context, tenantID, id, owner string, shared bool) (engram.Conversation, bool, error) {
	return found(scanConversation(queryRow(ctx, e.q, "conversations.share",
		`UPDATE conversations SET shared = ? WHERE tenant_id = ? AND id = ? AND owner = ? RETURNING `+conversationColumns,
		shared, tenantID, id, owner)))
}

// ConversationDelete deletes the conversation.
func (e *executor) ConversationDelete(ctx context.Context, tenantID, id, owner string) (bool, error) {
	res, err := exec(ctx, e.q, "conversations.delete",
		`DELETE FROM conversations WHERE tenant_id = ? AND id = ? AND owner = ?`, tenantID, id, owner)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

type messageRow struct {
	ID             string `json:"id"`
	ConversationID string `json:"conversation_id"`
	Role           string `json:"role"`
	Content        string `json:"content"`
	Citations      string `json:"citations"`
	CreatedAt      string `json:"created_at"`
}

// MessagesInsert inserts messages from one JSON array.
func (e *executor) MessagesInsert(ctx context.Context, tenantID string, ms []engram.Message) error {
	rs := make([]messageRow, len(ms))
	for i, m := range ms {
		rs[i] = messageRow{m.ID, m.ConversationID, m.Role, m.Content, engram.CitationsJSON(m.Citations), fmtTime(m.CreatedAt)}
	}
	b, err := json.Marshal(rs)
	if err != nil {
		return err
	}
	_, err = exec(ctx, e.q, "messages.create",
		`INSERT INTO messages (tenant_id, conversation_id, id, role, content, citations, created_at)
		 SELECT ?, m.value->>'conversation_id', m.value->>'id', m.value->>'role', m.value->>'content',
		        m.value->>'citations', m.value->>'created_at'
		   FROM json_each(?) AS m`, tenantID, string(b))
	return err
}

func scanMessage(sc interface{ Scan(...any) error }, extra ...any) (engram.Message, error) {
	var m engram.Message
	var cites, at string
	err := sc.Scan(append([]any{&m.ID, &m.ConversationID, &m.Role, &m.Content, &cites, &at}, extra...)...)
	if err != nil {
		return m, err
	}
	m.CreatedAt = parseTime(at)
	if err := json.Unmarshal([]byte(cites), &m.Citations); err != nil || m.Citations == nil {
		m.Citations = []engram.Citation{}
	}
	return m, nil
}

// MessagesRecent reads the conversation's newest messages.
func (e *executor) MessagesRecent(ctx context.Context, tenantID, conversationID string, limit int) ([]engram.Message, error) {
	rs, err := query(ctx, e.q, "messages.recent",
		`SELECT id, conversation_id, role, content, citations, created_at FROM (
		   SELECT * FROM messages WHERE tenant_id = ? AND conversation_id = ?
		    ORDER BY created_at DESC, id DESC LIMIT ?) ORDER BY created_at, id`,
		tenantID, conversationID, limit)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	out := []engram.Message{}
	for rs.Next() {
		m, err := scanMessage(rs)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, translate(rs.Err())
}

// AskedMessageGet reads an answer and its question.
func (e *executor) AskedMessageGet(ctx context.Context, tenantID, messageID, viewer string) (engram.AskedMessage, bool, error) {
	var a engram.AskedMessage
	m, err := scanMessage(queryRow(ctx, e.q, "messages.asked",
		`SELECT m.id, m.conversation_id, m.role, m.content, m.citations, m.created_at, c.owner,
		        coalesce((SELECT q.content FROM messages q
		                   WHERE q.tenant_id = m.tenant_id AND q.conversation_id = m.conversation_id AND q.role = 'user'
		                     AND (q.created_at, q.id) < (m.created_at, m.id)
		                   ORDER BY q.created_at DESC, q.id DESC LIMIT 1), '')
		   FROM messages m JOIN conversations c ON c.tenant_id = m.tenant_id AND c.id = m.conversation_id
		  WHERE m.tenant_id = ?1 AND m.id = ?2 AND m.role = 'assistant' AND (c.owner = ?3 OR c.shared)`,
		tenantID, messageID, viewer), &a.Owner, &a.Question)
	a.Message = m
	return found(a, err)
}

// AskFeedbackUpsert stores a rating.
func (e *executor) AskFeedbackUpsert(ctx context.Context, tenantID, messageID, rater, rating, comment string, at time.Time) error {
	_, err := exec(ctx, e.q, "ask_feedback.upsert",
		`INSERT INTO ask_feedback (tenant_id, message_id, rater, rating, comment, created_at) VALUES (?, ?, ?, ?, ?, ?)
		 ON CONFLICT (tenant_id, message_id, rater) DO UPDATE SET rating = excluded.rating, comment = excluded.comment, created_at = excluded.created_at`,
		tenantID, messageID, rater, rating, comment, fmtTime(at))
	return err
}

type evidenceRow struct {
	engram.AskEvidence
	At string `json:"at"`
}

// AskEvidenceInsert stores evidence from one JSON array.
func (e *executor) AskEvidenceInsert(ctx context.Context, tenantID string, ev []engram.AskEvidence) error {
	rs := make([]evidenceRow, len(ev))
	for i, x := range ev {
		rs[i] = evidenceRow{x, fmtTime(x.CreatedAt)}
	}
	b, err := json.Marshal(rs)
	if err != nil {
		return err
	}
	_, err = exec(ctx, e.q, "ask_evidence.create",
		`INSERT INTO ask_evidence (tenant_id, message_id, reason, conversation_id, question, asker, fingerprint, created_at)
		 SELECT ?, x.value->>'message_id', x.value->>'reason', x.value->>'conversation_id', x.value->>'question',
		        x.value->>'asker', x.value->>'fingerprint', x.value->>'at'
		   FROM json_each(?) AS x WHERE true
		 ON CONFLICT (tenant_id, message_id, reason) DO NOTHING`, tenantID, string(b))
	return err
}

// AskEvidencePending reads evidence not filed under a gap yet.
func (e *executor) AskEvidencePending(ctx context.Context, tenantID string, limit int) ([]engram.AskEvidence, error) {
	rs, err := query(ctx, e.q, "ask_evidence.pending",
		`SELECT message_id, conversation_id, question, asker, reason, fingerprint, created_at FROM ask_evidence
		  WHERE tenant_id = ? AND gap_id IS NULL ORDER BY created_at, message_id LIMIT ?`, tenantID, limit)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	var out []engram.AskEvidence
	for rs.Next() {
		var x engram.AskEvidence
		var at string
		if err := rs.Scan(&x.MessageID, &x.ConversationID, &x.Question, &x.Asker, &x.Reason, &x.Fingerprint, &at); err != nil {
			return nil, err
		}
		x.CreatedAt = parseTime(at)
		out = append(out, x)
	}
	return out, translate(rs.Err())
}

// AskEvidenceFile files pending evidence under gaps, from one JSON object.
func (e *executor) AskEvidenceFile(ctx context.Context, tenantID string, gapIDs map[string]string) error {
	b, err := json.Marshal(gapIDs)
	if err != nil {
		return err
	}
	_, err = exec(ctx, e.q, "ask_evidence.file",
		`UPDATE ask_evidence SET gap_id = (SELECT g.value FROM json_each(?2) AS g WHERE g.key = ask_evidence.fingerprint)
		  WHERE tenant_id = ?1 AND gap_id IS NULL AND fingerprint IN (SELECT key FROM json_each(?2))`, tenantID, string(b))
	return err
}

// LLMUsageRead reads a day's tokens.
func (e *executor) LLMUsageRead(ctx context.Context, tenantID string, day time.Time) (int, error) {
	var n int
	err := queryRow(ctx, e.q, "llm_usage.read",
		`SELECT coalesce(sum(tokens), 0) FROM llm_usage WHERE tenant_id = ? AND day = ?`, tenantID, day.UTC().Format(time.DateOnly)).Scan(&n)
	return n, translate(err)
}

// LLMUsageAdd adds to a day's tokens.
func (e *executor) LLMUsageAdd(ctx context.Context, tenantID string, day time.Time, tokens int) error {
	_, err := exec(ctx, e.q, "llm_usage.add",
		`INSERT INTO llm_usage (tenant_id, day, tokens) VALUES (?, ?, ?)
		 ON CONFLICT (tenant_id, day) DO UPDATE SET tokens = tokens + excluded.tokens`,
		tenantID, day.UTC().Format(time.DateOnly), tokens)
	return err
}

// ChunksRead reads chunks' text, from one JSON array of references.
func (e *executor) ChunksRead(ctx context.Context, tenantID string, refs []engram.ChunkRef) ([]engram.ChunkRef, error) {
	b, err := json.Marshal(refs)
	if err != nil {
		return nil, err
	}
	rs, err := query(ctx, e.q, "chunks.read",
		`SELECT c.document_id, c.chunk_index, c.content
		   FROM json_each(?2) AS r
		   JOIN document_chunks c ON c.tenant_id = ?1 AND c.document_id = r.value->>'document_id' AND c.chunk_index = r.value->>'chunk_index'
		   JOIN documents d ON d.tenant_id = c.tenant_id AND d.id = c.document_id AND d.is_deleted = 0`, tenantID, string(b))
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	var out []engram.ChunkRef
	for rs.Next() {
		var c engram.ChunkRef
		if err := rs.Scan(&c.DocumentID, &c.ChunkIndex, &c.Content); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, translate(rs.Err())
}

// GapAnswerRows reads the answers of gaps that are not closed.
func (e *executor) GapAnswerRows(ctx context.Context, tenantID string, limit int) ([]engram.GapAnswerRow, error) {
	rs, err := query(ctx, e.q, "gap_answers.publishable",
		`SELECT g.id, g.title, q.position, q.text, a.answer_text
		   FROM gap_answers a
		   JOIN knowledge_gaps g ON g.tenant_id = a.tenant_id AND g.id = a.gap_id
		   JOIN gap_questions q ON q.tenant_id = a.tenant_id AND q.gap_id = a.gap_id AND q.position = a.question_position
		  WHERE a.tenant_id = ? AND g.status <> 'closed'
		  ORDER BY g.id, q.position, a.created_at, a.id LIMIT ?`, tenantID, limit)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	var out []engram.GapAnswerRow
	for rs.Next() {
		var r engram.GapAnswerRow
		if err := rs.Scan(&r.GapID, &r.Title, &r.Position, &r.Question, &r.Answer); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, translate(rs.Err())
}
