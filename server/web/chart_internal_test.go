package web

import (
	"bytes"
	"html/template"
	"math"
	"strings"
	"testing"
)

func renderChart(t *testing.T, name string, data any) string {
	t.Helper()
	tpl, err := template.New("").Funcs((&Web{}).funcs()).ParseFS(templateFS, "templates/_charts.html")
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := tpl.ExecuteTemplate(&b, name, data); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// A label is text, never markup, in the bar's text and in its <title>.
func TestBarChart_EscapesLabels(t *testing.T) {
	c := newBarChart("c", `覆盖率 <script>alert(1)</script>`, []barItem{
		{Label: `第1中队"><svg onload=alert(1)>`, Value: 50, Text: "50%"},
		{Label: "第2中队", Value: 0, Highlight: true},
	}, 100, 4, "%")
	out := renderChart(t, "barchart", c)
	if strings.Contains(out, "<script>") || strings.Contains(out, "<svg onload") {
		t.Fatalf("a label became markup:\n%s", out)
	}
	if n := strings.Count(out, `<rect class="bar"`); n != 2 {
		t.Fatalf("%d bars, want 2", n)
	}
	if !strings.Contains(out, "<title>第2中队：0</title>") || !strings.Contains(out, `class="row mine"`) {
		t.Fatalf("the second bar lacks its title or its highlight:\n%s", out)
	}
}

// Bars scale to the axis, and an axis of counts has whole steps.
func TestBarChart_Scale(t *testing.T) {
	c := newBarChart("c", "t", []barItem{{Label: "a", Value: 9}, {Label: "b", Value: 3}}, 0, 0, "")
	if got := c.Ticks[len(c.Ticks)-1].Label; got != "10" {
		t.Fatalf("axis ends at %s, want 10", got)
	}
	for _, tk := range c.Ticks {
		if strings.Contains(tk.Label, ".") {
			t.Fatalf("a tick of counts reads %s", tk.Label)
		}
	}
	if r := c.Bars[0].W / c.Bars[1].W; math.Abs(r-3) > 0.01 {
		t.Fatalf("bars of 9 and 3 are %v and %v wide", c.Bars[0].W, c.Bars[1].W)
	}
	if z := newBarChart("z", "t", []barItem{{Label: "a"}}, 0, 0, ""); len(z.Ticks) != 2 || z.Ticks[1].Label != "1" {
		t.Fatalf("an all-zero chart's ticks: %+v", z.Ticks)
	}
}

// A month without figures has no point; names are escaped.
func TestLineChart_GapsAndEscaping(t *testing.T) {
	c := newLineChart("l", "趋势", []string{"9月", "10月", "11月"}, []lineSeries{
		{Name: "<b>第1中队</b>", Values: []float64{90, math.NaN(), 95}},
	}, 100, "%")
	if n := len(c.Series[0].Dots); n != 2 {
		t.Fatalf("%d points, want 2 (one month without figures)", n)
	}
	out := renderChart(t, "linechart", c)
	if strings.Contains(out, "<b>") {
		t.Fatalf("a series name became markup:\n%s", out)
	}
	if !strings.Contains(out, "11月：95%") {
		t.Fatalf("a point lacks its title:\n%s", out)
	}
}
