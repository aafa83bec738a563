package dispatch

import (
	"testing"

	"banyan/internal/work"
)

func TestDecider(t *testing.T) {
	t.Parallel()
	schema, err := work.DecodeSchema(work.Extract, []byte(`{"inputs":["doc"],"fields":[
		{"name":"vendor","type":"text"},{"name":"total","type":"number"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	decide := Decider(work.Project{Kind: work.Extract, Schema: schema, Overlap: 2, MaxOverlap: 3})
	a := func(vendor, total string) work.Answer {
		return work.Answer{Fields: map[string]string{"vendor": vendor, "total": total}}
	}
	tests := []struct {
		name    string
		answers []work.Answer
		want    work.TaskState
		wanted  int
		result  work.Answer
	}{
		{"one answer", []work.Answer{a("Om", "10")}, work.TaskInProgress, 2, work.Answer{}},
		{"agree after folding", []work.Answer{a("OM  TRADERS", "10"), a("om traders", "10")}, work.TaskDone, 2, a("OM  TRADERS", "10")},
		{"disagree", []work.Answer{a("Om", "10"), a("Om", "11")}, work.TaskInProgress, 3, work.Answer{}},
		{"third settles", []work.Answer{a("Om", "10"), a("Om", "11"), a("Om", "10")}, work.TaskDone, 3, a("Om", "10")},
		{"still split at max", []work.Answer{a("Om", "10"), a("Om", "11"), a("Om", "12")}, work.TaskNeedsReview, 3, work.Answer{}},
	}
	for _, tc := range tests {
		given := make([]Given, len(tc.answers))
		for i, a := range tc.answers {
			given[i] = Given{WorkerID: string(rune('a' + i)), Answer: a, Accuracy: 0.75}
		}
		v, err := decide(given)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if v.State != tc.want || v.Wanted != tc.wanted {
			t.Fatalf("%s: got %s wanting %d, want %s wanting %d", tc.name, v.State, v.Wanted, tc.want, tc.wanted)
		}
		if tc.want == work.TaskDone && (v.Result.Fields["vendor"] != tc.result.Fields["vendor"] || v.Result.Fields["total"] != tc.result.Fields["total"]) {
			t.Fatalf("%s: got result %v, want %v", tc.name, v.Result, tc.result)
		}
	}
}

// Transcriptions settle on their medoid: the answer with the least total
// character error rate to the others, delivered as written, once it is
// within max_text_error of a majority (mv) or its weighed votes reach the
// confidence target (ds); answers far apart want another answer, then go
// to review at max_overlap.
func TestTranscriptionsSettleOnTheMedoid(t *testing.T) {
	t.Parallel()
	schema, err := work.DecodeSchema(work.Transcribe, []byte(`{"inputs":["audio_url"]}`))
	if err != nil {
		t.Fatal(err)
	}
	const (
		right = "Please deliver the parcel to the back door." // 43 characters
		typo  = "Please deliver the parcel to the back dor."  // one dropped: 1/43 from right, 1/42 back
		typo2 = "Please delivr the parcel to the back door."  // one dropped elsewhere: 2 from typo
		far1  = "Leave the box by the door."
		far2  = "The shop opens at nine on Mondays."
		far3  = "Call me back after lunch, please."
		far4  = "Nobody was at home when we came by."
	)
	tests := []struct {
		name     string
		method   string
		maxError float64
		texts    []string
		want     work.TaskState
		wanted   int
		result   string
	}{
		{"mv: two near, one far: the medoid, though answered second", work.MethodMV, 0.05, []string{typo, right, far1}, work.TaskDone, 3, right},
		{"mv: the middle of three near ones", work.MethodMV, 0.05, []string{typo, typo2, right}, work.TaskDone, 3, right},
		{"mv: all far apart want a fourth", work.MethodMV, 0.05, []string{far1, far2, far3}, work.TaskInProgress, 4, ""},
		{"mv: all far apart at max go to review", work.MethodMV, 0.05, []string{far1, far2, far3, far4}, work.TaskNeedsReview, 4, ""},
		{"mv: a strict limit splits the near ones", work.MethodMV, 0.02, []string{typo, right, far1}, work.TaskInProgress, 4, ""},
		{"ds: two near, one far: the medoid", work.MethodDS, 0.05, []string{typo, right, far1}, work.TaskDone, 3, right},
		{"ds: all far apart want a fourth", work.MethodDS, 0.05, []string{far1, far2, far3}, work.TaskInProgress, 4, ""},
		{"ds: all far apart at max go to review", work.MethodDS, 0.05, []string{far1, far2, far3, far4}, work.TaskNeedsReview, 4, ""},
		{"ds: a strict limit splits the near ones", work.MethodDS, 0.02, []string{typo, right, far1}, work.TaskInProgress, 4, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := work.Project{Kind: work.Transcribe, Schema: schema, Overlap: 3, MaxOverlap: 4,
				Quality: work.Quality{Method: tc.method, MaxTextError: tc.maxError}}
			if tc.method == work.MethodDS {
				p.ConfidenceTarget = 0.95
			}
			given := make([]Given, len(tc.texts))
			for i, text := range tc.texts {
				given[i] = Given{WorkerID: string(rune('a' + i)), Answer: work.Answer{Text: text}, Accuracy: 0.9}
			}
			v, err := Decider(p)(given)
			if err != nil {
				t.Fatal(err)
			}
			if v.State != tc.want || v.Wanted != tc.wanted {
				t.Fatalf("got %s wanting %d, want %s wanting %d", v.State, v.Wanted, tc.want, tc.wanted)
			}
			if v.State == work.TaskDone && v.Result.Text != tc.result {
				t.Fatalf("got result %q, want %q", v.Result.Text, tc.result)
			}
		})
	}
}
