package work

import (
	"testing"
	"time"
)

func TestWorkedMS(t *testing.T) {
	t.Parallel()
	from := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	cases := []struct {
		name  string
		took  time.Duration
		limit time.Duration
		scale float64
		want  int64
	}{
		{name: "as measured", took: 42 * time.Second, limit: time.Minute, want: 42000},
		{name: "at most the limit", took: 2 * time.Minute, limit: time.Minute, want: 60000},
		{name: "a negative span is none", took: -time.Second, limit: time.Minute, want: 0},
		{name: "a negative limit is none", took: time.Second, limit: -time.Minute, want: 0},
		{name: "scaled", took: 3 * time.Millisecond, limit: time.Hour, scale: 1000, want: 3000},
		{name: "scale 0 means 1", took: time.Second, limit: time.Hour, scale: 0, want: 1000},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := WorkedMS(from, from.Add(tc.took), tc.limit, tc.scale); got != tc.want {
				t.Fatalf("got %d, want %d", got, tc.want)
			}
		})
	}
}
