package quality

// EditDistance is the Levenshtein distance between a and b in runes: the
// fewest single-character insertions, deletions and substitutions that turn
// one into the other.
func EditDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	if len(ra) < len(rb) {
		ra, rb = rb, ra
	}
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

// Near reports whether two texts agree within an edit-distance threshold:
// at most ratio of the longer one's length, and at least one edit allowed.
func Near(a, b string, ratio float64) bool {
	if a == b {
		return true
	}
	n := max(len([]rune(a)), len([]rune(b)))
	limit := max(1, int(ratio*float64(n)))
	return EditDistance(a, b) <= limit
}

// Cluster maps each text to the first earlier text it is near (or to
// itself), so that texts within the threshold of each other vote as one.
// The first text of a group stands for it, which keeps the result
// independent of later arrivals.
func Cluster(texts []string, ratio float64) []string {
	out := make([]string, len(texts))
	var heads []string
	for i, t := range texts {
		out[i] = t
		for _, h := range heads {
			if Near(t, h, ratio) {
				out[i] = h
				break
			}
		}
		if out[i] == t {
			heads = append(heads, t)
		}
	}
	return out
}
