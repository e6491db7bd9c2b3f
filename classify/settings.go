package classify

import (
	"bytes"
	"encoding/json"
	"strings"

	"github.com/engram-kb/engram"
)

// config is the part of a tenant's settings the rules read.
type config struct {
	// domains holds the tenant's lists by class, normalised.
	domains [numClasses][]string
}

// parseSettings reads the tenant's settings. Errors are invalid_argument
// and name the offending setting, because the tenant has to fix it.
func parseSettings(raw json.RawMessage) (config, error) {
	var cfg config
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return cfg, nil
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(raw, &top); err != nil {
		return cfg, engram.Errorf(engram.EInvalid, "settings must be a JSON object")
	}
	if err := addDomains(&cfg, work, "work_domains", top["work_domains"]); err != nil {
		return cfg, err
	}
	cl := bytes.TrimSpace(top["classifier"])
	if len(cl) == 0 || string(cl) == "null" {
		return cfg, nil
	}
	var sub map[string]json.RawMessage
	if err := json.Unmarshal(cl, &sub); err != nil {
		return cfg, engram.Errorf(engram.EInvalid, "setting classifier must be a JSON object")
	}
	for _, k := range []struct {
		key string
		c   class
	}{{"work_domains", work}, {"personal_domains", personal}, {"spam_domains", spam}} {
		if err := addDomains(&cfg, k.c, "classifier."+k.key, sub[k.key]); err != nil {
			return cfg, err
		}
	}
	return cfg, nil
}

func addDomains(cfg *config, c class, name string, raw json.RawMessage) error {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var list []string
	if err := json.Unmarshal(raw, &list); err != nil {
		return engram.Errorf(engram.EInvalid, "setting %s must be a list of domain names", name)
	}
	for _, d := range list {
		n := normalizeDomain(d)
		if !validDomain(n) {
			return engram.Errorf(engram.EInvalid, "setting %s: %q is not a domain name like example.com", name, d)
		}
		cfg.domains[c] = append(cfg.domains[c], n)
	}
	return nil
}

// normalizeDomain forgives the ways people write a domain in a form:
// "@Acme.com", "*.acme.com", ".acme.com.".
func normalizeDomain(d string) string {
	d = strings.ToLower(strings.TrimSpace(d))
	d = strings.TrimPrefix(d, "@")
	d = strings.TrimPrefix(d, "*")
	return strings.Trim(d, ".")
}

// validDomain requires at least two labels so that a mistyped "acme"
// is reported instead of silently matching nothing.
func validDomain(d string) bool {
	if len(d) > 253 || !strings.Contains(d, ".") {
		return false
	}
	for label := range strings.SplitSeq(d, ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c >= 0x80) {
				return false
			}
		}
	}
	return true
}

// matches reports whether domain is d or one of its subdomains.
func matches(domain, d string) bool {
	return domain == d || len(domain) > len(d) && strings.HasSuffix(domain, d) && domain[len(domain)-len(d)-1] == '.'
}

// senderDomain extracts the lowercased domain of the sender's address,
// from SenderEmail or, when that has none, from Sender ("Ann <a@b.c>").
func senderDomain(email, name string) string {
	s := email
	if !strings.Contains(s, "@") {
		s = name
	}
	at := strings.LastIndexByte(s, '@')
	if at < 0 {
		return ""
	}
	d := s[at+1:]
	if end := strings.IndexAny(d, "> \t,;\"'"); end >= 0 {
		d = d[:end]
	}
	return strings.ToLower(strings.Trim(d, "."))
}

// isWebmail reports whether domain belongs to a free mail provider.
func isWebmail(domain string) bool {
	if webmailDomains[domain] {
		return true
	}
	brand, suffix, ok := strings.Cut(domain, ".")
	if !ok || !webmailBrands[brand] {
		return false
	}
	// A public suffix is one label (gmx.de) or a second-level one
	// (yahoo.co.uk, hotmail.com.br); anything longer is someone's host
	// that happens to start with the brand, like live.acme.com.
	first, rest, two := strings.Cut(suffix, ".")
	if !two {
		return true
	}
	return !strings.Contains(rest, ".") && (first == "co" || first == "com" || first == "ne" || first == "or")
}
