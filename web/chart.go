package web

import (
	"fmt"
	"html/template"
	"strings"
	"time"

	"github.com/engram-kb/engram"
)

// chart is a horizontal bar chart the server draws as SVG: no script, no
// inline style, so the page's CSP stays strict and it prints.
type chart struct {
	Title string
	Bars  []bar
}

type bar struct {
	Label string
	Value int
}

// Height, Width and the geometry of each bar, for the template.
const (
	chartWidth  = 420
	chartLabel  = 120
	chartRow    = 26
	chartBarMax = chartWidth - chartLabel - 50
)

// Height is the SVG's height.
func (c chart) Height() int { return len(c.Bars)*chartRow + 8 }

// Width is the SVG's width.
func (c chart) Width() int { return chartWidth }

// Rows lays the bars out.
func (c chart) Rows() []barRow {
	maxV := 0
	for _, b := range c.Bars {
		maxV = max(maxV, b.Value)
	}
	out := make([]barRow, len(c.Bars))
	for i, b := range c.Bars {
		w := 0
		if maxV > 0 {
			w = b.Value * chartBarMax / maxV
		}
		if b.Value > 0 && w < 2 {
			w = 2
		}
		y := i*chartRow + 4
		out[i] = barRow{Label: b.Label, Value: b.Value, Y: y, TextY: y + 15, X: chartLabel, W: w, ValueX: chartLabel + w + 6, H: chartRow - 8}
	}
	return out
}

type barRow struct {
	Label         string
	Value         int
	X, Y, W, H    int
	TextY, ValueX int
}

// gapCharts are the gap board's stats panel.
func gapCharts(st engram.GapStats) []chart {
	status := chart{Title: "Gaps by status", Bars: []bar{
		{"open", st.OpenGaps}, {"in progress", st.InProgressGaps}, {"answered", st.AnsweredGaps},
		{"verified", st.VerifiedGaps}, {"closed", st.ClosedGaps},
	}}
	cat := chart{Title: "Gaps by category"}
	for _, c := range engram.GapCategories {
		cat.Bars = append(cat.Bars, bar{string(c), st.ByCategory[c]})
	}
	answers := chart{Title: "Answers", Bars: []bar{
		{"answers", st.TotalAnswers}, {"verified", st.VerifiedAnswers},
		{"useful", st.UsefulFeedback}, {"not useful", st.NotUsefulFeedback},
	}}
	return []chart{status, cat, answers}
}

var funcs = template.FuncMap{
	"percent": jobPercent,
	"when": func(t any) string {
		switch v := t.(type) {
		case time.Time:
			return v.UTC().Format("2006-01-02 15:04")
		case *time.Time:
			if v == nil {
				return "—"
			}
			return v.UTC().Format("2006-01-02 15:04")
		}
		return ""
	},
	"conf": func(c *float64) string {
		if c == nil {
			return "—"
		}
		return fmt.Sprintf("%.0f%%", *c*100)
	},
	"deref": func(s *string) string {
		if s == nil {
			return ""
		}
		return *s
	},
	"label": func(s any) string { return strings.ReplaceAll(fmt.Sprint(s), "_", " ") },
	"add":   func(a, b int) int { return a + b },
	"lower": strings.ToLower,
}
