package quality

import "math"

// MeanInterval returns the mean of scores on a bounded scale [floor, ceil]
// with its 95 % interval by Student's t: mean ± t(0.975, n−1)·s/√n, s the
// sample standard deviation, clipped to the scale. One score says nothing
// of the spread, so its interval is the whole scale; no scores give mean 0
// and the whole scale.
func MeanInterval(scores []float64, floor, ceil float64) (mean, lo, hi float64) {
	n := len(scores)
	if n == 0 {
		return 0, floor, ceil
	}
	for _, x := range scores {
		mean += x
	}
	mean /= float64(n)
	if n == 1 {
		return mean, floor, ceil
	}
	var ss float64
	for _, x := range scores {
		ss += (x - mean) * (x - mean)
	}
	half := studentT975(n-1) * math.Sqrt(ss/float64(n-1)/float64(n))
	return mean, max(floor, mean-half), min(ceil, mean+half)
}

// t975 are Student's t quantiles at 0.975 for 1 to 30 degrees of freedom.
var t975 = [...]float64{12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
	2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
	2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042}

// studentT975 is Student's t quantile at 0.975 for df degrees of freedom:
// from the table up to 30, beyond by the Cornish–Fisher expansion around
// the normal quantile, within 0.001 of the exact value there.
func studentT975(df int) float64 {
	if df <= len(t975) {
		return t975[df-1]
	}
	const z = 1.959964
	v := float64(df)
	return z + (z*z*z+z)/(4*v) + (5*math.Pow(z, 5)+16*z*z*z+3*z)/(96*v*v)
}
