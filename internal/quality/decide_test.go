package quality

import (
	"math/rand/v2"
	"reflect"
	"testing"
)

func ballots(labels ...string) []Ballot {
	out := make([]Ballot, len(labels))
	for i, l := range labels {
		out[i] = Ballot{"label": l}
	}
	return out
}

func TestDecide(t *testing.T) {
	t.Parallel()
	p := Policy{Overlap: 3, MaxOverlap: 5}
	tests := []struct {
		name    string
		ballots []Ballot
		policy  Policy
		want    Outcome
		winner  string
		wantN   int
	}{
		{"none yet", nil, p, NeedMore, "", 3},
		{"below overlap", ballots("a", "a"), p, NeedMore, "", 3},
		{"unanimous", ballots("a", "a", "a"), p, Settled, "a", 3},
		{"two of three", ballots("a", "b", "a"), p, Settled, "a", 3},
		{"all differ", ballots("a", "b", "c"), p, NeedMore, "", 4},
		{"tie at four", ballots("a", "b", "a", "b"), p, NeedMore, "", 5},
		{"three of four", ballots("a", "b", "a", "a"), p, Settled, "a", 4},
		{"no majority at max", ballots("a", "b", "a", "b", "c"), p, NeedsReview, "", 5},
		{"overlap one", ballots("x"), Policy{Overlap: 1, MaxOverlap: 1}, Settled, "x", 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d := Decide(tc.ballots, tc.policy)
			if d.Outcome != tc.want || d.Want != tc.wantN {
				t.Fatalf("got %v want %d, want %v want %d", d.Outcome, d.Want, tc.want, tc.wantN)
			}
			if tc.want == Settled && d.Winners["label"] != tc.winner {
				t.Fatalf("got winner %q, want %q", d.Winners["label"], tc.winner)
			}
		})
	}
}

func TestDecideFieldByField(t *testing.T) {
	t.Parallel()
	p := Policy{Overlap: 3, MaxOverlap: 5}
	// Each field has its own majority, though no two answers agree on
	// everything.
	b := []Ballot{
		{"vendor": "sai", "total": "100"},
		{"vendor": "sai", "total": "109"},
		{"vendor": "sia", "total": "100"},
	}
	d := Decide(b, p)
	want := map[string]string{"vendor": "sai", "total": "100"}
	if d.Outcome != Settled || !reflect.DeepEqual(d.Winners, want) {
		t.Fatalf("got %v %v, want settled %v", d.Outcome, d.Winners, want)
	}
	if d.Confidence < 0.66 || d.Confidence > 0.67 {
		t.Fatalf("got confidence %v, want 2/3", d.Confidence)
	}
	// One field without a majority holds the whole task back.
	b[2]["total"] = "190"
	if d := Decide(b, p); d.Outcome != NeedMore {
		t.Fatalf("got %v, want need_more while total disagrees", d.Outcome)
	}
}

// The same answers in any order give the same decision.
func TestDecideOrderFree(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	p := Policy{Overlap: 3, MaxOverlap: 7}
	for range 500 {
		n := 1 + rng.IntN(7)
		b := make([]Ballot, n)
		for i := range b {
			b[i] = Ballot{"x": string(rune('a' + rng.IntN(3))), "y": string(rune('a' + rng.IntN(2)))}
		}
		first := Decide(b, p)
		rng.Shuffle(len(b), func(i, j int) { b[i], b[j] = b[j], b[i] })
		if again := Decide(b, p); !reflect.DeepEqual(first, again) {
			t.Fatalf("decision changed with order: %+v vs %+v", first, again)
		}
	}
}

func BenchmarkDecide(b *testing.B) {
	p := Policy{Overlap: 3, MaxOverlap: 5}
	bs := []Ballot{
		{"a": "1", "b": "2", "c": "3", "d": "4"},
		{"a": "1", "b": "2", "c": "x", "d": "4"},
		{"a": "1", "b": "y", "c": "3", "d": "4"},
	}
	for b.Loop() {
		Decide(bs, p)
	}
}
