// Package demo seeds an empty server database with a demo district: six
// squads in Linyi's Lanshan district, their leaders and inspectors, a few
// hundred venues, about a hundred schools with campus polygons, and a few
// months of past inspections so that reports have history. Everything is
// generated from a fixed seed, so two demo databases look the same.
package demo

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/google/uuid"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/store"
)

// Password is the password of every demo user.
const Password = "patrol-demo"

// Options sizes the demo district. Zero values take the defaults.
type Options struct {
	Now           func() time.Time
	HashPassword  func(string) (string, error)
	Venues        int // default 320
	Schools       int // default 100
	MonthsHistory int // default 3
	Seed          uint64
	// PutPhoto, when set, stores the bytes of one evidence photo (the
	// server's photos.Service.Ingest); the past inspections then carry
	// photos of failed items and of re-checks, and re-checks can pass.
	// Without it they name no photos.
	PutPhoto func(ctx context.Context, data []byte) error
	// Clock, when set, is the clock the store was opened on: the demo's
	// complaints are then taken in and acted on at the times of their own
	// steps. Without it each step carries the store's time of seeding.
	Clock *Clock
	// ComplaintLimits are the server's time limits of complaints; zero
	// takes schema.DefaultComplaintLimits.
	ComplaintLimits schema.ComplaintLimits
}

// Summary says what Seed wrote.
type Summary struct {
	Squads, Users, Venues, Unlicensed, Schools, Inspections, Complaints int
	Logins                                                              []string
	// Since is the first day of the history: the rollups of the district
	// start there.
	Since time.Time
}

// Lanshan district, Linyi, Shandong: the area the demo squads share.
const (
	minLat, maxLat = 35.02, 35.17
	minLng, maxLng = 118.24, 118.41
)

var squadNames = []string{"第一中队 (Squad 1)", "第二中队 (Squad 2)", "第三中队 (Squad 3)", "第四中队 (Squad 4)", "第五中队 (Squad 5)", "第六中队 (Squad 6)"}

// Seed writes the demo district into st, which must hold no users. It
// goes through the store's Import like any other data, so the district is
// the same on every store and devices pull it like any other data; the
// complaints then go through the store's intake and actions, and the
// inspection that investigates one through a push.
func Seed(ctx context.Context, st Store, opts Options) (Summary, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.HashPassword == nil {
		return Summary{}, fmt.Errorf("demo: seed: HashPassword is required")
	}
	if opts.Venues <= 0 {
		opts.Venues = 320
	}
	if opts.Schools <= 0 {
		opts.Schools = 100
	}
	if opts.MonthsHistory <= 0 {
		opts.MonthsHistory = 3
	}
	if opts.Seed == 0 {
		opts.Seed = 20180301
	}
	g := &gen{rnd: rand.New(rand.NewPCG(opts.Seed, opts.Seed^0x9e3779b97f4a7c15)), now: opts.Now().UTC(),
		orders: map[int]int{}, photos: opts.PutPhoto != nil}
	var sum Summary
	g.squads(&sum)
	if err := g.users(opts.HashPassword, &sum); err != nil {
		return Summary{}, fmt.Errorf("demo: seed: %w", err)
	}
	g.venues(opts.Venues, &sum)
	g.schools(opts.Schools, &sum)
	sum.Since = time.Date(g.now.Year(), g.now.Month(), 1, 0, 0, 0, 0, time.UTC).AddDate(0, -opts.MonthsHistory, 0)
	if err := g.history(opts.MonthsHistory, &sum); err != nil {
		return Summary{}, fmt.Errorf("demo: seed: %w", err)
	}
	cl, err := schema.ChecklistByVersion(schema.DefaultChecklistVersion)
	if err != nil {
		return Summary{}, fmt.Errorf("demo: seed: %w", err)
	}
	g.cases(cl, &sum)
	if err := st.Import(ctx, g.data); err != nil {
		return Summary{}, fmt.Errorf("demo: seed: %w", err)
	}
	if opts.PutPhoto != nil {
		for _, p := range append(demoPhotos(), demoSignatures()...) {
			if err := opts.PutPhoto(ctx, p.data); err != nil {
				return Summary{}, fmt.Errorf("demo: seed: photo %s: %w", p.sha[:12], err)
			}
		}
	}
	if err := g.complaints(ctx, st, opts, &sum); err != nil {
		return Summary{}, fmt.Errorf("demo: seed: %w", err)
	}
	return sum, nil
}

type gen struct {
	data    store.Dataset // what Seed imports
	rnd     *rand.Rand
	now     time.Time
	squads_ []squad
	users_  map[int64][]user // inspectors by squad
	leaders map[int64]string
	venues_ []venue
	// findingAt is where each finding sits in data.Findings.
	findingAt map[string]int
	orders    map[int]int              // the last order number of each year
	photos    bool                     // evidence photos are named (Options.PutPhoto is set)
	recordN   map[string]int           // the last on-site record number of each badge (records.go)
	venueAt   map[string]*schema.Venue // the generated venues by id
}

type squad struct {
	id                             int64
	minLat, minLng, maxLat, maxLng float64
}

type user struct{ id, username, name, badge string }

type venue struct {
	id, kind string
	squad    int64
	licensed bool
	lat, lng float64
}

func (g *gen) uuid() string {
	var b [16]byte
	for i := range b {
		b[i] = byte(g.rnd.UintN(256))
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return uuid.UUID(b).String()
}

// squads splits the district into a 3 × 2 grid of jurisdictions.
func (g *gen) squads(sum *Summary) {
	dLat := (maxLat - minLat) / 2
	dLng := (maxLng - minLng) / 3
	for i := 0; i < 6; i++ {
		s := squad{id: int64(i + 1)}
		row, col := i/3, i%3
		s.minLat, s.maxLat = minLat+float64(row)*dLat, minLat+float64(row+1)*dLat
		s.minLng, s.maxLng = minLng+float64(col)*dLng, minLng+float64(col+1)*dLng
		g.data.Squads = append(g.data.Squads, store.Squad{ID: s.id, Name: squadNames[i], Bounds: [4]float64{s.minLat, s.minLng, s.maxLat, s.maxLng}})
		g.squads_ = append(g.squads_, s)
	}
	sum.Squads = 6
}

var surnames = []string{"王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙", "胡", "朱", "高", "林", "何", "郭", "马"}
var givenNames = []string{"伟", "芳", "娜", "敏", "静", "强", "磊", "军", "洋", "勇", "艳", "杰", "涛", "明", "超", "霞", "平", "刚", "桂英"}

// users makes the admin, the leaders and the inspectors, each password
// hashed on its own (its own salt), so that one cracked hash does not crack
// them all and equal hashes do not show who shares a password.
func (g *gen) users(hashPassword func(string) (string, error), sum *Summary) error {
	var hashErr error
	add := func(username, name, badge, role string, squadID *int64) string {
		hash, err := hashPassword(Password)
		if err != nil && hashErr == nil {
			hashErr = fmt.Errorf("hash password of %s: %w", username, err)
		}
		u := store.User{ID: g.uuid(), Username: username, DisplayName: name, BadgeNo: badge, Role: role, SquadID: squadID, PasswordHash: hash}
		g.data.Users = append(g.data.Users, u)
		sum.Users++
		sum.Logins = append(sum.Logins, username)
		return u.ID
	}
	add("admin", "局管理员 (bureau admin)", "37130000001", schema.RoleAdmin, nil)
	g.users_ = map[int64][]user{}
	g.leaders = map[int64]string{}
	for s := int64(1); s <= 6; s++ {
		name := surnames[int(s)%len(surnames)] + givenNames[int(s)%len(givenNames)]
		g.leaders[s] = add(fmt.Sprintf("leader%d", s), name, fmt.Sprintf("371300%02d100", s), schema.RoleLeader, &s)
	}
	for n := 1; n <= 12; n++ {
		s := int64((n + 1) / 2)
		name := surnames[(n+6)%len(surnames)] + givenNames[(n*7)%len(givenNames)]
		u := user{username: fmt.Sprintf("inspector%d", n), name: name, badge: fmt.Sprintf("371300%02d2%02d", s, n)}
		u.id = add(u.username, u.name, u.badge, schema.RoleInspector, &s)
		g.users_[s] = append(g.users_[s], u)
	}
	return hashErr
}

var cafeWords = []string{"星空", "极速", "网鱼", "天空", "蓝海", "飞扬", "超越", "电竞", "未来", "光速", "龙腾", "金鹰", "银河", "启航", "e时代"}
var streets = []string{"通达路", "沂蒙路", "解放路", "金雀山路", "银雀山路", "临西五路", "兰山路", "涑河北街", "北京路", "上海路", "齐鲁大道", "蒙山大道", "沂河路", "工业大道", "成都路"}

func (g *gen) venues(n int, sum *Summary) {
	created := g.now.AddDate(-2, 0, 0)
	clockHLC := schema.HLC{WallMS: created.UnixMilli(), Node: "server"}.String()
	clocks := map[string]string{}
	for _, f := range schema.VenueFields {
		clocks[f] = clockHLC
	}
	for i := 0; i < n; i++ {
		v := venue{id: g.uuid(), licensed: true}
		r := g.rnd.Float64()
		var name string
		switch {
		case r < 0.58:
			v.kind, name = schema.KindNetCafe, cafeWords[g.rnd.IntN(len(cafeWords))]+"网咖"
		case r < 0.74:
			v.kind, name = schema.KindArcade, cafeWords[g.rnd.IntN(len(cafeWords))]+"电玩城"
		case r < 0.88:
			v.kind, name = schema.KindKTV, cafeWords[g.rnd.IntN(len(cafeWords))]+"KTV"
		default:
			v.kind, name = schema.KindBookshop, cafeWords[g.rnd.IntN(len(cafeWords))]+"书店"
		}
		name = fmt.Sprintf("%s(%s店)", name, streets[g.rnd.IntN(len(streets))][:6])
		licence := fmt.Sprintf("文网文〔%d〕%05d号", 2015+g.rnd.IntN(9), 10000+g.rnd.IntN(89999))
		if v.kind == schema.KindNetCafe && i%40 == 7 { // a few black cafés
			v.licensed, licence, name = false, "", fmt.Sprintf("无名网吧 #%d", i)
			sum.Unlicensed++
		}
		lat := minLat + g.rnd.Float64()*(maxLat-minLat)
		lng := minLng + g.rnd.Float64()*(maxLng-minLng)
		v.squad = g.squadAt(lat, lng)
		addr := fmt.Sprintf("兰山区%s%d号", streets[g.rnd.IntN(len(streets))], 1+g.rnd.IntN(300))
		phone := fmt.Sprintf("0539-8%07d", g.rnd.IntN(10000000))
		g.data.Venues = append(g.data.Venues, schema.Venue{ID: v.id, SquadID: v.squad, Kind: v.kind, Name: name, Address: addr,
			LicenceNo: licence, Licensed: v.licensed, Phone: phone, OpenState: schema.OpenStateOpen, Lat: round6(lat), Lng: round6(lng),
			Clocks: clocks, UpdatedAt: created})
		v.lat, v.lng = round6(lat), round6(lng)
		g.venues_ = append(g.venues_, v)
		sum.Venues++
	}
}

func (g *gen) squadAt(lat, lng float64) int64 {
	for _, s := range g.squads_ {
		if lat >= s.minLat && lat <= s.maxLat && lng >= s.minLng && lng <= s.maxLng {
			return s.id
		}
	}
	return 1
}

func (g *gen) schools(n int, sum *Summary) {
	for i := 0; i < n; i++ {
		kind, name := "primary", fmt.Sprintf("兰山区第%d实验小学", i+1)
		if i%3 == 1 {
			kind, name = "secondary", fmt.Sprintf("临沂第%d中学", i+1)
		}
		cLat := minLat + 0.005 + g.rnd.Float64()*(maxLat-minLat-0.01)
		cLng := minLng + 0.005 + g.rnd.Float64()*(maxLng-minLng-0.01)
		// A campus of 120–260 m by 80–180 m, turned by up to 30°.
		w, h := 120+g.rnd.Float64()*140, 80+g.rnd.Float64()*100
		ring := rectangle(cLat, cLng, w, h, (g.rnd.Float64()-0.5)*math.Pi/3)
		addr := fmt.Sprintf("兰山区%s%d号", streets[g.rnd.IntN(len(streets))], 1+g.rnd.IntN(300))
		g.data.Schools = append(g.data.Schools, schema.School{ID: g.uuid(), Name: name, Kind: kind, Address: addr, Polygon: ring})
		sum.Schools++
	}
}

// metresPerDegLat is the length of one degree of latitude.
const metresPerDegLat = 111_320.0

func rectangle(lat, lng, w, h, angle float64) [][2]float64 {
	mLng := metresPerDegLat * math.Cos(lat*math.Pi/180)
	corners := [][2]float64{{-w / 2, -h / 2}, {w / 2, -h / 2}, {w / 2, h / 2}, {-w / 2, h / 2}}
	ring := make([][2]float64, 0, 5)
	for _, c := range corners {
		x := c[0]*math.Cos(angle) - c[1]*math.Sin(angle)
		y := c[0]*math.Sin(angle) + c[1]*math.Cos(angle)
		ring = append(ring, [2]float64{round6(lng + x/mLng), round6(lat + y/metresPerDegLat)})
	}
	return append(ring, ring[0])
}

func round6(f float64) float64 { return math.Round(f*1e6) / 1e6 }

// history writes past café inspections: each café about once a month, by
// two inspectors of its squad, and the squad leaders' work on them, as the
// store would have recorded it had it happened through the workbench:
// most approved, some returned with a comment (and some of those amended
// and submitted again as version 2), the recent ones still waiting; every
// failed item of an approved inspection in the ledger, ordered to be
// corrected, escalated, re-checked by the next month's visit, closed, or
// failed again (a repeat, and overdue once its deadline passed). A few
// cafés with a poor record fail more often and keep failing.
func (g *gen) history(months int, sum *Summary) error {
	cl, err := schema.ChecklistByVersion(schema.DefaultChecklistVersion)
	if err != nil {
		return err
	}
	for m := months; m >= 0; m-- {
		monthStart := time.Date(g.now.Year(), g.now.Month(), 1, 0, 0, 0, 0, time.UTC).AddDate(0, -m, 0)
		days := 26
		if m == 0 { // this month so far: the visits made until yesterday
			days = int(g.now.Sub(monthStart).Hours()/24) - 1
			if days < 1 {
				continue
			}
		}
		for vi, v := range g.venues_ {
			if v.kind != schema.KindNetCafe || !v.licensed || g.rnd.Float64() < 0.06 { // a few missed: at risk in reports
				continue
			}
			if m == 0 && g.rnd.Float64() > float64(days)/30 {
				continue
			}
			// A visit by day or in the evening, 09:00–22:59 Beijing time (UTC+8).
			start := monthStart.Add(time.Duration(g.rnd.IntN(days))*24*time.Hour + time.Duration(1+g.rnd.IntN(14))*time.Hour +
				time.Duration(g.rnd.IntN(4))*15*time.Minute)
			if !start.Add(2 * time.Hour).Before(g.now) {
				continue
			}
			g.visit(v, vi%9 == 0, start, cl, sum)
		}
	}
	return nil
}

// Comments and notes the demo's people write.
var (
	failNotes = []string{
		"现场发现问题，已当场指出 (found on site and pointed out)",
		"经营者称正在整改 (the operator says it is being fixed)",
		"拍照取证 (photographed as evidence)",
	}
	returnComments = []string{
		"NC04 缺少登记记录照片，请补拍后重新提交 (add the photo of the register and submit again)",
		"检查人员只签了一人，请补充第二名执法人员 (name the second officer)",
		"不合格项备注不清，请写明具体问题 (say what exactly failed)",
	}
	orderActions = map[string]string{
		schema.SeverityCritical: "立即停止违法行为，按规定整改并接受复查 (stop at once, correct and await re-check)",
		schema.SeverityMajor:    "限期整改到位 (correct by the deadline)",
		schema.SeverityMinor:    "补齐张贴、保持整洁 (post the notices, keep the premises clean)",
	}
	orderDays = map[string]int{schema.SeverityCritical: 10, schema.SeverityMajor: 15, schema.SeverityMinor: 7}
)

// visit records one inspection of v started at start and what the squad
// leader did with it by now.
func (g *gen) visit(v venue, poor bool, start time.Time, cl schema.Checklist, sum *Summary) {
	team := g.users_[v.squad]
	finish := start.Add(time.Duration(20+g.rnd.IntN(40)) * time.Minute)
	standing := map[string]bool{}
	for _, f := range g.data.Findings {
		if f.VenueID == v.id && f.Unresolved() {
			standing[f.ItemID] = true
		}
	}
	items := make([]schema.ItemResult, 0, len(cl.Items))
	for _, it := range cl.Items {
		p := 0.04
		if it.Severity == schema.SeverityMinor {
			p = 0.10
		}
		switch {
		case standing[it.ID] && poor:
			p = 0.6
		case standing[it.ID]:
			p = 0.3
		case poor:
			p *= 3
		}
		r := schema.ItemResult{ItemID: it.ID, Result: schema.ResultPass}
		if g.rnd.Float64() < p {
			r.Result, r.Note = schema.ResultFail, failNotes[g.rnd.IntN(len(failNotes))]
		}
		if g.photos && (r.Result == schema.ResultFail || standing[it.ID]) {
			r.Photos = []schema.PhotoRef{g.photoRef(finish, v)}
			if standing[it.ID] && r.Result == schema.ResultPass {
				r.Note = "复查：已整改 (re-check: corrected)"
			}
		}
		items = append(items, r)
	}
	inspectors := []schema.Inspector{
		{Username: team[0].username, Name: team[0].name, BadgeNo: team[0].badge},
		{Username: team[1].username, Name: team[1].name, BadgeNo: team[1].badge},
	}
	author := team[g.rnd.IntN(2)]
	leader := fmt.Sprintf("leader%d", v.squad)
	in := schema.Inspection{ID: g.uuid(), VenueID: v.id, SquadID: v.squad, DeviceID: "demo-device", Status: schema.StatusSubmitted,
		ChecklistVersion: cl.Version, Inspectors: inspectors, StartedAt: start, FinishedAt: &finish, Items: items,
		HLC: schema.HLC{WallMS: finish.UnixMilli(), Node: "demo"}.String(), Version: 1}
	g.addRecord(&in, author, g.venueOf(v.id), finish)
	imp := store.ImportedInspection{Inspection: in, AuthorID: author.id, ReceivedAt: finish}
	reviewAt := finish.Add(time.Duration(20+g.rnd.IntN(30)) * time.Hour)
	recent := g.now.Sub(finish) < 10*24*time.Hour
	roll := g.rnd.Float64()
	switch {
	case !reviewAt.Before(g.now) || recent && roll < 0.35: // not looked at yet
	case roll < 0.45 || recent && roll < 0.55: // returned; some amended since
		comment := returnComments[g.rnd.IntN(len(returnComments))]
		imp.Status = schema.StatusReturned
		imp.Review = &schema.Review{ReviewedBy: leader, ReviewedAt: reviewAt, Decision: schema.StatusReturned, Note: comment, Version: 1}
		amendAt := reviewAt.Add(time.Duration(4+g.rnd.IntN(40)) * time.Hour)
		if amendAt.Before(g.now) && g.rnd.Float64() < 0.6 {
			v1 := imp.Inspection
			v2 := imp.Inspection
			v2.Items = append([]schema.ItemResult(nil), items...)
			for i := range v2.Items {
				if v2.Items[i].Result == schema.ResultFail {
					v2.Items[i].Note += "；补充说明：已核实 (amended: checked again)"
				}
			}
			v2.Version, v2.Status, v2.Review = 2, schema.StatusSubmitted, nil
			v2.HLC = schema.HLC{WallMS: amendAt.UnixMilli(), Node: "demo"}.String()
			g.amendRecord(v1, &v2, amendAt)
			imp.Versions = []schema.Inspection{v1}
			imp.Inspection, imp.ReceivedAt = v2, amendAt
			approveAt := amendAt.Add(time.Duration(4+g.rnd.IntN(30)) * time.Hour)
			if approveAt.Before(g.now) && !recent {
				imp.Status = schema.StatusApproved
				imp.Review = &schema.Review{ReviewedBy: leader, ReviewedAt: approveAt, Decision: schema.StatusApproved, Version: 2}
			}
		}
	default:
		imp.Status = schema.StatusApproved
		imp.Review = &schema.Review{ReviewedBy: leader, ReviewedAt: reviewAt, Decision: schema.StatusApproved, Version: 1}
	}
	g.data.Inspections = append(g.data.Inspections, imp)
	sum.Inspections++
	if imp.Status == schema.StatusApproved {
		g.ledger(imp.Inspection, cl, imp.Review.ReviewedAt, leader)
	}
}

// ledger applies the approval of in, made at, to the demo's findings as the
// store would have (schema.FindingsOnApproval), then what the leader did
// in the days after: ordered or escalated what it opened, closed what it
// re-checked. Nothing happens after now.
func (g *gen) ledger(in schema.Inspection, cl schema.Checklist, at time.Time, leader string) {
	if g.findingAt == nil {
		g.findingAt = map[string]int{}
	}
	var standing []schema.Finding
	for _, f := range g.data.Findings {
		if f.VenueID == in.VenueID && f.Unresolved() {
			standing = append(standing, f)
		}
	}
	created, changed := schema.FindingsOnApproval(in, cl, standing, at, g.uuid)
	for _, f := range created {
		g.findingAt[f.ID] = len(g.data.Findings)
		g.data.Findings = append(g.data.Findings, f)
	}
	act := func(id string, a schema.FindingAction, when time.Time) {
		if !when.Before(g.now) {
			return
		}
		i := g.findingAt[id]
		if f, err := schema.DecideFinding(g.data.Findings[i], a, when); err == nil {
			g.data.Findings[i] = f
		}
	}
	for _, c := range changed {
		g.data.Findings[g.findingAt[c.After.ID]] = c.After
		if c.Action == schema.FindingActRecheckPass && g.rnd.Float64() < 0.85 {
			act(c.After.ID, schema.FindingAction{Action: schema.FindingActClose, By: leader, Text: "复查合格，予以销号 (re-check passed, struck off)"},
				at.Add(time.Duration(20+g.rnd.IntN(50))*time.Hour))
		}
	}
	for _, f := range created {
		when := at.Add(time.Duration(2+g.rnd.IntN(20)) * time.Hour)
		it, _ := cl.Item(f.ItemID)
		switch roll := g.rnd.Float64(); {
		case f.Critical && roll < 0.3:
			act(f.ID, schema.FindingAction{Action: schema.FindingActEscalate, By: leader, Text: "情节严重，移送立案 (serious: referred for a case)"}, when)
		case roll < 0.88:
			year := store.OrderYear(when)
			g.orders[year]++
			act(f.ID, schema.FindingAction{Action: schema.FindingActOrder, By: leader, Deadline: when.AddDate(0, 0, orderDays[f.Severity]),
				Text: orderActions[f.Severity], LegalBasis: it.Basis(), Number: schema.OrderNumber(year, g.orders[year])}, when)
		}
	}
}

// photoRef names one of the demo's evidence photos as taken at the venue
// at t; the bytes are the demo's, stored by Options.PutPhoto. Without it
// the demo names no photos.
func (g *gen) photoRef(t time.Time, v venue) schema.PhotoRef {
	ph := demoPhotos()[g.rnd.IntN(len(demoPhotos()))]
	lat, lng := v.lat+(g.rnd.Float64()-0.5)*0.0002, v.lng+(g.rnd.Float64()-0.5)*0.0002
	return schema.PhotoRef{SHA256: ph.sha, Size: int64(len(ph.data)), MediaType: "image/jpeg", CapturedAt: t.Add(-10 * time.Minute),
		Lat: &lat, Lng: &lng, DeviceID: "demo-device"}
}

// venueOf is the generated venue id, nil if there is none.
func (g *gen) venueOf(id string) *schema.Venue {
	if g.venueAt == nil {
		g.venueAt = make(map[string]*schema.Venue, len(g.data.Venues))
		for i := range g.data.Venues {
			g.venueAt[g.data.Venues[i].ID] = &g.data.Venues[i]
		}
	}
	return g.venueAt[id]
}
