package schema

// The officers on a record are evidence: the law asks for two inspectors
// on every on-site check, and the record's list of inspectors is what
// proves it was done. So who may stand on a record is a rule of the
// domain, applied where the record is made (the device, from the members
// it pulled) and where it is received (the server, from its own users).

// MayInspectFor reports whether m may be named as an inspector on a record
// of squad: an inspector (not a leader or an admin) of that squad, or one
// of another squad whom the squad's leader allowed as a co-inspector.
// Members are always listed for one squad (a device's, or the pushing
// squad's on the server), so CoInspector speaks of that squad.
func (m Member) MayInspectFor(squad int64) bool {
	return m.Role == RoleInspector && (m.SquadID == squad || m.CoInspector)
}

// CheckInspectors checks the inspectors a record of squad names, authored
// by the user author, against members: the active users of the squad and
// its allowed co-inspectors, as the device pulled them or the server holds
// them. Every inspector must be one who MayInspectFor the squad, named
// once; the author must be among them and an inspector of the squad
// itself. It returns the inspectors in the record's order with their names
// and badge numbers as the members list them, so that a record carries the
// server's identity of each officer, never a copy a device typed or kept
// from an older pull.
//
// Anything else is refused with a reason that says whom to ask: the same
// words for a user of another squad, a leader and a user that does not
// exist, so that the refusal does not tell which users exist elsewhere.
func CheckInspectors(inspectors []Inspector, author string, squad int64, members []Member) ([]Inspector, error) {
	if len(inspectors) == 0 || len(inspectors) > MaxInspectors {
		return nil, Errorf(CodeInvalid, "a record names 1 to %d inspectors, not %d", MaxInspectors, len(inspectors))
	}
	if len(members) == 0 {
		return nil, Errorf(CodeForbidden, "the members of squad %d are not known here yet; sync once, then record the inspection", squad)
	}
	out := make([]Inspector, len(inspectors))
	hasAuthor := false
	for i, in := range inspectors {
		if in.Username == "" {
			return nil, Errorf(CodeInvalid, "inspector %d of the record has no username", i+1)
		}
		for _, prev := range inspectors[:i] {
			if prev.Username == in.Username {
				return nil, Errorf(CodeInvalid, "inspector %s is named twice; name each officer on site once", truncate(in.Username, 40))
			}
		}
		m, ok := memberNamed(members, in.Username)
		if in.Username == author {
			hasAuthor = true
			if !ok || m.Role != RoleInspector || m.SquadID != squad {
				return nil, Errorf(CodeForbidden, "you (%s) are not an active inspector of squad %d; only its inspectors record its inspections", truncate(author, 40), squad)
			}
		} else if !ok || !m.MayInspectFor(squad) {
			return nil, Errorf(CodeForbidden, "inspector %s is not an active inspector of squad %d; ask your leader", truncate(in.Username, 40), squad)
		}
		out[i] = Inspector{Username: m.Username, Name: m.Name, BadgeNo: m.BadgeNo}
	}
	if !hasAuthor {
		return nil, Errorf(CodeInvalid, "the record does not name its author %s among its inspectors; whoever records an inspection was on site", truncate(author, 40))
	}
	return out, nil
}

// memberNamed finds the member with username u (a squad has a few dozen:
// a scan costs less than a map built for every record).
func memberNamed(members []Member, u string) (Member, bool) {
	for _, m := range members {
		if m.Username == u {
			return m, true
		}
	}
	return Member{}, false
}

// CheckCoInspector checks that m, an active user, may be allowed on the
// records of squad as a co-inspector: an inspector of another squad (or of
// none); a squad's own inspectors stand on its records already, and
// leaders and admins on none.
func CheckCoInspector(m Member, squad int64) error {
	if m.Role != RoleInspector {
		return Errorf(CodeInvalid, "%s is a %s; only inspectors can be co-inspectors", truncate(m.Username, 40), m.Role)
	}
	if m.SquadID == squad {
		return Errorf(CodeInvalid, "%s is an inspector of squad %d already; co-inspectors come from other squads", truncate(m.Username, 40), squad)
	}
	return nil
}
