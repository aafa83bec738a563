package work

import (
	"fmt"
	"slices"
	"strings"
)

// Rubric is how a respond project's replies are judged: replies have no
// single right text, so a reviewer scores a reply on each criterion and
// the reply passes when every criterion passes.
type Rubric struct {
	Criteria []Criterion `json:"criteria"`
}

// Criterion is one thing a reviewer judges a reply on.
type Criterion struct {
	// Name is how the criterion is called in scores and reports: lower
	// case letters, digits and underscores.
	Name string `json:"name"`
	// Scale is ScalePassFail or ScaleOneToFive.
	Scale string `json:"scale"`
	// Min is, on the 1–5 scale, the lowest score that passes (1 to 5); a
	// pass/fail criterion has none.
	Min int `json:"min,omitempty"`
	// Description tells the reviewer what to look for.
	Description string `json:"description,omitempty"`
}

// Rubric scales. A pass/fail criterion is scored 1 (pass) or 0 (fail); a
// 1–5 criterion from 1 to 5.
const (
	ScalePassFail  = "pass_fail"
	ScaleOneToFive = "1-5"
)

// Rubric limits.
const (
	MaxCriteria             = 20
	MaxCriterionDescription = 1000
)

// DefaultCriteria are the criteria of the rubric a new respond project
// gets when its client gives none.
var DefaultCriteria = []string{"accuracy", "tone", "grammar", "completeness", "policy"}

// DefaultRubric is the rubric of a new respond project whose client gives
// none: the DefaultCriteria, each pass/fail, so a reply passes when it
// passes all five.
func DefaultRubric() *Rubric {
	r := &Rubric{}
	for _, name := range DefaultCriteria {
		r.Criteria = append(r.Criteria, Criterion{Name: name, Scale: ScalePassFail})
	}
	return r
}

// Validate checks a rubric. Its errors name the field and the rule
// ("rubric.criteria[2].min: ...").
func (r *Rubric) Validate() error {
	if len(r.Criteria) == 0 || len(r.Criteria) > MaxCriteria {
		return fmt.Errorf("rubric.criteria: list 1 to %d criteria, got %d", MaxCriteria, len(r.Criteria))
	}
	for i, c := range r.Criteria {
		field := fmt.Sprintf("rubric.criteria[%d]", i)
		switch {
		case !namePattern.MatchString(c.Name):
			return fmt.Errorf("%s.name: %q must be 1 to 63 lower case letters, digits or underscores, starting with a letter", field, c.Name)
		case slices.IndexFunc(r.Criteria[:i], func(o Criterion) bool { return o.Name == c.Name }) >= 0:
			return fmt.Errorf("%s.name: %q is listed twice", field, c.Name)
		case c.Scale != ScalePassFail && c.Scale != ScaleOneToFive:
			return fmt.Errorf("%s.scale: %q is not a scale; use %s or %s", field, c.Scale, ScalePassFail, ScaleOneToFive)
		case c.Scale == ScalePassFail && c.Min != 0:
			return fmt.Errorf("%s.min: a %s criterion has no minimum (it passes on 1)", field, ScalePassFail)
		case c.Scale == ScaleOneToFive && (c.Min < 1 || c.Min > 5):
			return fmt.Errorf("%s.min: the lowest passing score on the 1-5 scale must be from 1 to 5, got %d", field, c.Min)
		case len(c.Description) > MaxCriterionDescription:
			return fmt.Errorf("%s.description: at most %d bytes", field, MaxCriterionDescription)
		}
	}
	return nil
}

// Judge checks a reviewer's scores against the rubric — every criterion
// scored, none unknown, each within its scale — and says whether the
// reply passes: every pass/fail criterion scored 1 and every 1–5
// criterion at least its minimum. Its errors name the criterion
// ("scores.tone: ...").
func (r *Rubric) Judge(scores map[string]int) (pass bool, err error) {
	pass = true
	for _, c := range r.Criteria {
		v, ok := scores[c.Name]
		switch {
		case !ok:
			return false, fmt.Errorf("scores.%s: required; score every criterion of the rubric (%s)", c.Name, r.names())
		case !c.OnScale(v) && c.Scale == ScalePassFail:
			return false, fmt.Errorf("scores.%s: %d is not on the pass/fail scale; use 1 (pass) or 0 (fail)", c.Name, v)
		case !c.OnScale(v):
			return false, fmt.Errorf("scores.%s: %d is not on the 1-5 scale", c.Name, v)
		}
		pass = pass && c.Passes(v)
	}
	for name := range scores {
		if !slices.ContainsFunc(r.Criteria, func(c Criterion) bool { return c.Name == name }) {
			return false, fmt.Errorf("scores.%s: not a criterion of the rubric (%s)", name, r.names())
		}
	}
	return pass, nil
}

// OnScale says whether v is a score on the criterion's scale.
func (c Criterion) OnScale(v int) bool {
	if c.Scale == ScaleOneToFive {
		return v >= 1 && v <= 5
	}
	return v == 0 || v == 1
}

// Passes says whether a score on the criterion's scale passes it.
func (c Criterion) Passes(v int) bool {
	if c.Scale == ScaleOneToFive {
		return v >= c.Min
	}
	return v == 1
}

// names lists the rubric's criteria, for error messages.
func (r *Rubric) names() string {
	names := make([]string, len(r.Criteria))
	for i, c := range r.Criteria {
		names[i] = c.Name
	}
	return strings.Join(names, ", ")
}
