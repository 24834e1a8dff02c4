package schema

// Photo claims. An inspection names its photos by hash, and naming costs
// nothing: whoever learns a hash can name it. What makes a photo evidence
// of an inspection is that its squad had the bytes, so every photo
// reference carries a claim, and only a proven claim lets anyone read the
// photo or counts the photo as received:
//
//   - proven: the server holds the bytes, the pusher's squad had them (one
//     of its devices delivered them, or a proven claim of the squad names
//     them) and the declared size is the stored one;
//   - pending: anything else. A store proves a pending claim when a device
//     of the inspection (its own device, or another of its inspector's)
//     delivers bytes that hash to the name and have the declared size; no
//     other device's upload does.
//
// Naming bytes the squad had with another size is refused: the record
// would misstate its evidence. Naming another squad's photo is pending
// whatever size it declares, so that no answer tells whether the server
// holds another squad's photo.

// Claim states of a photo reference.
const (
	ClaimProven  = "proven"
	ClaimPending = "pending"
)

// PhotoHolding is what the server knows of the bytes named by one hash,
// as the pushing squad sees them.
type PhotoHolding struct {
	Stored bool  // the server holds bytes under the hash
	Size   int64 // their size, when Stored
	Squad  bool  // the pusher's squad had them: one of its devices delivered them, or a proven claim of the squad names them
}

// ClaimPhotos decides the claim of every photo an inspection names (the
// signature images of its on-site record among them), for a
// decision that writes it (DecideInspection); held says what the server
// knows of a hash. It returns the claim by hash (nil when the inspection
// names no photo), or the refusal of a record that gives one photo two
// sizes or misstates the size of bytes the squad had.
func ClaimPhotos(in *Inspection, held func(sha string) PhotoHolding) (map[string]string, *Error) {
	var claims map[string]string
	var sizes map[string]int64
	claim := func(what string, p PhotoRef) *Error {
		if claims == nil {
			claims, sizes = map[string]string{}, map[string]int64{}
		}
		if size, seen := sizes[p.SHA256]; seen {
			if size != p.Size {
				return Errorf(CodeInvalid, "inspection %s names photo %s with %d and with %d bytes; a photo has one size",
					in.ID, p.SHA256[:12], size, p.Size)
			}
			return nil
		}
		sizes[p.SHA256] = p.Size
		h := held(p.SHA256)
		switch {
		case !h.Stored || !h.Squad:
			claims[p.SHA256] = ClaimPending
		case h.Size != p.Size:
			return Errorf(CodeInvalid, "inspection %s %s names photo %s with %d bytes; your squad sent it with %d bytes",
				in.ID, what, p.SHA256[:12], p.Size, h.Size)
		default:
			claims[p.SHA256] = ClaimProven
		}
		return nil
	}
	for i := range in.Items {
		for _, p := range in.Items[i].Photos {
			if err := claim("item "+in.Items[i].ItemID, p); err != nil {
				return nil, err
			}
		}
	}
	// The party's signatures are evidence like photos (RecordSignatures).
	for _, p := range RecordSignatures(in) {
		if err := claim("on-site record signature", p); err != nil {
			return nil, err
		}
	}
	return claims, nil
}
