package store

// boolInt stores a flag as 0 or 1, which every engine takes.
func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
