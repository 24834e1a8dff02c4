package jobs

import "sort"

// Score is what a squad is ranked by for a month (or the month so far):
//
//  1. coverage, higher first: cafés inspected / licensed open cafés,
//     compared exactly as fractions (a squad with no café counts 100 %);
//  2. then overdue findings as of the day, fewer first;
//  3. then the median days from a finding's opening to its close-out over
//     the findings closed this month, smaller first; a squad that closed
//     none comes after every squad that closed some;
//  4. ties on all three are broken by squad id, ascending.
//
// The number reported as "score" is the coverage percentage, the first key.
type Score struct {
	SquadID        int64
	CafesInspected int
	Cafes          int
	Overdue        int
	MedianDays     *float64
}

// Rank orders the squads by Score and returns their squad ids, best first;
// rank n is position n of the list (1-based), so a full tie still gets
// distinct ranks, the lower id first.
func Rank(scores []Score) []int64 {
	s := append([]Score(nil), scores...)
	sort.SliceStable(s, func(i, j int) bool { return better(s[i], s[j]) })
	ids := make([]int64, len(s))
	for i, x := range s {
		ids[i] = x.SquadID
	}
	return ids
}

// better reports whether a ranks before b.
func better(a, b Score) bool {
	ai, ac, bi, bc := a.CafesInspected, a.Cafes, b.CafesInspected, b.Cafes
	if ac == 0 {
		ai, ac = 1, 1
	}
	if bc == 0 {
		bi, bc = 1, 1
	}
	if l, r := ai*bc, bi*ac; l != r {
		return l > r
	}
	if a.Overdue != b.Overdue {
		return a.Overdue < b.Overdue
	}
	switch {
	case a.MedianDays != nil && b.MedianDays == nil:
		return true
	case a.MedianDays == nil && b.MedianDays != nil:
		return false
	case a.MedianDays != nil && *a.MedianDays != *b.MedianDays:
		return *a.MedianDays < *b.MedianDays
	}
	return a.SquadID < b.SquadID
}

// ApplyRank sets Rank and Score of each squad's figures of one day.
func ApplyRank(days []SquadDay) {
	scores := make([]Score, len(days))
	for i, d := range days {
		scores[i] = Score{SquadID: d.SquadID, CafesInspected: d.CafesInspected, Cafes: d.Cafes,
			Overdue: d.FindingsOverdue, MedianDays: d.MedianCloseOutDays}
	}
	rank := map[int64]int{}
	for i, id := range Rank(scores) {
		rank[id] = i + 1
	}
	for i := range days {
		days[i].Rank = rank[days[i].SquadID]
		days[i].Score = days[i].Coverage
	}
}
