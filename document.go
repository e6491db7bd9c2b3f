package engram

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// DocumentStatus is where a document is in review.
type DocumentStatus string

// Document statuses.
const (
	StatusPending    DocumentStatus = "pending"
	StatusProcessing DocumentStatus = "processing"
	StatusClassified DocumentStatus = "classified"
	StatusConfirmed  DocumentStatus = "confirmed"
	StatusRejected   DocumentStatus = "rejected"
	StatusArchived   DocumentStatus = "archived"
)

// DocumentStatuses lists every status, in display order.
var DocumentStatuses = []DocumentStatus{StatusPending, StatusProcessing, StatusClassified, StatusConfirmed, StatusRejected, StatusArchived}

// Valid reports whether s is a known status.
func (s DocumentStatus) Valid() bool {
	for _, v := range DocumentStatuses {
		if s == v {
			return true
		}
	}
	return false
}

// Classification is the class of a document.
type Classification string

// Classifications.
const (
	ClassWork     Classification = "work"
	ClassPersonal Classification = "personal"
	ClassSpam     Classification = "spam"
	ClassUnknown  Classification = "unknown"
)

// Classifications lists every class, in display order.
var Classifications = []Classification{ClassWork, ClassPersonal, ClassSpam, ClassUnknown}

// Valid reports whether c is a known class.
func (c Classification) Valid() bool {
	for _, v := range Classifications {
		if c == v {
			return true
		}
	}
	return false
}

// Document is one item of a tenant's knowledge base.
type Document struct {
	ID                       string          `json:"id"`
	ConnectorID              *string         `json:"connector_id"`
	ExternalID               *string         `json:"external_id"`
	SourceType               string          `json:"source_type"`
	SourceURL                string          `json:"source_url"`
	Title                    string          `json:"title"`
	Content                  *string         `json:"content,omitempty"`
	ContentHash              string          `json:"content_hash"`
	Metadata                 json.RawMessage `json:"metadata,omitempty"`
	Sender                   string          `json:"sender"`
	SenderEmail              string          `json:"sender_email"`
	Recipients               []string        `json:"recipients"`
	SourceCreatedAt          *time.Time      `json:"source_created_at"`
	SourceUpdatedAt          *time.Time      `json:"source_updated_at"`
	Status                   DocumentStatus  `json:"status"`
	Classification           Classification  `json:"classification"`
	ClassificationConfidence *float64        `json:"classification_confidence"`
	ClassificationReason     string          `json:"classification_reason"`
	RejectionReason          string          `json:"rejection_reason"`
	UserConfirmed            bool            `json:"user_confirmed"`
	UserConfirmedAt          *time.Time      `json:"user_confirmed_at"`
	ChunkCount               int             `json:"chunk_count"`
	CreatedAt                time.Time       `json:"created_at"`
	UpdatedAt                time.Time       `json:"updated_at"`
	IsDeleted                bool            `json:"is_deleted"`
	DeletedAt                *time.Time      `json:"deleted_at"`
}

// NewDocument is a document as submitted for creation. The store fills in
// the id, hash, chunks and timestamps through Prepare.
type NewDocument struct {
	Title           string          `json:"title"`
	Content         string          `json:"content"`
	SourceType      string          `json:"source_type"`
	SourceURL       string          `json:"source_url"`
	Sender          string          `json:"sender"`
	SenderEmail     string          `json:"sender_email"`
	Recipients      []string        `json:"recipients"`
	SourceCreatedAt *time.Time      `json:"source_created_at"`
	SourceUpdatedAt *time.Time      `json:"source_updated_at"`
	Metadata        json.RawMessage `json:"metadata"`
	ConnectorID     *string         `json:"-"`
	ExternalID      *string         `json:"-"`
}

// Limits on documents.
const (
	MaxDocumentsPerCreate = 1000
	MaxTitleLen           = 1000
	MaxContentBytes       = 5 << 20
	MaxRecipients         = 1000
)

// PreparedDocument is a validated NewDocument with everything the store
// writes: id, content hash, chunks and normalised JSON fields.
type PreparedDocument struct {
	NewDocument
	ID          string
	ContentHash string
	Chunks      []Chunk
	// MetadataJSON and RecipientsJSON are the JSON texts to store.
	MetadataJSON   string
	RecipientsJSON string
}

// PrepareDocuments validates docs and computes what the store needs.
// Errors name the offending field, e.g. "documents[3].title".
func PrepareDocuments(docs []NewDocument) ([]PreparedDocument, error) {
	if len(docs) == 0 {
		return nil, Errorf(EInvalid, "documents: at least one document is required")
	}
	if len(docs) > MaxDocumentsPerCreate {
		return nil, Errorf(EInvalid, "documents: at most %d documents per request, got %d", MaxDocumentsPerCreate, len(docs))
	}
	out := make([]PreparedDocument, len(docs))
	for i, d := range docs {
		p, err := prepareDocument("documents["+strconv.Itoa(i)+"].", d)
		if err != nil {
			return nil, err
		}
		out[i] = p
	}
	return out, nil
}

// prepareDocument validates one document; f prefixes field names in errors.
func prepareDocument(f string, d NewDocument) (PreparedDocument, error) {
	if strings.TrimSpace(d.Title) == "" {
		return PreparedDocument{}, Errorf(EInvalid, "%stitle: must not be empty", f)
	}
	if utf8.RuneCountInString(d.Title) > MaxTitleLen {
		return PreparedDocument{}, Errorf(EInvalid, "%stitle: at most %d characters", f, MaxTitleLen)
	}
	if len(d.Content) > MaxContentBytes {
		return PreparedDocument{}, Errorf(ETooLarge, "%scontent: at most %d bytes", f, MaxContentBytes)
	}
	if len(d.Recipients) > MaxRecipients {
		return PreparedDocument{}, Errorf(EInvalid, "%srecipients: at most %d, got %d", f, MaxRecipients, len(d.Recipients))
	}
	fields := []struct {
		name  string
		value string
		max   int
	}{
		{"title", d.Title, 0}, {"content", d.Content, 0}, {"source_type", d.SourceType, 50},
		{"source_url", d.SourceURL, 4096}, {"sender", d.Sender, 500}, {"sender_email", d.SenderEmail, 320},
	}
	for j, r := range d.Recipients {
		fields = append(fields, struct {
			name  string
			value string
			max   int
		}{"recipients[" + strconv.Itoa(j) + "]", r, 500})
	}
	for _, fl := range fields {
		if fl.max > 0 && len(fl.value) > fl.max {
			return PreparedDocument{}, Errorf(EInvalid, "%s%s: at most %d bytes", f, fl.name, fl.max)
		}
		// PostgreSQL text cannot hold NUL; refuse it on both engines.
		if strings.ContainsRune(fl.value, 0) || !utf8.ValidString(fl.value) {
			return PreparedDocument{}, Errorf(EInvalid, "%s%s: must be valid UTF-8 without NUL characters", f, fl.name)
		}
	}
	if d.SourceType == "" {
		d.SourceType = "api"
	}
	if d.SenderEmail != "" && !strings.Contains(d.SenderEmail, "@") {
		return PreparedDocument{}, Errorf(EInvalid, "%ssender_email: %q is not an e-mail address", f, d.SenderEmail)
	}
	d.SenderEmail = strings.ToLower(strings.TrimSpace(d.SenderEmail))
	meta, err := normaliseObject(d.Metadata)
	if err != nil {
		return PreparedDocument{}, Errorf(EInvalid, "%smetadata: %s", f, err.Message)
	}
	if d.Recipients == nil {
		d.Recipients = []string{}
	}
	rec, _ := json.Marshal(d.Recipients)
	d.SourceCreatedAt = utcPtr(d.SourceCreatedAt)
	d.SourceUpdatedAt = utcPtr(d.SourceUpdatedAt)
	for _, t := range []struct {
		name string
		v    *time.Time
	}{{"source_created_at", d.SourceCreatedAt}, {"source_updated_at", d.SourceUpdatedAt}} {
		if err := CheckTime(t.v); err != nil {
			return PreparedDocument{}, Errorf(EInvalid, "%s%s: %s", f, t.name, err.Message)
		}
	}
	sum := sha256.Sum256([]byte(d.Content))
	return PreparedDocument{
		NewDocument:    d,
		ID:             NewID(),
		ContentHash:    hex.EncodeToString(sum[:]),
		Chunks:         SplitChunks(d.Content),
		MetadataJSON:   meta,
		RecipientsJSON: string(rec),
	}, nil
}

// normaliseObject checks that raw is absent, null or a JSON object and
// returns its compact text ("{}" when absent).
func normaliseObject(raw json.RawMessage) (string, *Error) {
	s := strings.TrimSpace(string(raw))
	if s == "" || s == "null" {
		return "{}", nil
	}
	// Numbers keep their text: 9007199254740993 must not come back as
	// …992, as it would through float64.
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return "", Errorf(EInvalid, "must be a JSON object")
	}
	// Anything after the value, even a stray "}" that dec.More() lets
	// pass, makes it something else than one object.
	if _, err := dec.Token(); err != io.EOF || m == nil {
		return "", Errorf(EInvalid, "must be a JSON object")
	}
	if depth(m) > MaxMetadataDepth {
		return "", Errorf(EInvalid, "nested deeper than %d levels", MaxMetadataDepth)
	}
	// 1e309 is valid JSON, but it would come back in every response
	// holding the document, and no client reading numbers as doubles
	// (JavaScript, Go, Python's json) could read that response.
	if n, ok := hugeNumber(m); ok {
		return "", Errorf(EInvalid, "the number %s is beyond the range of a 64-bit float", n)
	}
	b, err := json.Marshal(m)
	if err != nil {
		return "", Errorf(EInvalid, "must be a JSON object")
	}
	if strings.Contains(string(b), `\u0000`) {
		return "", Errorf(EInvalid, "must not contain NUL characters")
	}
	return string(b), nil
}

// MinTime and MaxTime bound every timestamp engram stores: the years
// 0001–9999 that RFC 3339 can write and both engines hold (PostgreSQL has
// no year 0; SQLite would store anything as text and sort it wrongly).
var (
	MinTime = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)
	MaxTime = time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC)
)

// CheckTime refuses a timestamp outside MinTime–MaxTime (nil passes):
// invalid_argument, its message for the caller to prefix with the field.
func CheckTime(t *time.Time) *Error {
	if t == nil || (!t.Before(MinTime) && !t.After(MaxTime)) {
		return nil
	}
	return Errorf(EInvalid, "year %d is out of range; dates must lie in the years 0001 to 9999", t.Year())
}

// MaxMetadataDepth bounds how deeply a document's metadata nests (the
// object itself is level 1), the same on both engines: SQLite refuses
// JSON past about 1,000 levels, PostgreSQL stores 9,000 that common JSON
// readers cannot read back.
const MaxMetadataDepth = 32

// depth is how deeply a decoded JSON value nests: 0 for a scalar.
func depth(v any) int {
	d := 0
	switch x := v.(type) {
	case map[string]any:
		for _, e := range x {
			d = max(d, depth(e))
		}
	case []any:
		for _, e := range x {
			d = max(d, depth(e))
		}
	default:
		return 0
	}
	return d + 1
}

// hugeNumber finds a number in a value decoded with UseNumber that does
// not fit a float64.
func hugeNumber(v any) (json.Number, bool) {
	switch x := v.(type) {
	case json.Number:
		_, err := strconv.ParseFloat(string(x), 64)
		return x, err != nil
	case map[string]any:
		for _, e := range x {
			if n, ok := hugeNumber(e); ok {
				return n, true
			}
		}
	case []any:
		for _, e := range x {
			if n, ok := hugeNumber(e); ok {
				return n, true
			}
		}
	}
	return "", false
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC().Truncate(time.Microsecond)
	return &u
}

// DocumentPatch changes a document's title and/or metadata. Nil fields are
// left as they are.
type DocumentPatch struct {
	Title    *string
	Metadata json.RawMessage
	// MetadataJSON is set by Validate.
	MetadataJSON *string
}

// Validate checks the patch and normalises its metadata.
func (p *DocumentPatch) Validate() error {
	if p.Title == nil && p.Metadata == nil {
		return Errorf(EInvalid, "body: nothing to change; give title and/or metadata")
	}
	if p.Title != nil {
		if strings.TrimSpace(*p.Title) == "" {
			return Errorf(EInvalid, "title: must not be empty")
		}
		if utf8.RuneCountInString(*p.Title) > MaxTitleLen {
			return Errorf(EInvalid, "title: at most %d characters", MaxTitleLen)
		}
		if strings.ContainsRune(*p.Title, 0) {
			return Errorf(EInvalid, "title: must not contain NUL characters")
		}
	}
	if p.Metadata != nil {
		m, err := normaliseObject(p.Metadata)
		if err != nil {
			return Errorf(EInvalid, "metadata: %s", err.Message)
		}
		p.MetadataJSON = &m
	}
	return nil
}

// DocumentSort is a column documents can be listed by.
type DocumentSort string

// Sort keys.
const (
	SortCreatedAt       DocumentSort = "created_at"
	SortSourceCreatedAt DocumentSort = "source_created_at"
	SortTitle           DocumentSort = "title"
	SortConfidence      DocumentSort = "classification_confidence"
)

// Valid reports whether s is an allowed sort key.
func (s DocumentSort) Valid() bool {
	switch s {
	case SortCreatedAt, SortSourceCreatedAt, SortTitle, SortConfidence:
		return true
	}
	return false
}

// Nullable reports whether the sort column can be NULL. NULL sorts as the
// smallest value on both engines: first ascending, last descending.
func (s DocumentSort) Nullable() bool {
	return s == SortSourceCreatedAt || s == SortConfidence
}

// List limits.
const (
	DefaultListLimit = 50
	MaxListLimit     = 200
)

// DocumentFilter selects and orders a page of documents.
type DocumentFilter struct {
	Status         *DocumentStatus
	Classification *Classification
	NeedsReview    bool
	SourceType     *string
	ConnectorID    *string
	CreatedAfter   *time.Time
	CreatedBefore  *time.Time
	Sort           DocumentSort
	Desc           bool
	Limit          int
	Cursor         *Cursor
	Offset         int
	IncludeTotal   bool
}

// DocumentPage is one page of a list.
type DocumentPage struct {
	Documents  []Document
	HasMore    bool
	NextCursor string
	Total      *int
}

// Cursor is a keyset position: the sort value of the last row seen (nil
// when it was NULL) and its id. It travels as opaque base64.
type Cursor struct {
	Sort  DocumentSort `json:"s"`
	Desc  bool         `json:"d"`
	Value *string      `json:"v"`
	ID    string       `json:"i"`
}

// Encode returns the opaque text form of c.
func (c Cursor) Encode() string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

// DecodeCursor parses an opaque cursor and checks it was made for the same
// sort and order.
func DecodeCursor(s string, sort DocumentSort, desc bool) (*Cursor, error) {
	bad := Errorf(EInvalid, "cursor: not a cursor returned by this list; start again without it")
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, bad
	}
	var c Cursor
	if json.Unmarshal(b, &c) != nil {
		return nil, bad
	}
	// The id goes back in canonical form: SQLite compares ids as text, so
	// an upper-case one would seek to the wrong place.
	id, ok := ParseID(c.ID)
	if !ok {
		return nil, bad
	}
	c.ID = id
	if c.Sort != sort || c.Desc != desc {
		return nil, Errorf(EInvalid, "cursor: made for another sort or order")
	}
	if c.Value != nil {
		// A \u0000 is valid JSON but no PostgreSQL text.
		if strings.ContainsRune(*c.Value, 0) {
			return nil, bad
		}
		switch sort {
		case SortCreatedAt, SortSourceCreatedAt:
			if _, err := time.Parse(time.RFC3339Nano, *c.Value); err != nil {
				return nil, bad
			}
		case SortConfidence:
			if _, err := strconv.ParseFloat(*c.Value, 64); err != nil {
				return nil, bad
			}
		}
	} else if !sort.Nullable() {
		return nil, bad
	}
	return &c, nil
}

// CursorFor returns the cursor positioned after d for the given order.
func CursorFor(d Document, sort DocumentSort, desc bool) Cursor {
	c := Cursor{Sort: sort, Desc: desc, ID: d.ID}
	var v string
	switch sort {
	case SortCreatedAt:
		v = d.CreatedAt.UTC().Format(time.RFC3339Nano)
	case SortSourceCreatedAt:
		if d.SourceCreatedAt == nil {
			return c
		}
		v = d.SourceCreatedAt.UTC().Format(time.RFC3339Nano)
	case SortTitle:
		v = d.Title
	case SortConfidence:
		if d.ClassificationConfidence == nil {
			return c
		}
		v = strconv.FormatFloat(*d.ClassificationConfidence, 'g', -1, 64)
	}
	c.Value = &v
	return c
}

// TimeValue returns the cursor value as a time (for time sorts).
func (c Cursor) TimeValue() time.Time {
	t, _ := time.Parse(time.RFC3339Nano, *c.Value)
	return t.UTC()
}

// FloatValue returns the cursor value as a float (for confidence sorts).
func (c Cursor) FloatValue() float64 {
	f, _ := strconv.ParseFloat(*c.Value, 64)
	return f
}

// NormalizeIDs checks a list of ids for a bulk request: 1 to MaxBulkIDs of
// them, each a UUID. Duplicates are dropped; order is kept. field names the
// list in errors.
func NormalizeIDs(field string, ids []string) ([]string, error) {
	if len(ids) == 0 {
		return nil, Errorf(EInvalid, "%s: at least one id is required", field)
	}
	if len(ids) > MaxBulkIDs {
		return nil, Errorf(EInvalid, "%s: at most %d ids per request, got %d", field, MaxBulkIDs, len(ids))
	}
	seen := make(map[string]bool, len(ids))
	out := make([]string, 0, len(ids))
	for i, raw := range ids {
		id, ok := ParseID(raw)
		if !ok {
			return nil, Errorf(EInvalid, "%s[%d]: %q is not a valid id", field, i, raw)
		}
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out, nil
}
