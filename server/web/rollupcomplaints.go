package web

import (
	"net/url"
	"sort"
	"strconv"

	"github.com/patrolhq/patrol/server/auth"
	"github.com/patrolhq/patrol/server/jobs"
	"github.com/patrolhq/patrol/server/store"
)

// complaintFigures are one squad's complaints in a month's record: open
// and overdue at the end of its last day rolled up, the overdue ones
// named.
type complaintFigures struct {
	SquadID       int64
	Name          string
	Open, Overdue int
	List          []overdueComplaint
	Mine          bool
	Link          string // the squad's overdue complaints now, for a reader of them; "" for others
}

// overdueComplaint is a named overdue complaint as a page says it.
type overdueComplaint struct {
	jobs.OverdueComplaint
	SquadID int64
	Squad   string
	Which   string // 受理时限 / 办结时限
}

// complaintSummary is the bureau's complaints of a month's record.
type complaintSummary struct {
	Squads        []complaintFigures
	Open, Overdue int
	Overdues      []overdueComplaint // every squad's, most days over first
}

// complaintLimitName names the limit an overdue complaint passed.
func complaintLimitName(limit string) string {
	if limit == store.ComplaintLimitAccept {
		return "受理时限"
	}
	return "办结时限"
}

// complaintsOf reads the complaint figures out of a month's record; p
// marks its own squad and gets links to the lists it may read.
func complaintsOf(r *monthReport, p *auth.Principal) complaintSummary {
	var s complaintSummary
	for _, m := range r.records {
		id := m.SquadID
		f := complaintFigures{SquadID: id, Name: squadName(&id), Open: m.ComplaintsOpen, Overdue: m.ComplaintsOverdue,
			Mine: p != nil && !p.IsAdmin() && p.SquadID != nil && *p.SquadID == id}
		if p != nil && (p.IsAdmin() || f.Mine) && f.Overdue > 0 {
			q := url.Values{"overdue": {"1"}}
			if p.IsAdmin() {
				q.Set("squad", strconv.FormatInt(id, 10))
			}
			f.Link = "/complaints?" + q.Encode()
		}
		for _, c := range m.OverdueComplaints {
			o := overdueComplaint{OverdueComplaint: c, SquadID: id, Squad: f.Name, Which: complaintLimitName(c.Limit)}
			f.List = append(f.List, o)
			s.Overdues = append(s.Overdues, o)
		}
		s.Open += f.Open
		s.Overdue += f.Overdue
		s.Squads = append(s.Squads, f)
	}
	sort.Slice(s.Squads, func(i, j int) bool { return s.Squads[i].SquadID < s.Squads[j].SquadID })
	sort.SliceStable(s.Overdues, func(i, j int) bool { return s.Overdues[i].DaysOver > s.Overdues[j].DaysOver })
	return s
}
