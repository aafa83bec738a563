package work

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"unicode/utf8"
)

// Answer is one worker's answer to one task, or the aggregated result of a
// task. Which members are set depends on the project's kind:
//
//	classify:   Label (single-label) or Labels (multi-label)
//	extract:    Fields, keyed by field name
//	transcribe: Text
//	respond:    Text
type Answer struct {
	Label  string            `json:"label,omitempty"`
	Labels []string          `json:"labels,omitempty"`
	Fields map[string]string `json:"fields,omitempty"`
	Text   string            `json:"text,omitempty"`
}

// ErrInvalidAnswer is wrapped by every answer validation error.
var ErrInvalidAnswer = errors.New("invalid answer")

// AnswerError says which field of an answer is wrong and why.
type AnswerError struct {
	Field  string
	Reason string
}

func (e *AnswerError) Error() string {
	if e.Field == "" {
		return "invalid answer: " + e.Reason
	}
	return fmt.Sprintf("invalid answer: %s: %s", e.Field, e.Reason)
}

// Unwrap lets errors.Is match ErrInvalidAnswer.
func (e *AnswerError) Unwrap() error { return ErrInvalidAnswer }

func answerErr(field, format string, args ...any) error {
	return &AnswerError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// ParseAnswer decodes raw JSON into an answer and validates it against the
// project's kind and schema. The answer it returns is canonical: labels in
// schema order, field values normalised (dates as YYYY-MM-DD, numbers without
// grouping), text trimmed.
func ParseAnswer(k Kind, s *Schema, raw []byte) (Answer, error) {
	var a Answer
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&a); err != nil {
		return Answer{}, answerErr("", "not a JSON answer object of the form %s: %v", answerShape(k, s), err)
	}
	if dec.More() {
		return Answer{}, answerErr("", "trailing data after the answer object")
	}
	return Check(k, s, a)
}

func answerShape(k Kind, s *Schema) string {
	switch {
	case k == Classify && s.Multi:
		return `{"labels": [...]}`
	case k == Classify:
		return `{"label": "..."}`
	case k == Extract:
		return `{"fields": {"name": "value", ...}}`
	default:
		return `{"text": "..."}`
	}
}

// Check validates an already decoded answer and returns its canonical form.
func Check(k Kind, s *Schema, a Answer) (Answer, error) {
	switch k {
	case Classify:
		return checkClassify(s, a)
	case Extract:
		return checkExtract(s, a)
	case Transcribe, Respond:
		if a.Label != "" || a.Labels != nil || a.Fields != nil {
			return Answer{}, answerErr("", "a %s answer has only text", k)
		}
		if !utf8.ValidString(a.Text) {
			return Answer{}, answerErr("text", "not valid UTF-8")
		}
		text := trimSpace(a.Text)
		if text == "" {
			return Answer{}, answerErr("text", "required: must not be empty")
		}
		limit := s.MaxLength
		if limit == 0 {
			limit = DefaultMaxTextLength
		}
		if n := utf8.RuneCountInString(text); n > limit {
			return Answer{}, answerErr("text", "%d characters, more than the limit of %d", n, limit)
		}
		return Answer{Text: text}, nil
	}
	return Answer{}, answerErr("", "unknown task kind %q", k)
}

func checkClassify(s *Schema, a Answer) (Answer, error) {
	if a.Fields != nil || a.Text != "" {
		return Answer{}, answerErr("", "a classify answer has only a label (or labels)")
	}
	if !s.Multi {
		if a.Labels != nil {
			return Answer{}, answerErr("labels", "this project is single-label: send \"label\"")
		}
		if a.Label == "" {
			return Answer{}, answerErr("label", "required: one of %q", s.Labels)
		}
		if !s.hasLabel(a.Label) {
			return Answer{}, answerErr("label", "%q is not one of %q", a.Label, s.Labels)
		}
		return Answer{Label: a.Label}, nil
	}
	if a.Label != "" {
		return Answer{}, answerErr("label", "this project is multi-label: send \"labels\" as a list")
	}
	if a.Labels == nil {
		return Answer{}, answerErr("labels", "required: a list (possibly empty) of labels from %q", s.Labels)
	}
	for _, l := range a.Labels {
		if !s.hasLabel(l) {
			return Answer{}, answerErr("labels", "%q is not one of %q", l, s.Labels)
		}
	}
	// Canonical order is the schema's, so equal sets compare equal.
	out := make([]string, 0, len(a.Labels))
	for _, l := range s.Labels {
		if slices.Contains(a.Labels, l) {
			out = append(out, l)
		}
	}
	return Answer{Labels: out}, nil
}

func checkExtract(s *Schema, a Answer) (Answer, error) {
	if a.Label != "" || a.Labels != nil || a.Text != "" {
		return Answer{}, answerErr("", "an extract answer has only fields")
	}
	for name := range a.Fields {
		if s.Field(name) == nil {
			return Answer{}, answerErr(name, "not a field of this project")
		}
	}
	out := make(map[string]string, len(s.Fields))
	for i := range s.Fields {
		f := &s.Fields[i]
		v, err := f.Normalize(a.Fields[f.Name])
		if err != nil {
			return Answer{}, err
		}
		if v == "" && f.Required {
			return Answer{}, answerErr(f.Name, "required: must not be empty")
		}
		out[f.Name] = v
	}
	return Answer{Fields: out}, nil
}
