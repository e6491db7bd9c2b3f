package mail

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/engram-kb/engram"
)

// checkItem asserts what every item must satisfy for engram to store it.
func checkItem(t *testing.T, it engram.SourceItem) {
	t.Helper()
	fields := append([]string{it.ExternalID, it.Title, it.Content, it.Sender, it.SenderEmail, string(it.Metadata)}, it.Recipients...)
	for _, f := range fields {
		if !utf8.ValidString(f) || strings.ContainsRune(f, 0) || strings.Contains(f, `\u0000`) {
			t.Errorf("%s: field not valid UTF-8 or holds NUL: %q", it.ExternalID, f)
		}
	}
	if it.ExternalID == "" || strings.TrimSpace(it.Title) == "" || utf8.RuneCountInString(it.Title) > engram.MaxTitleLen {
		t.Errorf("%s: bad id or title %q", it.ExternalID, it.Title)
	}
	if it.SenderEmail != "" && (!strings.Contains(it.SenderEmail, "@") || it.SenderEmail != strings.ToLower(it.SenderEmail)) {
		t.Errorf("%s: bad sender e-mail %q", it.ExternalID, it.SenderEmail)
	}
	if len(it.Sender) > maxSenderBytes || len(it.Content) > engram.MaxContentBytes {
		t.Errorf("%s: sender or content too long", it.ExternalID)
	}
}
