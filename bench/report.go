package bench

import (
	"fmt"
	"math"
	"strings"
)

// Markdown renders the report as a table: medians with their spread, and
// the ratios baseline/engram (how much faster than the predecessor) and
// engram/floor (how close to the least the database can do).
func (rep Report) Markdown() string {
	var b strings.Builder
	db := fmt.Sprintf("database on loopback, round trip %.2f ms (median ping)", float64(rep.RoundTrip)/1e6)
	if rep.Latency > 0 {
		db = fmt.Sprintf("database round trip +%s by a delaying proxy, %.2f ms measured (median ping)", rep.Latency, float64(rep.RoundTrip)/1e6)
	}
	fmt.Fprintf(&b, "Engine: %s · %s · background documents: %d · runs per figure: %d (median, min–max) · %s\n\n",
		rep.Engine, db, rep.Background, rep.Runs, rep.At.Format("2006-01-02 15:04 UTC"))
	b.WriteString("| operation | n | engram (HTTP) ms | naive baseline ms | raw-SQL floor ms | baseline / engram | engram / floor |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range rep.Results {
		fmt.Fprintf(&b, "| %s | %d | %s | %s | %s | %s | %s |\n", r.Op, r.N, cell(&r.Engram), cell(r.Baseline), cell(r.Floor),
			ratio(r.Baseline, &r.Engram), ratio(&r.Engram, r.Floor))
	}
	return b.String()
}

func cell(s *Sample) string {
	if s == nil {
		return "—"
	}
	return fmt.Sprintf("%.2f (%.2f–%.2f)", s.Median, s.Min, s.Max)
}

func ratio(a, b *Sample) string {
	if a == nil || b == nil || b.Median == 0 {
		return "—"
	}
	return fmt.Sprintf("%.1f×", a.Median/b.Median)
}

// SVG draws time against number of ids for one operation, both axes on a
// log scale, one line each for baseline, engram and floor.
func (rep Report) SVG(op string) string {
	const w, h, left, right, top, bottom = 640, 400, 70, 150, 40, 50
	var pts [3][][2]float64
	for _, r := range rep.Results {
		if r.Op != op {
			continue
		}
		for i, s := range []*Sample{r.Baseline, &r.Engram, r.Floor} {
			if s != nil && s.Median > 0 {
				pts[i] = append(pts[i], [2]float64{float64(r.N), s.Median})
			}
		}
	}
	minX, maxX, minY, maxY := math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
	for _, line := range pts {
		for _, p := range line {
			minX, maxX = math.Min(minX, p[0]), math.Max(maxX, p[0])
			minY, maxY = math.Min(minY, p[1]), math.Max(maxY, p[1])
		}
	}
	if math.IsInf(minX, 1) {
		return ""
	}
	lx0, lx1 := math.Floor(math.Log10(minX)), math.Ceil(math.Log10(maxX))
	ly0, ly1 := math.Floor(math.Log10(minY)), math.Ceil(math.Log10(maxY))
	if lx1 == lx0 {
		lx1++
	}
	if ly1 == ly0 {
		ly1++
	}
	px := func(x float64) float64 { return left + (math.Log10(x)-lx0)/(lx1-lx0)*(w-left-right) }
	py := func(y float64) float64 { return h - bottom - (math.Log10(y)-ly0)/(ly1-ly0)*(h-top-bottom) }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">`+"\n", w, h)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`+"\n", w, h)
	fmt.Fprintf(&b, `<text x="%d" y="20" font-size="14">%s on %s: time against number of ids (log–log)</text>`+"\n", left, op, rep.Engine)
	for e := lx0; e <= lx1; e++ {
		x := px(math.Pow(10, e))
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#ddd"/><text x="%.1f" y="%d" text-anchor="middle">%g</text>`+"\n",
			x, top, x, h-bottom, x, h-bottom+16, math.Pow(10, e))
	}
	for e := ly0; e <= ly1; e++ {
		y := py(math.Pow(10, e))
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ddd"/><text x="%d" y="%.1f" text-anchor="end">%g ms</text>`+"\n",
			left, y, w-right, y, left-6, y+4, math.Pow(10, e))
	}
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle">ids</text>`+"\n", (w-right+left)/2, h-12)
	colours := []string{"#d62728", "#1f77b4", "#2ca02c"}
	names := []string{"naive baseline", "engram (HTTP)", "raw-SQL floor"}
	for i, line := range pts {
		if len(line) == 0 {
			continue
		}
		var path []string
		for _, p := range line {
			path = append(path, fmt.Sprintf("%.1f,%.1f", px(p[0]), py(p[1])))
			fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="3" fill="%s"/>`+"\n", px(p[0]), py(p[1]), colours[i])
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>`+"\n", colours[i], strings.Join(path, " "))
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="12" height="12" fill="%s"/><text x="%d" y="%d">%s</text>`+"\n",
			w-right+12, top+20*i, colours[i], w-right+30, top+20*i+11, names[i])
	}
	b.WriteString("</svg>\n")
	return b.String()
}
