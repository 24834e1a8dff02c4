package schema

import "time"

// The on-site inspection record (现场检查笔录). The law and the court
// evidence rules ask a record to carry its number, start and end time, the
// address, the venue's name and licence, the person in charge present, at
// least two inspectors with names and badge numbers who showed their IDs,
// the facts (no penalty), the list of photos, and the party's signature or
// the reason the party refused with a witness. An inspection carries those
// facts already (times, inspectors, item notes and photos); OnSiteRecord
// adds what only the record has, and the signing that seals it.
//
// Once the party signed (or refused before a witness) the record is
// sealed: Signing.Hash is RecordHash of the record as signed, and a later
// change is an Amendment with its own signing, never an edit. The
// inspection's Items are always the answers as amended; the original is
// what reverting the amendments, newest first, gives back (OriginalItems),
// and it must hash to the seal.

// ID types a person in charge may show.
const (
	IDTypeResident = "resident_id" // 居民身份证
	IDTypePassport = "passport"    // 护照
	IDTypeHKMO     = "hkmo_permit" // 港澳居民来往内地通行证
	IDTypeTaiwan   = "tw_permit"   // 台湾居民来往大陆通行证
	IDTypeOther    = "other"
)

// IDTypes lists the accepted ID types.
var IDTypes = []string{IDTypeResident, IDTypePassport, IDTypeHKMO, IDTypeTaiwan, IDTypeOther}

// Bounds of the record's text fields (runes).
const (
	MaxRecordText   = 200  // names, roles, address, reasons
	MaxRecordRemark = 4000 // further facts
	// IDLastDigits is how many trailing characters of an ID number a
	// record keeps: enough to tell people apart, not enough to misuse.
	IDLastDigits = 4
)

// Party is the person in charge present at the inspection (现场负责人).
type Party struct {
	Name   string `json:"name"`
	Role   string `json:"role"`    // e.g. 店长, 网管, 法定代表人
	IDType string `json:"id_type"` // one of IDTypes
	IDLast string `json:"id_last"` // the last IDLastDigits characters of the ID number only
}

// Witness is who saw the party refuse to sign (见证人).
type Witness struct {
	Name   string `json:"name"`
	IDLast string `json:"id_last,omitempty"`
	// Relation says who the witness is (e.g. 社区网格员, 其他顾客).
	Relation string `json:"relation,omitempty"`
}

// SignRefusal is the party's refusal to sign, as the inspectors recorded it.
type SignRefusal struct {
	Reason  string  `json:"reason"`
	Witness Witness `json:"witness"`
}

// Signing is the party's answer to a record or an amendment: a signature
// captured on the device as an image (kept as evidence like a photo,
// named by its SHA-256), or a refusal with reason and witness. Exactly one
// of Signature and Refused is set. Hash is what was signed: RecordHash of
// the record, or the amendment's Hash.
type Signing struct {
	At        time.Time    `json:"at"`
	Hash      string       `json:"hash"`
	Signature *PhotoRef    `json:"signature,omitempty"`
	Refused   *SignRefusal `json:"refused,omitempty"`
}

// OnSiteRecord is what an inspection's on-site record adds to the
// inspection: its number, the venue as found, the person in charge, that
// the inspectors showed their IDs, further facts, the signing that seals
// it and the amendments made since.
type OnSiteRecord struct {
	// Number is the record's number, made on the device offline:
	// 现检〔YYYY〕BADGE-N号 (year of the start in Asia/Shanghai, the
	// recording inspector's badge, the device's running count).
	Number    string `json:"number"`
	VenueName string `json:"venue_name"`
	Address   string `json:"address"`
	LicenceNo string `json:"licence_no"`
	Party     Party  `json:"party"`
	// IDsShown: the inspectors showed their law-enforcement IDs (出示执法证件).
	IDsShown bool `json:"ids_shown"`
	// Remarks are further facts beyond the item notes.
	Remarks    string      `json:"remarks,omitempty"`
	Signing    *Signing    `json:"signing,omitempty"`
	Amendments []Amendment `json:"amendments,omitempty"`
}

// ItemChange is one answer an amendment changes: as it stood before and
// as it stands after.
type ItemChange struct {
	ItemID string     `json:"item_id"`
	Before ItemResult `json:"before"`
	After  ItemResult `json:"after"`
}

// Amendment is a change of a sealed record (补正): why, which answers,
// chained to what came before (Prev is the seal's hash for the first, the
// previous amendment's Hash after), and signed on its own.
type Amendment struct {
	N       int          `json:"n"` // 1, 2, … in order
	At      time.Time    `json:"at"`
	Reason  string       `json:"reason"`
	Changes []ItemChange `json:"changes"`
	Prev    string       `json:"prev"`
	Hash    string       `json:"hash"` // AmendmentHash of this amendment
	Signing *Signing     `json:"signing,omitempty"`
}
