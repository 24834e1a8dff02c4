package schema

// InspectionFlags lists what a squad leader should look at before
// accepting in, in this order: FlagSingleInspector (the law asks for two
// inspectors on site), FlagTimeSuspect, FlagPhotosMissing (in.MissingPhotos
// as a store fills it on read). The device shows the same flags to its
// inspector before the record leaves.
func InspectionFlags(in *Inspection) []string {
	var flags []string
	if len(in.Inspectors) < 2 {
		flags = append(flags, FlagSingleInspector)
	}
	if in.TimeSuspect {
		flags = append(flags, FlagTimeSuspect)
	}
	if len(in.MissingPhotos) > 0 {
		flags = append(flags, FlagPhotosMissing)
	}
	return flags
}
