package quality

import "testing"

func TestMedoid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		errs [][]float64
		want int
	}{
		{"no items", nil, -1},
		{"one item", [][]float64{{0}}, 0},
		{"a tie goes to the earliest", [][]float64{{0, 0.1}, {0.1, 0}}, 0},
		// Item 1 sits between items 0 and 2; item 3 is far from all.
		{"the middle one", [][]float64{
			{0, 0.05, 0.1, 1},
			{0.05, 0, 0.05, 1},
			{0.1, 0.05, 0, 1},
			{1, 1, 1, 0},
		}, 1},
		// Distances taken from each item as the reference differ: item 0
		// is nearer to the others as they see it, item 1 as it sees them.
		{"its own row counts", [][]float64{{0, 0.5}, {0.2, 0}}, 1},
	}
	for _, tc := range tests {
		if got := Medoid(tc.errs); got != tc.want {
			t.Fatalf("%s: got %d, want %d", tc.name, got, tc.want)
		}
	}
}
