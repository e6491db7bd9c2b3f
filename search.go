package engram

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"time"
)

// Search limits.
const (
	DefaultSearchLimit = 20
	MaxSearchLimit     = 100
	// MaxSearchQueryBytes bounds a query's text; longer text is cut.
	MaxSearchQueryBytes = 10 << 10
	// MaxSearchTerms bounds the words and phrases a query keeps, so that
	// no query text makes a statement arbitrarily large.
	MaxSearchTerms = 32
	// SearchCandidates is how many matching chunks an engine that ranks
	// in two steps (PostgreSQL) scores exactly; results past it are not
	// returned.
	SearchCandidates = 3000
)

// SearchMode says how a search ranks.
type SearchMode string

// Search modes.
const (
	SearchLexical SearchMode = "lexical"
	SearchVector  SearchMode = "vector"
	SearchHybrid  SearchMode = "hybrid"
)

// SearchModes lists the modes a request may name.
var SearchModes = []SearchMode{SearchLexical, SearchVector, SearchHybrid}

// SearchTerm is one word or the words of a quoted phrase, folded (lower
// case, without diacritics).
type SearchTerm []string

// SearchQuery is a parsed query: a chunk matches when any clause of All
// does, a clause matching when any of its terms does; no term of Not may
// match.
type SearchQuery struct {
	All [][]SearchTerm
	Not []SearchTerm
}

// Finder is the query that finds a request's candidates: Match when it
// has clauses, else Query.
func (r SearchRequest) Finder() SearchQuery {
	if len(r.Match.All) > 0 {
		return r.Match
	}
	return r.Query
}

// Empty reports whether the query has nothing a document must match, so
// that it can match nothing.
func (q SearchQuery) Empty() bool { return len(q.All) == 0 }

// Words returns the distinct words of the query's positive terms.
func (q SearchQuery) Words() []string {
	seen := map[string]bool{}
	var out []string
	for _, c := range q.All {
		for _, t := range c {
			for _, w := range t {
				if !seen[w] {
					seen[w] = true
					out = append(out, w)
				}
			}
		}
	}
	return out
}

// SearchFilter narrows a search. A nil Classification means every class
// but spam, a nil Status every status but rejected.
type SearchFilter struct {
	Classification *Classification
	Status         *DocumentStatus
	SourceType     *string
	ConnectorID    *string
	SenderEmail    *string
	CreatedAfter   *time.Time
	CreatedBefore  *time.Time
}

// SearchRequest is what a driver's lexical search is asked.
type SearchRequest struct {
	// Query scores the candidates; Match, when it has clauses, finds them
	// (PlanSearchMatch: the rare clauses of Query), else Query does.
	Query  SearchQuery
	Match  SearchQuery
	Filter SearchFilter
	// Chunks: one hit per matching chunk instead of one per document
	// (its best chunk).
	Chunks bool
	// TitleWeight is how much more a word in the title counts than one
	// in the text.
	TitleWeight   float64
	Offset, Limit int
}

// SearchHit is one ranked chunk with its document's fields.
type SearchHit struct {
	DocumentID      string
	ExternalID      string
	Title           string
	SourceType      string
	Classification  Classification
	Status          DocumentStatus
	CreatedAt       time.Time
	SourceCreatedAt *time.Time
	ChunkIndex      int
	ChunkContent    string
	// Score is the engine's BM25 score: larger is better.
	Score float64
}

// SearchInput is a search as a client asks it.
type SearchInput struct {
	Query  string
	Filter SearchFilter
	Mode   SearchMode
	Chunks bool
	Limit  int
	Cursor string
}

// SearchMatch is where a matched word stands in a snippet, in characters
// (Unicode code points), end exclusive.
type SearchMatch struct {
	Start int `json:"start"`
	End   int `json:"end"`
}

// SearchRanks are a result's rank (from 1) in each ranking that found
// it.
type SearchRanks struct {
	Lexical *int `json:"lexical,omitempty"`
	Vector  *int `json:"vector,omitempty"`
}

// SearchResult is one result of a search.
type SearchResult struct {
	DocumentID      string         `json:"document_id"`
	ExternalID      string         `json:"external_id,omitempty"`
	Title           string         `json:"title"`
	SourceType      string         `json:"source_type"`
	Classification  Classification `json:"classification"`
	Status          DocumentStatus `json:"status"`
	CreatedAt       time.Time      `json:"created_at"`
	SourceCreatedAt *time.Time     `json:"source_created_at"`
	ChunkIndex      int            `json:"chunk_index"`
	Snippet         string         `json:"snippet"`
	Matches         []SearchMatch  `json:"matches"`
	Score           float64        `json:"score"`
	Ranks           SearchRanks    `json:"ranks"`
}

// SearchPage is one page of results.
type SearchPage struct {
	Results    []SearchResult
	Mode       SearchMode
	HasMore    bool
	NextCursor string
}

// SearchStore searches a tenant's documents.
type SearchStore interface {
	// Search ranks the tenant's live documents (or chunks) that match
	// in.Query. Returns invalid_argument (an empty query, a bad cursor or
	// limit, a mode the store cannot serve).
	Search(ctx context.Context, tenantID string, in SearchInput) (SearchPage, error)
	// Reindex rebuilds the tenant's search index from its chunks and
	// returns how many chunks it indexed.
	Reindex(ctx context.Context, tenantID string) (int, error)
}

// searchCursor is the position after a page of results.
type searchCursor struct {
	Offset int    `json:"o"`
	Query  string `json:"q"`
}

// SearchCursorFor returns the cursor of the page that starts after
// offset results of the query q.
func SearchCursorFor(q string, offset int) string {
	b, _ := json.Marshal(searchCursor{Offset: offset, Query: queryFingerprint(q)})
	return base64.RawURLEncoding.EncodeToString(b)
}

// DecodeSearchCursor returns the offset a cursor of query q stands at.
func DecodeSearchCursor(s, q string) (int, error) {
	bad := Errorf(EInvalid, "cursor: not a cursor returned by this search; start again without it")
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return 0, bad
	}
	var c searchCursor
	if err := json.Unmarshal(b, &c); err != nil || c.Offset < 0 || c.Offset > SearchCandidates || c.Query != queryFingerprint(q) {
		return 0, bad
	}
	return c.Offset, nil
}

// queryFingerprint ties a cursor to its query without carrying the
// query's text.
func queryFingerprint(q string) string {
	var h uint64 = 14695981039346656037
	for i := 0; i < len(q); i++ {
		h ^= uint64(q[i])
		h *= 1099511628211
	}
	b := make([]byte, 8)
	for i := range b {
		b[i] = byte(h >> (8 * i))
	}
	return base64.RawURLEncoding.EncodeToString(b)
}
