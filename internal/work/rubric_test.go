package work

import (
	"strings"
	"testing"
)

// A rubric's errors name the field and the rule.
func TestRubricValidate(t *testing.T) {
	t.Parallel()
	pf := func(name string) Criterion { return Criterion{Name: name, Scale: ScalePassFail} }
	many := make([]Criterion, MaxCriteria+1)
	for i := range many {
		many[i] = pf("c" + strings.Repeat("x", i))
	}
	tests := []struct {
		name     string
		criteria []Criterion
		want     string // part of the error; "" for none
	}{
		{"the default", DefaultRubric().Criteria, ""},
		{"pass/fail and 1-5 mixed", []Criterion{pf("accuracy"), {Name: "tone", Scale: ScaleOneToFive, Min: 4, Description: "Warm and polite."}}, ""},
		{"empty criteria", nil, "rubric.criteria: list 1 to 20 criteria, got 0"},
		{"too many criteria", many, "rubric.criteria: list 1 to 20 criteria, got 21"},
		{"empty name", []Criterion{pf("")}, "rubric.criteria[0].name"},
		{"name with spaces", []Criterion{pf("accuracy"), pf("Tone of voice")}, `rubric.criteria[1].name: "Tone of voice" must be`},
		{"duplicate names", []Criterion{pf("tone"), pf("grammar"), pf("tone")}, `rubric.criteria[2].name: "tone" is listed twice`},
		{"unknown scale", []Criterion{{Name: "tone", Scale: "1-10"}}, `rubric.criteria[0].scale: "1-10" is not a scale; use pass_fail or 1-5`},
		{"no scale", []Criterion{{Name: "tone"}}, `rubric.criteria[0].scale: "" is not a scale`},
		{"minimum missing on 1-5", []Criterion{{Name: "tone", Scale: ScaleOneToFive}}, "rubric.criteria[0].min: the lowest passing score on the 1-5 scale must be from 1 to 5, got 0"},
		{"minimum above 5", []Criterion{{Name: "tone", Scale: ScaleOneToFive, Min: 6}}, "rubric.criteria[0].min: the lowest passing score on the 1-5 scale must be from 1 to 5, got 6"},
		{"minimum on pass/fail", []Criterion{{Name: "tone", Scale: ScalePassFail, Min: 1}}, "rubric.criteria[0].min: a pass_fail criterion has no minimum"},
		{"long description", []Criterion{{Name: "tone", Scale: ScalePassFail, Description: strings.Repeat("x", MaxCriterionDescription+1)}}, "rubric.criteria[0].description: at most 1000 bytes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := (&Rubric{Criteria: tc.criteria}).Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("got %v, want no error", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

// A reply passes when every pass/fail criterion is scored 1 and every 1–5
// criterion at least its minimum; scores are checked strictly.
func TestRubricJudge(t *testing.T) {
	t.Parallel()
	r := &Rubric{Criteria: []Criterion{{Name: "accuracy", Scale: ScalePassFail}, {Name: "tone", Scale: ScaleOneToFive, Min: 3}}}
	tests := []struct {
		name   string
		scores map[string]int
		pass   bool
		want   string // part of the error; "" for none
	}{
		{"all pass", map[string]int{"accuracy": 1, "tone": 3}, true, ""},
		{"top marks", map[string]int{"accuracy": 1, "tone": 5}, true, ""},
		{"pass/fail failed", map[string]int{"accuracy": 0, "tone": 5}, false, ""},
		{"1-5 under its minimum", map[string]int{"accuracy": 1, "tone": 2}, false, ""},
		{"a criterion missing", map[string]int{"accuracy": 1}, false, "scores.tone: required; score every criterion of the rubric (accuracy, tone)"},
		{"nothing scored", map[string]int{}, false, "scores.accuracy: required"},
		{"pass/fail out of scale", map[string]int{"accuracy": 2, "tone": 3}, false, "scores.accuracy: 2 is not on the pass/fail scale; use 1 (pass) or 0 (fail)"},
		{"1-5 at 0", map[string]int{"accuracy": 1, "tone": 0}, false, "scores.tone: 0 is not on the 1-5 scale"},
		{"1-5 at 6", map[string]int{"accuracy": 1, "tone": 6}, false, "scores.tone: 6 is not on the 1-5 scale"},
		{"an unknown criterion", map[string]int{"accuracy": 1, "tone": 4, "speed": 1}, false, "scores.speed: not a criterion of the rubric (accuracy, tone)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pass, err := r.Judge(tc.scores)
			switch {
			case tc.want == "" && (err != nil || pass != tc.pass):
				t.Fatalf("got %v, %v; want %v, no error", pass, err, tc.pass)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("got %v, %v; want an error containing %q", pass, err, tc.want)
			}
		})
	}
}

// A new respond project's rubric when its client gives none: five
// pass/fail criteria, which it must pass all of.
func TestDefaultRubric(t *testing.T) {
	t.Parallel()
	r := DefaultRubric()
	var names []string
	for _, c := range r.Criteria {
		names = append(names, c.Name+":"+c.Scale)
	}
	if got, want := strings.Join(names, " "), "accuracy:pass_fail tone:pass_fail grammar:pass_fail completeness:pass_fail policy:pass_fail"; got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
	all := map[string]int{"accuracy": 1, "tone": 1, "grammar": 1, "completeness": 1, "policy": 1}
	if pass, err := r.Judge(all); !pass || err != nil {
		t.Fatalf("every criterion passed: got %v, %v; want a pass", pass, err)
	}
	all["grammar"] = 0
	if pass, err := r.Judge(all); pass || err != nil {
		t.Fatalf("grammar failed: got %v, %v; want a fail", pass, err)
	}
}
