package work

import "time"

// WorkedMS is the working time, in milliseconds, between from and to,
// multiplied by scale, at most limit (a negative span counts as none). A
// scale of 0 or less means 1; any other is for simulations only, which run
// their workers faster than life and measure their time as life would. The
// hub's dispatch and a village center's local store measure with it, each
// holding its own scale.
func WorkedMS(from, to time.Time, limit time.Duration, scale float64) int64 {
	if scale <= 0 {
		scale = 1
	}
	d := time.Duration(float64(to.Sub(from)) * scale)
	return min(max(d, 0), max(limit, 0)).Milliseconds()
}
