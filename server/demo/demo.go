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
}

// Summary says what Seed wrote.
type Summary struct {
	Squads, Users, Venues, Unlicensed, Schools, Inspections int
	Logins                                                  []string
}

// Lanshan district, Linyi, Shandong: the area the demo squads share.
const (
	minLat, maxLat = 35.02, 35.17
	minLng, maxLng = 118.24, 118.41
)

var squadNames = []string{"第一中队 (Squad 1)", "第二中队 (Squad 2)", "第三中队 (Squad 3)", "第四中队 (Squad 4)", "第五中队 (Squad 5)", "第六中队 (Squad 6)"}

// Seed writes the demo district into st, which must hold no users. It
// goes through the store's Import like any other data, so the district is
// the same on every store and devices pull it like any other data.
func Seed(ctx context.Context, st store.Operations, opts Options) (Summary, error) {
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
	g := &gen{rnd: rand.New(rand.NewPCG(opts.Seed, opts.Seed^0x9e3779b97f4a7c15)), now: opts.Now().UTC()}
	var sum Summary
	g.squads(&sum)
	if err := g.users(opts.HashPassword, &sum); err != nil {
		return Summary{}, fmt.Errorf("demo: seed: %w", err)
	}
	g.venues(opts.Venues, &sum)
	g.schools(opts.Schools, &sum)
	if err := g.history(opts.MonthsHistory, &sum); err != nil {
		return Summary{}, fmt.Errorf("demo: seed: %w", err)
	}
	if err := st.Import(ctx, g.data); err != nil {
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

// ledger applies the approval of in to the demo's findings, as the store
// would have when a leader approved it at.
func (g *gen) ledger(in schema.Inspection, cl schema.Checklist, at time.Time) {
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
	for _, c := range changed {
		g.data.Findings[g.findingAt[c.After.ID]] = c.After
	}
	for _, f := range created {
		g.findingAt[f.ID] = len(g.data.Findings)
		g.data.Findings = append(g.data.Findings, f)
	}
}

// history writes past café inspections: each café about once a month, by
// two inspectors of its squad, mostly passing, with the older ones reviewed.
func (g *gen) history(months int, sum *Summary) error {
	cl, err := schema.ChecklistByVersion(schema.DefaultChecklistVersion)
	if err != nil {
		return err
	}
	for m := months; m >= 1; m-- {
		monthStart := time.Date(g.now.Year(), g.now.Month(), 1, 0, 0, 0, 0, time.UTC).AddDate(0, -m, 0)
		for _, v := range g.venues_ {
			if v.kind != schema.KindNetCafe || !v.licensed || g.rnd.Float64() < 0.06 { // a few missed: overdue in reports
				continue
			}
			team := g.users_[v.squad]
			start := monthStart.Add(time.Duration(g.rnd.IntN(26*24))*time.Hour + 2*time.Hour) // 10:00–… Beijing time
			finish := start.Add(time.Duration(20+g.rnd.IntN(40)) * time.Minute)
			items := make([]schema.ItemResult, 0, len(cl.Items))
			for _, it := range cl.Items {
				res := schema.ResultPass
				p := 0.04
				if it.Severity == schema.SeverityMinor {
					p = 0.10
				}
				if g.rnd.Float64() < p {
					res = schema.ResultFail
				}
				note := ""
				if res == schema.ResultFail {
					note = "现场发现问题，已责令改正 (found on site, correction ordered)"
				}
				items = append(items, schema.ItemResult{ItemID: it.ID, Result: res, Note: note})
			}
			inspectors := []schema.Inspector{
				{Username: team[0].username, Name: team[0].name, BadgeNo: team[0].badge},
				{Username: team[1].username, Name: team[1].name, BadgeNo: team[1].badge},
			}
			author := team[g.rnd.IntN(2)]
			status := schema.StatusSubmitted
			var review *schema.Review
			if m > 1 || g.rnd.Float64() < 0.5 {
				status = schema.StatusApproved
				review = &schema.Review{ReviewedBy: fmt.Sprintf("leader%d", v.squad), ReviewedAt: finish.Add(26 * time.Hour),
					Decision: schema.StatusApproved, Version: 1}
			}
			hlc := schema.HLC{WallMS: finish.UnixMilli(), Node: "demo"}.String()
			in := schema.Inspection{ID: g.uuid(), VenueID: v.id, SquadID: v.squad, DeviceID: "demo-device", Status: status,
				ChecklistVersion: cl.Version, Inspectors: inspectors, StartedAt: start, FinishedAt: &finish, Items: items, HLC: hlc,
				Review: review, Version: 1}
			g.data.Inspections = append(g.data.Inspections, store.ImportedInspection{Inspection: in, AuthorID: author.id, ReceivedAt: finish})
			sum.Inspections++
			if review != nil {
				g.ledger(in, cl, review.ReviewedAt)
			}
		}
	}
	return nil
}
