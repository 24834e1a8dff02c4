package web

import (
	"math"
	"strconv"
	"unicode/utf8"
)

// The charts are drawn on the server as inline SVG, like the zone map:
// every coordinate is computed here and the templates (_charts.html) only
// place them. Labels are text nodes and <title> elements, escaped by
// html/template like any other text; nothing is ever template.HTML, so a
// squad or item name cannot become markup. Colours come from classes in
// app.css (the pages' CSP allows no inline style).

// barChart is a horizontal bar chart: one row per bar, its label on the
// left (Chinese labels read across, not up the axis), its value after
// the bar. Max is the value of a full-length bar.
type barChart struct {
	ID, Title string
	W, H      int
	LabelW    float64 // where the bars start
	Bars      []chartBar
	Ticks     []chartTick // vertical grid lines with their values
	Base      float64     // y of the axis under the last bar
}

// chartBar is one row of a bar chart.
type chartBar struct {
	Label, Value string
	Title        string // the row's accessible name: label and value
	X, Y, W, H   float64
	TextY        float64 // baseline of the label and the value
	ValueX       float64
	Highlight    bool
}

// chartTick is one grid line of an axis and its label.
type chartTick struct {
	X1, Y1, X2, Y2 float64
	TX, TY         float64
	Label          string
}

// barItem is a value to draw as a bar.
type barItem struct {
	Label     string
	Value     float64
	Text      string // shown after the bar; default the value
	Highlight bool
}

const (
	chartW    = 720 // the viewBox width; the SVG scales to its column
	barRow    = 30
	barHeight = 18
	chartTop  = 8
	chartAxis = 24 // room under the bars for the tick labels
)

// newBarChart lays out items as bars of a chart max wide (max ≤ 0: the
// largest value rounded up, at least 1), with ticks ticks along the value
// axis (ticks ≤ 0: whole steps, for counts).
func newBarChart(id, title string, items []barItem, max float64, ticks int, unit string) *barChart {
	if max <= 0 {
		max = 1
		for _, it := range items {
			max = math.Max(max, it.Value)
		}
		max = niceCeil(max)
	}
	longest := 4
	for _, it := range items {
		longest = int(math.Max(float64(longest), float64(labelWidth(it.Label))))
	}
	c := &barChart{ID: id, Title: title, W: chartW, LabelW: math.Min(float64(longest)*8+12, 260)}
	valueRoom := 64.0
	span := float64(c.W) - c.LabelW - valueRoom
	for i, it := range items {
		y := float64(chartTop + i*barRow)
		w := 0.0
		if it.Value > 0 {
			w = math.Max(1, math.Min(it.Value, max)/max*span)
		}
		text := it.Text
		if text == "" {
			text = num(it.Value)
		}
		c.Bars = append(c.Bars, chartBar{Label: it.Label, Value: text, Title: it.Label + "：" + text,
			X: c.LabelW, Y: y, W: round1(w), H: barHeight, TextY: y + barHeight - 4, ValueX: round1(c.LabelW + w + 6),
			Highlight: it.Highlight})
	}
	c.Base = float64(chartTop + len(items)*barRow)
	c.H = int(c.Base) + chartAxis
	if ticks < 1 {
		ticks = countTicks(max)
	}
	for i := 0; i <= ticks; i++ {
		v := max * float64(i) / float64(ticks)
		x := round1(c.LabelW + v/max*span)
		c.Ticks = append(c.Ticks, chartTick{X1: x, Y1: chartTop - 4, X2: x, Y2: c.Base, TX: x, TY: c.Base + 16, Label: num(v) + unit})
	}
	return c
}

// lineChart is values over months: one polyline per series on a value
// axis from 0 to Max, with the months along the bottom.
type lineChart struct {
	ID, Title string
	W, H      int
	Series    []chartSeries
	XLabels   []chartTick
	YTicks    []chartTick
}

// chartSeries is one line with its points; Class picks its colour.
type chartSeries struct {
	Name      string
	Class     string
	Points    string // the polyline's points attribute
	Dots      []chartDot
	Highlight bool
}

// chartDot is one point of a line, with its value for the reader.
type chartDot struct {
	X, Y  float64
	Title string
}

// lineSeries is one line's values, one per label of the chart; NaN is a
// month without figures (the line skips it).
type lineSeries struct {
	Name      string
	Values    []float64
	Highlight bool
}

const (
	lineLeft   = 48
	lineRight  = 16
	lineTop    = 12
	lineHeight = 220
)

// newLineChart lays out series over the labels on an axis 0 to max.
func newLineChart(id, title string, labels []string, series []lineSeries, max float64, unit string) *lineChart {
	c := &lineChart{ID: id, Title: title, W: chartW, H: lineTop + lineHeight + 28}
	plotW := float64(c.W - lineLeft - lineRight)
	x := func(i int) float64 {
		if len(labels) <= 1 {
			return lineLeft + plotW/2
		}
		return round1(lineLeft + plotW*float64(i)/float64(len(labels)-1))
	}
	y := func(v float64) float64 { return round1(lineTop + lineHeight*(1-math.Min(v, max)/max)) }
	for i := 0; i <= 4; i++ {
		v := max * float64(i) / 4
		yy := y(v)
		c.YTicks = append(c.YTicks, chartTick{X1: lineLeft, Y1: yy, X2: float64(c.W - lineRight), Y2: yy, TX: lineLeft - 6, TY: yy + 4, Label: num(v) + unit})
	}
	for i, l := range labels {
		c.XLabels = append(c.XLabels, chartTick{X1: x(i), Y1: lineTop, X2: x(i), Y2: lineTop + lineHeight, TX: x(i), TY: lineTop + lineHeight + 20, Label: l})
	}
	for k, s := range series {
		cs := chartSeries{Name: s.Name, Class: "s" + strconv.Itoa(k%8+1), Highlight: s.Highlight}
		for i, v := range s.Values {
			if i >= len(labels) || math.IsNaN(v) {
				continue
			}
			px, py := x(i), y(v)
			if cs.Points != "" {
				cs.Points += " "
			}
			cs.Points += num(px) + "," + num(py)
			cs.Dots = append(cs.Dots, chartDot{X: px, Y: py, Title: s.Name + " · " + labels[i] + "：" + num(v) + unit})
		}
		c.Series = append(c.Series, cs)
	}
	return c
}

// countTicks divides an axis of counts 0 to max into whole steps: at
// most five, so that no tick reads 2.5 of something counted.
func countTicks(max float64) int {
	for _, n := range []int{5, 4, 2} {
		if step := max / float64(n); step >= 1 && step == math.Trunc(step) {
			return n
		}
	}
	return 1
}

// niceCeil rounds a positive value up to 1, 2 or 5 times a power of ten.
func niceCeil(v float64) float64 {
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

// num writes a figure the way the charts label it: at most two decimals,
// no trailing zeros.
func num(v float64) string {
	return strconv.FormatFloat(math.Round(v*100)/100, 'f', -1, 64)
}

// labelWidth is a label's width in half-width cells: a Chinese character
// takes two.
func labelWidth(s string) int {
	n := 0
	for _, r := range s {
		if r < 0x1100 || !utf8.ValidRune(r) {
			n++
		} else {
			n += 2
		}
	}
	return n
}
