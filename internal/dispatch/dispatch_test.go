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

func TestTranscriptionsAgreeWithinEditDistance(t *testing.T) {
	t.Parallel()
	schema, _ := work.DecodeSchema(work.Transcribe, []byte(`{"inputs":["audio_url"]}`))
	decide := Decider(work.Project{Kind: work.Transcribe, Schema: schema, Overlap: 2, MaxOverlap: 3})
	given := []Given{
		{WorkerID: "a", Answer: work.Answer{Text: "Please deliver the parcel to the back door before noon."}, Accuracy: 0.75},
		{WorkerID: "b", Answer: work.Answer{Text: "please deliver the parcel to the back door before noon"}, Accuracy: 0.75},
	}
	v, err := decide(given)
	if err != nil || v.State != work.TaskDone || v.Result.Text != given[0].Answer.Text {
		t.Fatalf("near-identical texts: got %+v, %v; want done with the first text", v, err)
	}
	given[1].Answer.Text = "Deliver it tomorrow."
	if v, _ := decide(given); v.State != work.TaskInProgress {
		t.Fatalf("different texts: got %s, want another answer", v.State)
	}
}
