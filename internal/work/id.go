package work

import "github.com/google/uuid"

// NewID returns a new UUIDv7 string. Version 7 ids sort by creation time, so
// they double as a stable pagination cursor and keep index inserts local.
// An id is made once, where the record is born, and never regenerated.
func NewID() string {
	id, err := uuid.NewV7()
	if err != nil {
		// NewV7 fails only when the system's random source fails, and then
		// nothing else Banyan does is safe either.
		panic("work: cannot make a UUIDv7: " + err.Error())
	}
	return id.String()
}

// ValidID reports whether s is a canonical UUID string.
func ValidID(s string) bool {
	if len(s) != 36 {
		return false
	}
	_, err := uuid.Parse(s)
	return err == nil
}
