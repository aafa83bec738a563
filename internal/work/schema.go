package work

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Kind names a task template. Each kind has its own answer shape and its own
// rule for deciding whether two answers agree.
type Kind string

// The task kinds a project can have.
const (
	// Classify picks one label (or, for multi-label projects, a set of labels)
	// from a fixed list: content moderation, categorisation, sentiment.
	Classify Kind = "classify"
	// Extract keys named, typed fields out of a document: data entry.
	Extract Kind = "extract"
	// Transcribe turns a referenced image or recording (or text) into text.
	Transcribe Kind = "transcribe"
	// Respond is free text: a support reply, a research answer.
	Respond Kind = "respond"
)

// Kinds lists every task kind, in the order they are documented.
var Kinds = []Kind{Classify, Extract, Transcribe, Respond}

// ParseKind returns the kind named s, or an error listing the allowed kinds.
func ParseKind(s string) (Kind, error) {
	for _, k := range Kinds {
		if string(k) == s {
			return k, nil
		}
	}
	return "", fmt.Errorf("unknown task kind %q (allowed: classify, extract, transcribe, respond)", s)
}

// FieldType is the type of one extract field. The type decides how a keyed
// value is validated and normalised before answers are compared.
type FieldType string

// The field types an extract project can declare.
const (
	FieldText    FieldType = "text"    // free text; optional pattern
	FieldNumber  FieldType = "number"  // decimal, e.g. an amount: "1,234.50" → "1234.5"
	FieldInteger FieldType = "integer" // whole number
	FieldDate    FieldType = "date"    // a calendar date, kept as YYYY-MM-DD
	FieldEnum    FieldType = "enum"    // one of Options
)

// Field is one named, typed field of an extract project.
type Field struct {
	Name     string    `json:"name"`
	Type     FieldType `json:"type"`
	Required bool      `json:"required,omitempty"`
	// Options lists the allowed values of an enum field.
	Options []string `json:"options,omitempty"`
	// Pattern, for text fields, is a regular expression the whole value must
	// match (for example a GSTIN's shape).
	Pattern string `json:"pattern,omitempty"`
	// MaxLength caps a text value, in characters; 0 means DefaultMaxLength.
	MaxLength int `json:"max_length,omitempty"`

	re *regexp.Regexp
}

// Schema is what a project declares about its tasks: the input fields every
// task must carry and the shape of the answer workers give.
type Schema struct {
	// Inputs are the names of the fields every task's payload must have,
	// non-empty. Other payload fields are allowed and carried along.
	Inputs []string `json:"inputs"`
	// Files lists the inputs whose values name attachments (a scan to key,
	// a recording to transcribe): a batch brings those files in a zip, and
	// a task is offered only where its files are at hand.
	Files []string `json:"files,omitempty"`
	// Labels are the classes of a classify project.
	Labels []string `json:"labels,omitempty"`
	// Multi makes a classify project multi-label: an answer is a set of labels.
	Multi bool `json:"multi,omitempty"`
	// Fields are the fields of an extract project, in display order.
	Fields []Field `json:"fields,omitempty"`
	// MaxLength caps a transcribe or respond answer, in characters; 0 means
	// DefaultMaxTextLength.
	MaxLength int `json:"max_length,omitempty"`
}

// Limits on schemas and answers.
const (
	DefaultMaxLength     = 1000  // characters in one extract field
	DefaultMaxTextLength = 20000 // characters in a transcribe or respond answer
	MaxLabels            = 200
	MaxFields            = 100
)

// ErrInvalidSchema is wrapped by every schema validation error.
var ErrInvalidSchema = errors.New("invalid schema")

var namePattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)

func schemaErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidSchema, fmt.Sprintf(format, args...))
}

// Validate checks the schema for a project of kind k and compiles its
// patterns. It must be called before the schema is used to check answers.
func (s *Schema) Validate(k Kind) error {
	if len(s.Inputs) == 0 {
		return schemaErr("inputs: list at least one input field every task must carry (for example [\"text\"])")
	}
	if err := uniqueNames("inputs", s.Inputs); err != nil {
		return err
	}
	for i, f := range s.Files {
		if !slices.Contains(s.Inputs, f) {
			return schemaErr("files[%d]: %q must be one of the inputs %q", i, f, s.Inputs)
		}
		if slices.Index(s.Files, f) != i {
			return schemaErr("files[%d]: %q is listed twice", i, f)
		}
	}
	switch k {
	case Classify:
		if len(s.Labels) < 2 || len(s.Labels) > MaxLabels {
			return schemaErr("labels: a classify project needs 2 to %d labels, got %d", MaxLabels, len(s.Labels))
		}
		seen := map[string]bool{}
		for i, l := range s.Labels {
			if strings.TrimSpace(l) != l || l == "" {
				return schemaErr("labels[%d]: %q must be non-empty with no leading or trailing spaces", i, l)
			}
			if seen[l] {
				return schemaErr("labels[%d]: %q is listed twice", i, l)
			}
			seen[l] = true
		}
	case Extract:
		if len(s.Fields) == 0 || len(s.Fields) > MaxFields {
			return schemaErr("fields: an extract project needs 1 to %d fields, got %d", MaxFields, len(s.Fields))
		}
		names := make([]string, len(s.Fields))
		for i := range s.Fields {
			names[i] = s.Fields[i].Name
			if err := s.Fields[i].validate(i); err != nil {
				return err
			}
		}
		if err := uniqueNames("fields", names); err != nil {
			return err
		}
	case Transcribe, Respond:
	default:
		return schemaErr("kind %q is not a task kind", k)
	}
	if k != Classify && (len(s.Labels) > 0 || s.Multi) {
		return schemaErr("labels: only classify projects have labels")
	}
	if k != Extract && len(s.Fields) > 0 {
		return schemaErr("fields: only extract projects have fields")
	}
	if s.MaxLength < 0 {
		return schemaErr("max_length: must not be negative")
	}
	return nil
}

func uniqueNames(what string, names []string) error {
	seen := map[string]bool{}
	for i, n := range names {
		if !namePattern.MatchString(n) {
			return schemaErr("%s[%d]: %q must be lower-case letters, digits and _, starting with a letter", what, i, n)
		}
		if seen[n] {
			return schemaErr("%s[%d]: %q is listed twice", what, i, n)
		}
		seen[n] = true
	}
	return nil
}

func (f *Field) validate(i int) error {
	switch f.Type {
	case FieldText:
		if f.Pattern != "" {
			re, err := regexp.Compile("^(?:" + f.Pattern + ")$")
			if err != nil {
				return schemaErr("fields[%d] %s: pattern does not compile: %v", i, f.Name, err)
			}
			f.re = re
		}
	case FieldEnum:
		if len(f.Options) == 0 {
			return schemaErr("fields[%d] %s: an enum field needs options", i, f.Name)
		}
	case FieldNumber, FieldInteger, FieldDate:
	default:
		return schemaErr("fields[%d] %s: unknown type %q (allowed: text, number, integer, date, enum)", i, f.Name, f.Type)
	}
	if f.Type != FieldText && f.Pattern != "" {
		return schemaErr("fields[%d] %s: only text fields take a pattern", i, f.Name)
	}
	if f.Type != FieldEnum && len(f.Options) > 0 {
		return schemaErr("fields[%d] %s: only enum fields take options", i, f.Name)
	}
	if f.MaxLength < 0 {
		return schemaErr("fields[%d] %s: max_length must not be negative", i, f.Name)
	}
	return nil
}

// Field returns the field named name, or nil.
func (s *Schema) Field(name string) *Field {
	for i := range s.Fields {
		if s.Fields[i].Name == name {
			return &s.Fields[i]
		}
	}
	return nil
}

func (s *Schema) hasLabel(l string) bool {
	for _, x := range s.Labels {
		if x == l {
			return true
		}
	}
	return false
}
