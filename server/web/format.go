package web

import (
	"fmt"
	"html/template"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/store"
)

// funcs are the template helpers: Chinese names for the wire's words and
// times in the bureau's zone. None returns template.HTML.
func (w *Web) funcs() template.FuncMap {
	return template.FuncMap{
		"when":    w.when,
		"whenp":   func(t *time.Time) string { return w.whenPtr(t, "—") },
		"role":    roleName,
		"status":  statusName,
		"flag":    flagName,
		"kind":    conflictKindName,
		"field":   fieldName,
		"winner":  winnerName,
		"result":  resultName,
		"squad":   squadName,
		"offset":  offsetText,
		"shown":   shown,
		"fstatus": findingStatusName,
		"action":  auditActionName,
		"entity":  entityKindName,
		"change":  changeFieldName,
		"day":     w.day,
		"dayp": func(t *time.Time) string {
			if t == nil {
				return "—"
			}
			return w.day(*t)
		},
		"coord": coordText,
		"pct":   func(v float64) string { return num(v) + "%" },
		"fnum": func(v any) string {
			switch x := v.(type) {
			case float64:
				return num(x)
			case *float64:
				if x == nil {
					return "—"
				}
				return num(*x)
			}
			return fmt.Sprint(v)
		},
		"short": func(s string) string {
			if len(s) > 8 {
				return s[:8]
			}
			return s
		},
		"state":       stateName,
		"cpstatus":    complaintStatusName,
		"channel":     channelName,
		"category":    categoryName,
		"method":      replyMethodName,
		"add2":        func(a, b float64) float64 { return a + b },
		"metres":      func(m float64) string { return strconv.FormatFloat(math.Round(m), 'f', 0, 64) },
		"zoneReason":  zoneReasonName,
		"add":         func(a, b int) int { return a + b },
		"exportLinks": exportLinks,
		"deref": func(p *int64) int64 {
			if p == nil {
				return 0
			}
			return *p
		},
		"idtype":   idTypeName,
		"cstatus":  caseStatusName,
		"csource":  caseSourceName,
		"decision": decisionName,
		"evkind":   evidenceKindName,
		"daysleft": daysLeftText,
		"creason":  caseReasonText,
		"caction": func(a string) string {
			if n := caseActionName(a); n != "" {
				return n
			}
			return auditActionName(a)
		},
		"yuan": func(n int64) string { return "¥" + groupDigits(n) },
		"inspector": func(in schema.Inspector) string {
			if in.Name == "" {
				return shown(in.Username)
			}
			return shown(in.Name)
		},
	}
}

// shown is device text as a page shows it: every character kept, but the
// invisible controls that change the direction of text (an RTL override
// makes "gnp.exe" read "exe.png") written as a visible [U+202E], so that
// what a leader reads is what was sent. Escaping is still the template's.
func shown(s string) string {
	if !strings.ContainsFunc(s, isBidiControl) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if isBidiControl(r) {
			fmt.Fprintf(&b, "[U+%04X]", r)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func isBidiControl(r rune) bool {
	return r == 0x061C || r == 0x200E || r == 0x200F || (r >= 0x202A && r <= 0x202E) || (r >= 0x2066 && r <= 0x2069)
}

// when is t in the bureau's zone, as Chinese pages write it:
// 2026年12月2日 14:05.
func (w *Web) when(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	l := t.In(w.cfg.Zone)
	return fmt.Sprintf("%d年%d月%d日 %02d:%02d", l.Year(), l.Month(), l.Day(), l.Hour(), l.Minute())
}

func (w *Web) whenPtr(t *time.Time, none string) string {
	if t == nil {
		return none
	}
	return w.when(*t)
}

func roleName(r string) string {
	switch r {
	case schema.RoleAdmin:
		return "局管理员"
	case schema.RoleLeader:
		return "中队长"
	case schema.RoleInspector:
		return "检查员"
	case schema.RoleOffice:
		return "办公室/受理员"
	}
	return r
}

func statusName(s string) string {
	switch s {
	case schema.StatusDraft:
		return "草稿"
	case schema.StatusSubmitted:
		return "待审核"
	case "approved":
		return "已通过"
	case "returned":
		return "已退回"
	case "reviewed":
		return "已审核"
	}
	return s
}

// findingStatusName is a finding's state as the ledger (台账) says it.
func findingStatusName(s string) string {
	switch s {
	case schema.FindingOpen:
		return "待整改"
	case schema.FindingOrdered:
		return "已责令整改"
	case schema.FindingRechecked:
		return "复查合格"
	case schema.FindingClosed:
		return "已销号"
	case schema.FindingEscalated:
		return "已立案"
	case schema.FindingOverdueTag:
		return "已逾期"
	}
	return s
}

// idTypeName is an ID type of the on-site record in Chinese; one this
// build does not know is shown as recorded.
func idTypeName(t string) string {
	switch t {
	case schema.IDTypeResident:
		return "居民身份证"
	case schema.IDTypePassport:
		return "护照"
	case schema.IDTypeHKMO:
		return "港澳居民来往内地通行证"
	case schema.IDTypeTaiwan:
		return "台湾居民来往大陆通行证"
	case schema.IDTypeOther:
		return "其他证件"
	}
	return shown(t)
}

// auditActionName is an audit entry's action in Chinese; an action this
// build does not know is shown as recorded.
func auditActionName(a string) string {
	if n, ok := complaintActionNames[a]; ok {
		return n
	}
	switch a {
	case schema.AuditRecordSigned:
		return "当事人签字，笔录封存"
	case schema.AuditRecordRefused:
		return "当事人拒签（有见证人），笔录封存"
	case schema.AuditRecordAmended:
		return "笔录补正"
	case schema.ReviewApprove:
		return "审核通过"
	case schema.ReviewReturn:
		return "退回修改"
	case "review":
		return "审核"
	case "created", "create":
		return "创建"
	case "ordered":
		return "责令整改"
	case "closed":
		return "销号"
	case "escalated":
		return "立案"
	case "rechecked":
		return "复查合格"
	case "repeat":
		return "复查仍不合格"
	case "use":
		return "使用"
	case "revoke":
		return "注销"
	case "delete":
		return "删除"
	case "zone_flag":
		return "进入校园周边禁设区域"
	case "zone_clear":
		return "解除校园周边禁设区域"
	case "relocate":
		return "更正位置"
	case schema.AuditDiscoveryConfirm:
		return "确认现场发现"
	case schema.AuditMergedInto:
		return "合并到其他场所"
	case schema.AuditMergeAbsorb:
		return "并入重复记录"
	case "publish":
		return "发布规则"
	case "login":
		return "登录"
	case "logout":
		return "退出登录"
	case "disable":
		return "停用"
	case "enable":
		return "启用"
	case "password":
		return "重置密码"
	case "decide", "resolve":
		return "处理冲突"
	case "submit", "push":
		return "提交"
	case "resubmitted":
		return "重新提交"
	}
	if n := caseActionName(a); n != "" {
		return n
	}
	return a
}

// complaintActionNames name the audit actions of complaints.
var complaintActionNames = map[string]string{
	"complaint_received": "登记投诉", "complaint_accepted": "受理", "complaint_rejected": "不予受理",
	"complaint_assigned": "转交中队", "complaint_extended": "延期", "complaint_investigating": "开始调查（检查已上传）",
	"complaint_handled": "办理", "complaint_answered": "答复投诉人", "complaint_closed": "办结",
}

// complaintStatusName is a complaint's state in Chinese.
func complaintStatusName(s string) string {
	switch s {
	case schema.ComplaintReceived:
		return "待受理"
	case schema.ComplaintAccepted:
		return "已受理"
	case schema.ComplaintInvestigating:
		return "调查中"
	case schema.ComplaintHandled:
		return "已办理"
	case schema.ComplaintAnswered:
		return "已答复"
	case schema.ComplaintClosed:
		return "已办结"
	case schema.ComplaintRejected:
		return "不予受理"
	}
	return shown(s)
}

// channelName is how a complaint reached the bureau.
func channelName(c string) string {
	switch c {
	case schema.Channel12318:
		return "12318 热线"
	case schema.Channel12345:
		return "12345 热线"
	case schema.ChannelLetter:
		return "来信"
	case schema.ChannelVisit:
		return "来访"
	case schema.ChannelOnline:
		return "网上"
	}
	return shown(c)
}

// categoryName is what kind of venue a complaint is about.
func categoryName(c string) string {
	switch c {
	case schema.CategoryCafe:
		return "网吧"
	case schema.CategoryArcade:
		return "游艺娱乐"
	case schema.CategoryPublications:
		return "出版物"
	}
	return shown(c)
}

// replyMethodName is how a complainant was answered.
func replyMethodName(m string) string {
	switch m {
	case "phone":
		return "电话"
	case "sms":
		return "短信"
	case "letter":
		return "书面（信函）"
	case "visit":
		return "当面"
	case "online":
		return "网上回复"
	}
	return shown(m)
}

func entityKindName(k string) string {
	switch k {
	case schema.AuditComplaint:
		return "投诉"
	case schema.AuditInspection:
		return "检查记录"
	case schema.AuditFinding:
		return "问题"
	case schema.AuditConflict:
		return "冲突"
	case schema.AuditUser:
		return "用户"
	case schema.AuditDevice:
		return "设备"
	case schema.AuditEnrollmentCode:
		return "注册码"
	case schema.AuditVenue:
		return "场所"
	case schema.AuditZoneRule:
		return "禁设区域规则"
	case store.AuditCase:
		return "案件"
	}
	return k
}

// changeFieldName names a field of schema.VersionChange.
func changeFieldName(f string) string {
	switch f {
	case "result":
		return "结果"
	case "note":
		return "备注"
	case "photos":
		return "照片"
	case "inspectors":
		return "检查人员"
	case "finished_at":
		return "结束时间"
	case "checklist_version":
		return "检查表版本"
	}
	return f
}

// day is t's date in the bureau's zone: 2026年12月2日.
func (w *Web) day(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	l := t.In(w.cfg.Zone)
	return fmt.Sprintf("%d年%d月%d日", l.Year(), l.Month(), l.Day())
}

// coordText is a photo's position, or that the device gave none.
func coordText(lat, lng *float64) string {
	if lat == nil || lng == nil {
		return "无定位"
	}
	return fmt.Sprintf("%.6f, %.6f", *lat, *lng)
}

func flagName(f string) string {
	switch f {
	case schema.FlagSingleInspector:
		return "单人检查"
	case schema.FlagTimeSuspect:
		return "时间存疑"
	case schema.FlagPhotosMissing:
		return "照片缺失"
	}
	return f
}

func conflictKindName(k string) string {
	switch k {
	case schema.ConflictConcurrentEdit:
		return "同时修改"
	case schema.ConflictEditOfDeleted:
		return "修改了已删除的场所"
	case schema.ConflictEditAfterReview:
		return "审核后又修改"
	case schema.ConflictMergeDisagree:
		return "合并时两条记录不一致"
	}
	return k
}

func fieldName(f string) string {
	switch f {
	case schema.FieldName:
		return "名称"
	case schema.FieldAddress:
		return "地址"
	case schema.FieldLicenceNo:
		return "许可证号"
	case schema.FieldLicensed:
		return "是否持证"
	case schema.FieldPhone:
		return "电话"
	case schema.FieldOpenState:
		return "营业状态"
	case "":
		return "整条记录"
	}
	return f
}

func winnerName(w string) string {
	switch w {
	case schema.WinnerServer:
		return "服务器"
	case schema.WinnerDevice:
		return "设备"
	}
	return w
}

func resultName(r string) string {
	switch r {
	case schema.ResultPass:
		return "合格"
	case schema.ResultFail:
		return "不合格"
	case schema.ResultNA:
		return "不适用"
	}
	return r
}

func squadName(id *int64) string {
	if id == nil {
		return "—"
	}
	return "第" + strconv.FormatInt(*id, 10) + "中队"
}

// offsetText says how far a device's clock is off, in words.
func offsetText(ms *int64) string {
	if ms == nil {
		return "未测量"
	}
	d := time.Duration(*ms) * time.Millisecond
	switch {
	case d > -time.Second && d < time.Second:
		return "准确（相差不到 1 秒）"
	case d > 0:
		return "快 " + durationText(d)
	default:
		return "慢 " + durationText(-d)
	}
}

func durationText(d time.Duration) string {
	switch {
	case d < time.Minute:
		return strconv.Itoa(int(d/time.Second)) + " 秒"
	case d < time.Hour:
		return strconv.Itoa(int(d/time.Minute)) + " 分钟"
	case d < 48*time.Hour:
		return strconv.Itoa(int(d/time.Hour)) + " 小时"
	}
	return strconv.Itoa(int(d/(24*time.Hour))) + " 天"
}

// auditLinks are the export links of an audit list: the API's own CSV
// and JSON answers (GET /api/v1/audit takes the session cookie), and the
// full list on the audit page.
type auditLinks struct{ CSV, JSON, Page string }

// exportLinks makes the links of an audit filter's query (url.Values
// encoded, so nothing in it needs escaping again).
func exportLinks(query string) auditLinks {
	sep := ""
	if query != "" {
		sep = "&"
	}
	l := auditLinks{CSV: schema.PathAudit + "?" + query + sep + "format=csv&limit=1000", JSON: schema.PathAudit + "?" + query + sep + "format=json&limit=1000"}
	if query != "" {
		l.Page = "/audit?" + query
	}
	return l
}

// stateName is a state an audit entry records: an inspection's or a
// finding's in Chinese, anything else as recorded.
func stateName(s string) string {
	if n := statusName(s); n != s {
		return n
	}
	if n := findingStatusName(s); n != s {
		return n
	}
	return complaintStatusName(s)
}

// zoneReasonName says in Chinese why a school-zone violation was cleared.
func zoneReasonName(r string) string {
	switch r {
	case schema.ZoneClearClosed:
		return "场所已关闭"
	case schema.ZoneClearDeleted:
		return "场所已删除"
	case schema.ZoneClearMovedOut:
		return "已迁出禁设区域"
	case schema.ZoneClearRule:
		return "规则变更"
	case schema.ZoneClearSchool:
		return "学校范围变更"
	}
	return r
}

// groupDigits writes n with a comma between each three digits (10,000).
func groupDigits(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
