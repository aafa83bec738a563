package web

import (
	"fmt"
	"html"
	"html/template"
	"strings"
)

// Charts drawn on the server as SVG: no script, no library, a few hundred
// bytes each. Each is an image with a title and a description for screen
// readers; the page also shows the numbers as a table.

const (
	chartW, chartH = 640, 220
	padL, padR     = 48, 12
	padT, padB     = 16, 36
)

// chartOpen starts a chart: its title and description for screen readers, and
// its axes up to top.
func chartOpen(b *strings.Builder, id, title, desc string, top float64, format func(float64) string) {
	fmt.Fprintf(b, `<svg class="chart" viewBox="0 0 %d %d" role="img" aria-labelledby="%s-t %s-d"><title id="%s-t">%s</title><desc id="%s-d">%s</desc>`,
		chartW, chartH, id, id, id, html.EscapeString(title), id, html.EscapeString(desc))
	axes(b, top, format)
}

// bars draws one bar per label. Each label is shown under its bar when
// there is room, and every value has a tooltip.
func bars(id, title, desc string, labels []string, values []float64, format func(float64) string) template.HTML {
	var b strings.Builder
	top := niceMax(values)
	chartOpen(&b, id, title, desc, top, format)
	n := len(values)
	if n > 0 {
		slot := float64(chartW-padL-padR) / float64(n)
		for i, v := range values {
			h := float64(chartH-padT-padB) * v / top
			x := float64(padL) + slot*float64(i) + slot*0.15
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" class="bar"><title>%s: %s</title></rect>`,
				x, float64(chartH-padB)-h, slot*0.7, h, html.EscapeString(labels[i]), html.EscapeString(format(v)))
			if n <= 16 {
				fmt.Fprintf(&b, `<text x="%.1f" y="%d" class="tick" text-anchor="middle">%s</text>`, x+slot*0.35, chartH-padB+16, html.EscapeString(labels[i]))
			}
		}
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// line draws values joined by a line, with a dot per value; a value of
// -1 is a gap (no data that day).
func line(id, title, desc string, labels []string, values []float64, top float64, format func(float64) string) template.HTML {
	var b strings.Builder
	chartOpen(&b, id, title, desc, top, format)
	n := len(values)
	if n > 0 {
		slot := float64(chartW-padL-padR) / float64(n)
		var path []string
		for i, v := range values {
			x := float64(padL) + slot*(float64(i)+0.5)
			if n <= 16 {
				fmt.Fprintf(&b, `<text x="%.1f" y="%d" class="tick" text-anchor="middle">%s</text>`, x, chartH-padB+16, html.EscapeString(labels[i]))
			}
			if v < 0 {
				continue
			}
			y := float64(chartH-padB) - float64(chartH-padT-padB)*v/top
			path = append(path, fmt.Sprintf("%.1f,%.1f", x, y))
			fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="4" class="dot"><title>%s: %s</title></circle>`, x, y,
				html.EscapeString(labels[i]), html.EscapeString(format(v)))
		}
		if len(path) > 1 {
			fmt.Fprintf(&b, `<polyline points="%s" class="line"/>`, strings.Join(path, " "))
		}
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// axes draws the baseline and three gridlines with their values.
func axes(b *strings.Builder, top float64, format func(float64) string) {
	for i := 0; i <= 2; i++ {
		v := top * float64(i) / 2
		y := float64(chartH-padB) - float64(chartH-padT-padB)*float64(i)/2
		fmt.Fprintf(b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" class="grid"/><text x="%d" y="%.1f" class="tick" text-anchor="end">%s</text>`,
			padL, chartW-padR, y, y, padL-6, y+4, html.EscapeString(format(v)))
	}
}

// niceMax rounds the largest value up to 1, 2 or 5 times a power of ten.
func niceMax(values []float64) float64 {
	m := 0.0
	for _, v := range values {
		m = max(m, v)
	}
	if m <= 0 {
		return 1
	}
	p := 1.0
	for p*10 <= m {
		p *= 10
	}
	for _, f := range []float64{1, 2, 5, 10} {
		if f*p >= m {
			return f * p
		}
	}
	return 10 * p
}
