package demo

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/store"
)

// Store is what Seed writes through: the import of the district, then the
// complaints, taken in and acted on as the workbench would, and the
// inspection that investigates one, pushed as a device would push it.
type Store interface {
	store.Operations
	store.Complaints
	store.Sync
	CreateEnrollmentCode(ctx context.Context, codeHash, userID, createdBy string, expires time.Time) error
	EnrollDevice(ctx context.Context, codeHash, deviceName, tokenHash string, tokenExpires time.Time) (store.EnrolledDevice, error)
	RevokeDevice(ctx context.Context, deviceID string) error
}

// PhoneName is the name of the phone the demo's investigating inspection
// came from: revoked once it pushed it, so no one syncs as it, yet listed
// with the squad's devices as the device that made that inspection.
const PhoneName = "演示手机 (demo phone)"

// Clock is a clock for the store Seed writes to that Seed can set. The
// store stamps every step of a complaint (received, accepted, handled …)
// with its own clock, so a store opened on Clock.Now lets the demo's
// complaints carry the times of their own steps, days and weeks ago; once
// Seed returns it reads its base clock again. Nothing else may write to
// the store while Seed runs.
type Clock struct {
	mu   sync.Mutex
	base func() time.Time
	at   time.Time
}

// NewClock returns a clock that reads base (time.Now when nil) until Seed
// sets it.
func NewClock(base func() time.Time) *Clock {
	if base == nil {
		base = time.Now
	}
	return &Clock{base: base}
}

// Now is the time Seed set, else the base clock's.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.at.IsZero() {
		return c.at
	}
	return c.base()
}

func (c *Clock) set(t time.Time) {
	if c == nil {
		return
	}
	c.mu.Lock()
	c.at = t
	c.mu.Unlock()
}

// demoComplaint is one complaint of the demo and the steps taken on it,
// each some days before now.
type demoComplaint struct {
	ago      float64 // days before now it was received
	squad    int64
	category string
	channel  string
	contact  string
	reply    bool
	place    string // a described place, else a venue of the squad
	content  string
	steps    []demoStep
	kind     string // the venue kind complained of
}

type demoStep struct {
	ago float64
	act schema.ComplaintAction
	// investigate pushes an inspection naming the complaint instead of an
	// action.
	investigate bool
}

// demoComplaints are the complaints of the demo: one in every state, one
// left unaccepted past its limit, one unfinished past its due date, one
// extended. Contacts are made up: numbers of the 139 0000 range.
func demoComplaints() []demoComplaint {
	accept := func(ago float64) demoStep {
		return demoStep{ago: ago, act: schema.ComplaintAction{Action: schema.ComplaintActAccept}}
	}
	handle := func(ago float64, text string) demoStep {
		return demoStep{ago: ago, act: schema.ComplaintAction{Action: schema.ComplaintActHandle, Text: text}}
	}
	return []demoComplaint{
		{ago: 1.5, squad: 1, category: schema.CategoryCafe, channel: schema.Channel12345, contact: "139 0000 1021 王女士", reply: true,
			kind: schema.KindNetCafe, content: "我家孩子今年14岁，周末在这家网吧上网到深夜，前台没有查验身份证。"},
		{ago: 21, squad: 2, category: schema.CategoryPublications, channel: schema.Channel12318, contact: "139 0000 2207 匿名（短信回复）", reply: false,
			place: "兰山区通达路与金雀山路路口东南角报刊亭", content: "报刊亭公开出售盗版教辅和内容低俗的漫画书，多是学生在买。"},
		{ago: 9, squad: 3, category: schema.CategoryArcade, channel: schema.ChannelOnline, contact: "139 0000 3318 李先生", reply: true,
			kind: schema.KindArcade, content: "电玩城里有几台机器押分兑换现金，像是赌博机，晚上人很多。", steps: []demoStep{accept(8)}},
		{ago: 12, squad: 1, category: schema.CategoryCafe, channel: schema.Channel12318, contact: "139 0000 1455 张先生", reply: true,
			kind: schema.KindNetCafe, content: "网吧里烟味很重，没人管吸烟，安全出口被杂物堵住。",
			steps: []demoStep{accept(11), {ago: 5, investigate: true}}},
		{ago: 30, squad: 4, category: schema.CategoryCafe, channel: schema.Channel12345, contact: "139 0000 4102 刘女士", reply: true,
			kind: schema.KindNetCafe, content: "网吧门口没有张贴未成年人禁入标志，常见穿校服的学生进出。",
			steps: []demoStep{accept(28), handle(6, "经现场检查，该网吧未张贴禁入标志，已责令当场张贴并警告，登记制度已落实。")}},
		{ago: 40, squad: 5, category: schema.CategoryArcade, channel: schema.ChannelLetter, contact: "兰山区银雀山路 66 号 3 单元 赵先生 139 0000 5560", reply: true,
			kind: schema.KindKTV, content: "KTV 每晚营业到凌晨三点以后，音响声音太大，严重影响居民休息。",
			steps: []demoStep{accept(38), handle(20, "已对该 KTV 营业时间和噪声进行检查，责令其调低音量并按规定时间停业。"),
				{ago: 18, act: schema.ComplaintAction{Action: schema.ComplaintActAnswer, Method: "phone",
					Text: "您反映的问题已查实，已责令整改，后续将加强夜间巡查。"}}}},
		{ago: 70, squad: 6, category: schema.CategoryCafe, channel: schema.Channel12345, contact: "139 0000 6013 陈先生", reply: true,
			kind: schema.KindNetCafe, content: "网吧电脑上能玩未经审批的境外游戏，还有人在里面聚众赌博。",
			steps: []demoStep{accept(66), handle(45, "现场检查未发现赌博行为，已删除未经审批的游戏并警告经营者。"),
				{ago: 44, act: schema.ComplaintAction{Action: schema.ComplaintActAnswer, Method: "sms", Text: "您好，您反映的网吧问题已处理完毕，感谢监督。"}},
				{ago: 43, act: schema.ComplaintAction{Action: schema.ComplaintActClose}}}},
		{ago: 25, squad: 2, category: schema.CategoryPublications, channel: schema.ChannelVisit, contact: "来访 孙女士 139 0000 2741", reply: true,
			kind: schema.KindBookshop, content: "书店的店员态度很差，不给退书。",
			steps: []demoStep{{ago: 22, act: schema.ComplaintAction{Action: schema.ComplaintActReject,
				Reason: "属于消费纠纷，不属于文化市场综合执法职责，已告知其向市场监管部门（12315）反映。"}}}},
		{ago: 80, squad: 3, category: schema.CategoryCafe, channel: schema.Channel12318, contact: "139 0000 3902 周先生", reply: false,
			kind: schema.KindNetCafe, content: "网吧接纳未成年人，经常有初中生通宵上网。", steps: []demoStep{accept(75)}},
		{ago: 70, squad: 4, category: schema.CategoryArcade, channel: schema.Channel12345, contact: "139 0000 4488 吴女士", reply: true,
			kind: schema.KindArcade, content: "游戏厅在学校附近，放学后大量小学生进去玩。",
			steps: []demoStep{accept(65), {ago: 10, act: schema.ComplaintAction{Action: schema.ComplaintActExtend, Days: 20,
				Reason: "需会同教育部门核实与学校的距离并测量，延期办理。"}}}},
	}
}

// complaints takes the demo's complaints in and acts on them through the
// store, each step at its own time on opts.Clock, after the district is
// imported (a complaint names its venue).
func (g *gen) complaints(ctx context.Context, st Store, opts Options, sum *Summary) error {
	lim := opts.ComplaintLimits
	if lim == (schema.ComplaintLimits{}) {
		lim = schema.DefaultComplaintLimits()
	}
	defer opts.Clock.set(time.Time{})
	access := schema.ComplaintAccessOf(schema.RoleAdmin, nil, false)
	used := map[string]bool{}
	for _, dc := range demoComplaints() {
		at := func(days float64) time.Time { return g.now.Add(-time.Duration(days * 24 * float64(time.Hour))) }
		in := schema.ComplaintIntake{Channel: dc.channel, Category: dc.category, Contact: dc.contact, ReplyWanted: dc.reply,
			Content: dc.content, ReceivedAt: at(dc.ago)}
		var venueID string
		if dc.place != "" {
			in.Place = dc.place
			sq := dc.squad
			in.SquadID = &sq
		} else {
			v, ok := g.unusedVenue(dc.squad, dc.kind, used)
			if ok {
				in.VenueID, venueID = v.id, v.id
			} else {
				// A small demo district may lack the kind: the complainant
				// then describes the place.
				sq := dc.squad
				in.Place, in.SquadID = "兰山区"+streets[int(dc.ago)%len(streets)]+"一带，投诉人未说清店名", &sq
			}
		}
		opts.Clock.set(in.ReceivedAt)
		c, err := st.CreateComplaint(ctx, in, "admin", lim)
		if err != nil {
			return fmt.Errorf("complaint: %w", err)
		}
		leader := fmt.Sprintf("leader%d", c.SquadID)
		for _, s := range dc.steps {
			opts.Clock.set(at(s.ago))
			if s.investigate {
				if venueID == "" {
					venueID = g.anyVenueOf(c.SquadID)
				}
				if venueID == "" {
					continue // no venue to inspect: it stays accepted
				}
				if err := g.investigate(ctx, st, c, venueID, at(s.ago)); err != nil {
					return err
				}
				continue
			}
			act := s.act
			act.By = leader
			if _, err := st.ActOnComplaint(ctx, c.ID, act, access, lim); err != nil {
				return fmt.Errorf("complaint %s: %w", c.Number, err)
			}
		}
		sum.Complaints++
	}
	return nil
}

// unusedVenue picks a licensed venue of the kind in the squad that no other
// complaint names.
func (g *gen) unusedVenue(squad int64, kind string, used map[string]bool) (venue, bool) {
	for _, v := range g.venues_ {
		if v.squad == squad && v.kind == kind && v.licensed && !used[v.id] {
			used[v.id] = true
			return v, true
		}
	}
	return venue{}, false
}

// anyVenueOf is a licensed venue of the squad, "" when it has none.
func (g *gen) anyVenueOf(squad int64) string {
	for _, v := range g.venues_ {
		if v.squad == squad && v.licensed {
			return v.id
		}
	}
	return ""
}

// investigate pushes, from a demo phone of the complaint's squad, the
// inspection that investigated the complaint at its venue, finished at
// at; the server links it and the complaint becomes investigating.
func (g *gen) investigate(ctx context.Context, st Store, c schema.Complaint, venueID string, at time.Time) error {
	team := g.users_[c.SquadID]
	cl, err := schema.ChecklistByVersion(schema.DefaultChecklistVersion)
	if err != nil {
		return err
	}
	code := sha256.Sum256([]byte("demo enrollment " + c.ID))
	token := sha256.Sum256([]byte("demo token " + g.uuid()))
	codeHash, tokenHash := hex.EncodeToString(code[:]), hex.EncodeToString(token[:])
	// The code is used at once, whatever the store's clock reads (without
	// Options.Clock, the time of seeding).
	expires := at
	for _, t := range []time.Time{g.now, time.Now()} {
		if t.After(expires) {
			expires = t
		}
	}
	if err := st.CreateEnrollmentCode(ctx, codeHash, team[0].id, "admin", expires.Add(time.Hour)); err != nil {
		return fmt.Errorf("demo phone: %w", err)
	}
	dev, err := st.EnrollDevice(ctx, codeHash, PhoneName, tokenHash, at.Add(time.Minute))
	if err != nil {
		return fmt.Errorf("demo phone: %w", err)
	}
	start := at.Add(-50 * time.Minute)
	finish := at.Add(-10 * time.Minute)
	items := make([]schema.ItemResult, 0, len(cl.Items))
	for _, it := range cl.Items {
		r := schema.ItemResult{ItemID: it.ID, Result: schema.ResultPass}
		if it.ID == "NC16" {
			r.Result, r.Note = schema.ResultFail, "现场烟味重、通道堆放杂物，与投诉内容相符 (as the complaint said)"
		}
		items = append(items, r)
	}
	hlc := schema.HLC{WallMS: finish.UnixMilli(), Node: "demo"}.String()
	in := schema.Inspection{ID: g.uuid7(start), VenueID: venueID, SquadID: c.SquadID, DeviceID: dev.DeviceID, Status: schema.StatusSubmitted,
		ChecklistVersion: cl.Version, StartedAt: start, FinishedAt: &finish, Items: items, HLC: hlc, ComplaintID: c.ID,
		Inspectors: []schema.Inspector{
			{Username: team[0].username, Name: team[0].name, BadgeNo: team[0].badge},
			{Username: team[1].username, Name: team[1].name, BadgeNo: team[1].badge},
		}}
	sq := c.SquadID
	res, err := st.Push(ctx, store.PushInput{DeviceID: dev.DeviceID, UserID: team[0].id, SquadID: &sq, ReceivedAt: at,
		Request: &schema.PushRequest{ClientTime: at, HLC: hlc, Mutations: []schema.Mutation{
			{ID: g.uuid7(finish), Kind: schema.MutInspectionUpsert, HLC: hlc, Inspection: &in}}}})
	if err != nil {
		return fmt.Errorf("complaint %s: push its inspection: %w", c.Number, err)
	}
	if len(res) != 1 || res[0].Outcome != schema.OutcomeApplied {
		return fmt.Errorf("complaint %s: push its inspection: %+v", c.Number, res)
	}
	if err := st.RevokeDevice(ctx, dev.DeviceID); err != nil {
		return fmt.Errorf("demo phone: %w", err)
	}
	return nil
}

// uuid7 is a UUIDv7 of time t with the demo's random bits, as a device
// makes the ids of what it pushes.
func (g *gen) uuid7(t time.Time) string {
	id, _ := uuid.Parse(g.uuid())
	ms := uint64(t.UnixMilli())
	for i := 0; i < 6; i++ {
		id[i] = byte(ms >> (40 - 8*i))
	}
	id[6] = id[6]&0x0f | 0x70
	return id.String()
}
