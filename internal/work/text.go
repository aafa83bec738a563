package work

// Transcriptions and free-text replies (transcribe, respond) are compared
// by their character error rate: the Levenshtein distance in runes between
// the folded texts (Fold) divided by the folded reference's length in
// runes. A text agrees with a reference when its rate is at most the
// project's max_text_error; TextScore is that rule, and every place that
// scores or settles text (gold, review, audits, contests, the quality
// report, training, settling) goes through it.

// Limits of a project's max_text_error.
const (
	// DefaultMaxTextError is the highest character error rate at which a
	// text still agrees with its reference, for projects that set none
	// and for courses: a typo or two in a sentence.
	DefaultMaxTextError = 0.05
	// MaxTextErrorLimit is the highest max_text_error a project may set:
	// beyond it, a text with more than half its characters wrong would
	// agree with its reference.
	MaxTextErrorLimit = 0.5
)

// TextScore is 1 when given agrees with reference, that is when its
// character error rate against reference (TextError) is at most maxError,
// and 0 otherwise. A maxError of 0 means DefaultMaxTextError, so that a
// Project built in memory without the setting scores as a stored
// project does.
func TextScore(reference, given string, maxError float64) float64 {
	if maxError <= 0 {
		maxError = DefaultMaxTextError
	}
	if TextError(reference, given) <= maxError {
		return 1
	}
	return 0
}

// TextError is given's character error rate against reference: the edit
// distance in runes between their folded forms divided by the folded
// reference's length in runes. It can exceed 1 when given is much longer
// than reference. An empty reference gives 0 against an empty text and 1
// against any other.
func TextError(reference, given string) float64 {
	ref, got := []rune(Fold(reference)), []rune(Fold(given))
	return errorRate(editDistance(ref, got), len(ref), len(got))
}

// TextErrors compares every text with every other: errs[i][j] is
// TextError(texts[i], texts[j]), with each pair's edit distance computed
// once.
func TextErrors(texts []string) [][]float64 {
	folded := make([][]rune, len(texts))
	errs := make([][]float64, len(texts))
	for i, t := range texts {
		folded[i] = []rune(Fold(t))
		errs[i] = make([]float64, len(texts))
	}
	for i := range folded {
		for j := i + 1; j < len(folded); j++ {
			d := editDistance(folded[i], folded[j])
			errs[i][j] = errorRate(d, len(folded[i]), len(folded[j]))
			errs[j][i] = errorRate(d, len(folded[j]), len(folded[i]))
		}
	}
	return errs
}

// errorRate is an edit distance d over the reference's length.
func errorRate(d, refLen, givenLen int) float64 {
	if refLen == 0 {
		if givenLen == 0 {
			return 0
		}
		return 1
	}
	return float64(d) / float64(refLen)
}

// editDistance is the Levenshtein distance between a and b in runes: the
// fewest single-rune insertions, deletions and substitutions that turn one
// into the other. It runs Myers' bit-vector algorithm, in Hyyrö's blocked
// form for texts longer than 64 runes: one column of the distance table is
// a few 64-bit words, so two unrelated 20,000-character texts compare more
// than ten times faster than by filling the table cell by cell (on this
// project's machine 53–76 ms against 0.9 s; BenchmarkEditDistance,
// BenchmarkTableDistance).
func editDistance(a, b []rune) int {
	if len(a) > len(b) {
		a, b = b, a
	}
	m := len(a)
	if m == 0 {
		return len(b)
	}
	words := (m + 63) / 64
	// peq holds, for every rune of a, the bit set of the positions where
	// it occurs in a, words long; index finds a rune's set.
	index := make(map[rune]int, m)
	var peq []uint64
	for i, r := range a {
		k, ok := index[r]
		if !ok {
			k = len(peq) / words
			index[r] = k
			peq = append(peq, make([]uint64, words)...)
		}
		peq[k*words+i/64] |= 1 << (i % 64)
	}
	// pv and mv are the column's vertical deltas (+1 and -1) between each
	// row and the one above it; the first column counts up from 0.
	pv, mv := make([]uint64, words), make([]uint64, words)
	for w := range pv {
		pv[w] = ^uint64(0)
	}
	none := make([]uint64, words)
	last := uint64(1) << ((m - 1) % 64)
	dist := m
	for _, r := range b {
		eq := none
		if k, ok := index[r]; ok {
			eq = peq[k*words : (k+1)*words]
		}
		// Each block of 64 rows is moved one column on (Hyyrö's advance
		// step). carryP and carryM say whether the horizontal delta
		// entering the block's top row is +1 or -1: +1 into the first
		// block, since the first row counts up from 0 too.
		var carryP, carryM uint64 = 1, 0
		for w := range words {
			p, n, e := pv[w], mv[w], eq[w]
			xv := e | n
			e |= carryM
			xh := (((e & p) + p) ^ p) | e
			ph := n | ^(xh | p)
			mh := p & xh
			if w == words-1 {
				if ph&last != 0 {
					dist++
				} else if mh&last != 0 {
					dist--
				}
			}
			outP, outM := ph>>63, mh>>63
			ph = ph<<1 | carryP
			mh = mh<<1 | carryM
			pv[w] = mh | ^(xv | ph)
			mv[w] = ph & xv
			carryP, carryM = outP, outM
		}
	}
	return dist
}
