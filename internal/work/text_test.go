package work

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// tableDistance is the Levenshtein distance filled in cell by cell, the
// definition editDistance must agree with.
func tableDistance(a, b []rune) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func TestEditDistance(t *testing.T) {
	t.Parallel()
	tests := []struct {
		a, b string
		want int
	}{
		{"", "", 0},
		{"", "abc", 3},
		{"kitten", "sitting", 3},
		{"flaw", "lawn", 2},
		{"tomorrow", "tomorow", 1},
		{"नमस्ते", "नमस्कार", 3},
		{strings.Repeat("a", 64), strings.Repeat("a", 65), 1},
		{strings.Repeat("ab", 70), strings.Repeat("ba", 70), 2},
	}
	for _, tc := range tests {
		if got := editDistance([]rune(tc.a), []rune(tc.b)); got != tc.want {
			t.Fatalf("editDistance(%q, %q): got %d, want %d", tc.a, tc.b, got, tc.want)
		}
		if got := editDistance([]rune(tc.b), []rune(tc.a)); got != tc.want {
			t.Fatalf("editDistance(%q, %q): got %d, want %d", tc.b, tc.a, got, tc.want)
		}
	}
}

// The bit-vector distance equals the cell-by-cell one on random texts of
// every length around the 64-rune blocks, from small alphabets (many
// matches) and large ones (few), near copies and strangers.
func TestEditDistanceMatchesTable(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(7, 11))
	alphabets := [][]rune{[]rune("ab"), []rune("acgt"), []rune("abcdefghijklmnopqrstuvwxyz "), []rune("अआइईउऊकखगघ")}
	random := func(abc []rune, n int) []rune {
		out := make([]rune, n)
		for i := range out {
			out[i] = abc[rng.IntN(len(abc))]
		}
		return out
	}
	for i := range 3000 {
		abc := alphabets[i%len(alphabets)]
		a := random(abc, rng.IntN(200))
		var b []rune
		if i%2 == 0 {
			b = random(abc, rng.IntN(200))
		} else {
			// A near copy: a few edits of a.
			b = append([]rune{}, a...)
			for range rng.IntN(6) {
				p := rng.IntN(len(b) + 1)
				switch rng.IntN(3) {
				case 0:
					b = append(b[:p], append([]rune{abc[rng.IntN(len(abc))]}, b[p:]...)...)
				case 1:
					if p < len(b) {
						b = append(b[:p], b[p+1:]...)
					}
				default:
					if p < len(b) {
						b[p] = abc[rng.IntN(len(abc))]
					}
				}
			}
		}
		if got, want := editDistance(a, b), tableDistance(a, b); got != want {
			t.Fatalf("editDistance(%q, %q): got %d, want %d", string(a), string(b), got, want)
		}
	}
}

func TestTextScore(t *testing.T) {
	t.Parallel()
	ref := "Please send the parcel tomorrow morning." // 40 characters
	tests := []struct {
		name     string
		given    string
		maxError float64
		want     float64
	}{
		{"same text", ref, 0.05, 1},
		{"case and spacing fold", "please  send the parcel TOMORROW morning.", 0.05, 1},
		{"one letter dropped: 1/40", "Please send the parcel tomorow morning.", 0.05, 1},
		{"two edits: 2/40 is the limit", "Please send the parcel tomorow mornin.", 0.05, 1},
		{"three edits: 3/40", "Plase send the parcel tomorow mornin.", 0.05, 0},
		{"three edits under a looser limit", "Plase send the parcel tomorow mornin.", 0.1, 1},
		{"one edit under a stricter limit", "Please send the parcel tomorow morning.", 0.02, 0},
		{"a different sentence", "The meeting is moved to Friday noon.", 0.05, 0},
		{"no setting means the default", "Please send the parcel tomorow morning.", 0, 1},
	}
	for _, tc := range tests {
		if got := TextScore(ref, tc.given, tc.maxError); got != tc.want {
			t.Fatalf("%s: TextScore got %v, want %v (error rate %v)", tc.name, got, tc.want, TextError(ref, tc.given))
		}
	}
}

func TestTextError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		ref, given string
		want       float64
	}{
		{"abcd", "abcd", 0},
		{"abcd", "abd", 0.25},
		{"abd", "abcd", 1.0 / 3},
		{"ab", "abcdef", 2},
		{"", "", 0},
		{"", "x", 1},
		{"  ", "", 0},
	}
	for _, tc := range tests {
		if got := TextError(tc.ref, tc.given); got != tc.want {
			t.Fatalf("TextError(%q, %q): got %v, want %v", tc.ref, tc.given, got, tc.want)
		}
	}
	texts := []string{"abcd", "abd", "ABCD ", "xyz"}
	errs := TextErrors(texts)
	for i, a := range texts {
		for j, b := range texts {
			if got, want := errs[i][j], TextError(a, b); got != want {
				t.Fatalf("TextErrors[%d][%d]: got %v, want TextError(%q, %q) = %v", i, j, got, a, b, want)
			}
		}
	}
}

// longestAnswers are two unrelated texts at the longest a transcribe or
// respond answer may be (DefaultMaxTextLength).
func longestAnswers() (x, y []rune) {
	rng := rand.New(rand.NewPCG(1, 2))
	abc := []rune("abcdefghijklmnopqrstuvwxyz ")
	text := func() []rune {
		out := make([]rune, DefaultMaxTextLength)
		for i := range out {
			out[i] = abc[rng.IntN(len(abc))]
		}
		return out
	}
	return text(), text()
}

func BenchmarkEditDistance(b *testing.B) {
	x, y := longestAnswers()
	for b.Loop() {
		editDistance(x, y)
	}
}

// BenchmarkTableDistance is the same comparison filled in cell by cell,
// for scale.
func BenchmarkTableDistance(b *testing.B) {
	x, y := longestAnswers()
	for b.Loop() {
		tableDistance(x, y)
	}
}
