package demo

import (
	"fmt"
	"sort"
	"time"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/store"
)

// The demo's cases (立案): every finding the leaders escalated went to a
// case, as it does on a live server, and so did some critical findings;
// each is carried as far through opened → investigating → decided →
// closed as its days allow, so that the district holds cases in every
// state. One case, of an inspection a hundred days ago, is still under
// investigation: past its 90-day limit, overdue.

// caseSpec is a case to make: its source finding, when it was opened and
// how far it goes.
type caseSpec struct {
	finding int // index in data.Findings
	source  string
	at      time.Time
	stage   string // the last state it may reach
	summary string
}

// caseStages is the cycle of states the demo's cases stop at.
var caseStages = []string{schema.CaseInvestigating, schema.CaseDecided, schema.CaseClosed, schema.CaseOpened}

// cases adds the demo's cases to data, and the old inspection whose case
// is overdue.
func (g *gen) cases(cl schema.Checklist, sum *Summary) {
	var specs []caseSpec
	old := -1
	if i, at, ok := g.oldFinding(cl, sum); ok {
		old = i
		specs = append(specs, caseSpec{finding: i, source: schema.CaseFromEscalatedFinding, at: at, stage: schema.CaseInvestigating,
			summary: "未核验上网人员有效身份证件，情节严重 (IDs not checked, serious)"})
	}
	critical := 0
	for i, f := range g.data.Findings {
		switch {
		case i == old:
		case f.Status == schema.FindingEscalated && f.EscalatedAt != nil && f.CaseID == "":
			specs = append(specs, caseSpec{finding: i, source: schema.CaseFromEscalatedFinding, at: *f.EscalatedAt, summary: f.EscalationReason})
		case f.Critical && f.Status != schema.FindingClosed && f.Status != schema.FindingEscalated:
			if critical++; critical%6 == 1 && f.OpenedAt.Add(3*time.Hour).Before(g.now) {
				specs = append(specs, caseSpec{finding: i, source: schema.CaseFromCriticalFinding, at: f.OpenedAt.Add(3 * time.Hour),
					summary: f.ItemID + " " + f.TitleZH + "：严重违规 (critical)"})
			}
		}
	}
	sort.SliceStable(specs, func(i, j int) bool { return specs[i].at.Before(specs[j].at) })
	numbers := map[int]int{}
	for k, sp := range specs {
		if sp.stage == "" {
			sp.stage = caseStages[k%len(caseStages)]
		}
		f := &g.data.Findings[sp.finding]
		year := schema.CaseYear(sp.at)
		numbers[year]++
		c := schema.NewCase(g.uuid(), schema.CaseNumber(year, numbers[year]), schema.CaseSource{Kind: sp.source, Finding: f},
			sp.summary, fmt.Sprintf("leader%d", f.SquadID), sp.at)
		c = g.carry(c, *f, sp.stage)
		f.CaseID = c.ID
		g.data.Cases = append(g.data.Cases, schema.CaseClock(c, g.now))
	}
}

// carry takes a case through its states up to stage, each step a few
// days after the one before and none after now.
func (g *gen) carry(c schema.Case, f schema.Finding, stage string) schema.Case {
	leader := c.OpenedBy
	team := g.users_[c.SquadID]
	licensed := true
	for _, v := range g.venues_ {
		if v.id == c.VenueID {
			licensed = v.licensed
		}
	}
	at := c.OpenedAt
	step := func(after time.Duration, a schema.CaseAction) bool {
		at = at.Add(after)
		if !at.Before(g.now) {
			return false
		}
		a.By = leader
		next, err := schema.DecideCase(c, a, schema.CaseVenue{Licensed: licensed}, at)
		if err != nil {
			return false
		}
		c = next
		return true
	}
	if stage == schema.CaseOpened {
		return c
	}
	evidence := []schema.CaseEvidence{{Kind: schema.EvidenceInspection, Ref: f.InspectionID, Note: "发现问题的检查 (the inspection that found it)"},
		{Kind: schema.EvidenceFinding, Ref: f.ID}}
	if !step(20*time.Hour, schema.CaseAction{Action: schema.CaseActInvestigate, Note: "调取监控，询问经营者 (CCTV, questioning)"}) ||
		!step(time.Hour, schema.CaseAction{Action: schema.CaseActAttach, Evidence: evidence}) ||
		!step(time.Hour, schema.CaseAction{Action: schema.CaseActHandlers, Handlers: []schema.Inspector{
			{Username: team[0].username, Name: team[0].name, BadgeNo: team[0].badge},
			{Username: team[1].username, Name: team[1].name, BadgeNo: team[1].badge}}}) ||
		stage == schema.CaseInvestigating {
		return c
	}
	d := schema.CaseDecision{Type: schema.DecisionWarning, Note: "初次违规，予以警告 (first offence: warning)"}
	switch {
	case !licensed:
		d = schema.CaseDecision{Type: schema.DecisionClosure, Note: "依法予以取缔 (closed down)"}
	case g.rnd.Float64() < 0.6:
		d = schema.CaseDecision{Type: schema.DecisionFine, FineYuan: int64(2000 * (1 + g.rnd.IntN(7))), Note: "依据条例第三十一条 (art. 31)"}
	}
	if !step(time.Duration(5+g.rnd.IntN(10))*24*time.Hour, schema.CaseAction{Action: schema.CaseActDecide, Decision: d}) ||
		stage == schema.CaseDecided {
		return c
	}
	step(time.Duration(3+g.rnd.IntN(5))*24*time.Hour, schema.CaseAction{Action: schema.CaseActClose, Note: "处罚决定已执行 (carried out)"})
	return c
}

// oldFinding adds an inspection made a hundred days ago at a licensed café
// of squad 1 that failed NC04 (critical), approved the next morning and
// escalated: its case is past the 90-day limit. It returns the finding's
// index in data.Findings and when it was escalated.
func (g *gen) oldFinding(cl schema.Checklist, sum *Summary) (int, time.Time, bool) {
	var v *venue
	for i := range g.venues_ {
		if x := &g.venues_[i]; x.squad == 1 && x.kind == schema.KindNetCafe && x.licensed {
			v = x
			break
		}
	}
	team := g.users_[1]
	if v == nil || len(team) < 2 {
		return 0, time.Time{}, false
	}
	start := time.Date(g.now.Year(), g.now.Month(), g.now.Day(), 2, 0, 0, 0, time.UTC).AddDate(0, 0, -100) // 10:00 Beijing
	finish := start.Add(45 * time.Minute)
	items := make([]schema.ItemResult, 0, len(cl.Items))
	for _, it := range cl.Items {
		r := schema.ItemResult{ItemID: it.ID, Result: schema.ResultPass}
		if it.ID == "NC04" {
			r.Result, r.Note = schema.ResultFail, "多名上网人员未登记身份证件 (several users not registered)"
			if g.photos {
				r.Photos = []schema.PhotoRef{g.photoRef(finish, *v)}
			}
		}
		items = append(items, r)
	}
	leader := "leader1"
	reviewAt := finish.Add(20 * time.Hour)
	in := schema.Inspection{ID: g.uuid(), VenueID: v.id, SquadID: 1, DeviceID: "demo-device", Status: schema.StatusApproved,
		ChecklistVersion: cl.Version, Inspectors: []schema.Inspector{
			{Username: team[0].username, Name: team[0].name, BadgeNo: team[0].badge},
			{Username: team[1].username, Name: team[1].name, BadgeNo: team[1].badge}},
		StartedAt: start, FinishedAt: &finish, Items: items, Version: 1,
		HLC:    schema.HLC{WallMS: finish.UnixMilli(), Node: "demo"}.String(),
		Review: &schema.Review{ReviewedBy: leader, ReviewedAt: reviewAt, Decision: schema.StatusApproved, Version: 1}}
	g.data.Inspections = append(g.data.Inspections, store.ImportedInspection{Inspection: in, AuthorID: team[0].id, ReceivedAt: finish})
	sum.Inspections++
	created, _ := schema.FindingsOnApproval(in, cl, nil, reviewAt, g.uuid)
	for _, f := range created {
		if f.ItemID != "NC04" {
			continue
		}
		at := reviewAt.Add(2 * time.Hour)
		f, err := schema.DecideFinding(f, schema.FindingAction{Action: schema.FindingActEscalate, By: leader,
			Text: "未核验身份证件，情节严重，立案查处 (serious: a case)"}, at)
		if err != nil {
			return 0, time.Time{}, false
		}
		if g.findingAt == nil {
			g.findingAt = map[string]int{}
		}
		g.findingAt[f.ID] = len(g.data.Findings)
		g.data.Findings = append(g.data.Findings, f)
		return len(g.data.Findings) - 1, at, true
	}
	return 0, time.Time{}, false
}
