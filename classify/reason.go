package classify

import (
	"slices"
	"strings"
)

// Limits of a reason: a reviewer reads it at a glance in a list, so it
// names the strongest evidence only.
const (
	maxReasonLen     = 200
	signalsPerReason = 3
)

// reason explains the scores: the strongest signals of each class that
// has any, winner first, then sentences such as the sender domain.
// prefix qualifies an unknown verdict.
func (s *scorer) reason(order [numClasses]class, prefix string) string {
	if len(s.evidence) == 0 {
		return "no clear signals"
	}
	// Stronger evidence first; the stable sort keeps rules of equal
	// weight in the order they fired, so reasons are deterministic.
	slices.SortStableFunc(s.evidence, func(a, b evidence) int {
		switch {
		case a.weight > b.weight:
			return -1
		case a.weight < b.weight:
			return 1
		}
		return 0
	})
	// Two rules can carry one label ("free" in the subject and in the
	// body): a reason names each signal once, with its strongest weight.
	seen := map[string]bool{}
	kept := s.evidence[:0]
	for _, e := range s.evidence {
		if !seen[e.text] {
			seen[e.text] = true
			kept = append(kept, e)
		}
	}
	s.evidence = kept
	var b strings.Builder
	b.WriteString(prefix)
	first := true
	part := func(text string) {
		sep := "; "
		if first {
			sep = ""
		}
		if b.Len()+len(sep)+len(text) > maxReasonLen {
			return
		}
		b.WriteString(sep)
		b.WriteString(text)
		first = false
	}
	for _, c := range order {
		if l := s.signals(c, true); l != "" {
			part(string(classNames[c]) + " signals: " + l)
		}
		for _, e := range s.evidence {
			if e.class == c && e.clause {
				part(e.text)
			}
		}
		if l := s.signals(c, false); l != "" {
			part("against " + string(classNames[c]) + ": " + l)
		}
	}
	return b.String()
}

// signals lists the strongest phrase and shape evidence of class c, for
// it (positive weight) or against it.
func (s *scorer) signals(c class, positive bool) string {
	var list strings.Builder
	n := 0
	for _, e := range s.evidence {
		if e.class != c || e.clause || (e.weight > 0) != positive || n == signalsPerReason {
			continue
		}
		if n > 0 {
			list.WriteString(", ")
		}
		list.WriteString(e.text)
		n++
	}
	return list.String()
}
