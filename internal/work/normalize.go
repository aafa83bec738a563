package work

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// DecodeSchema parses a stored or submitted schema and validates it for kind k.
func DecodeSchema(k Kind, raw []byte) (*Schema, error) {
	var s Schema
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, schemaErr("not a JSON schema object: %v", err)
	}
	if err := s.Validate(k); err != nil {
		return nil, err
	}
	return &s, nil
}

// trimSpace trims surrounding white space and puts the text in Unicode NFC,
// so the same word typed on two keyboards is stored the same way.
func trimSpace(s string) string {
	return norm.NFC.String(strings.TrimSpace(s))
}

// Fold is the comparison form of free text: NFC, lower case, runs of white
// space collapsed to one space, no surrounding space. Two labels or field
// values agree when their folded forms are equal; two transcriptions or
// replies when their folded forms are close enough (TextScore).
func Fold(s string) string {
	s = norm.NFC.String(s)
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range s {
		if unicode.IsSpace(r) {
			space = b.Len() > 0
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

var (
	numberPattern = regexp.MustCompile(`^-?[0-9]+(\.[0-9]+)?$`)
	// Indian grouping (1,23,456.00) and western grouping (123,456.00) are
	// both accepted; the commas are dropped.
	groupedNumber = regexp.MustCompile(`^-?([0-9]{1,3}(,[0-9]{3})*|[0-9]{1,2}(,[0-9]{2})*,[0-9]{3})(\.[0-9]+)?$`)
)

// Normalize validates one keyed value of the field and returns its canonical
// form. An empty value is returned as "" without error; whether it is allowed
// is the caller's business (see Field.Required).
func (f *Field) Normalize(v string) (string, error) {
	if !utf8.ValidString(v) {
		return "", answerErr(f.Name, "not valid UTF-8")
	}
	v = trimSpace(v)
	if v == "" {
		return "", nil
	}
	switch f.Type {
	case FieldNumber, FieldInteger:
		n, ok := canonicalNumber(v)
		if !ok {
			return "", answerErr(f.Name, "%q is not a number (write it like 1234.50 or 1,234.50)", v)
		}
		if f.Type == FieldInteger && strings.Contains(n, ".") {
			return "", answerErr(f.Name, "%q is not a whole number", v)
		}
		return n, nil
	case FieldDate:
		d, ok := canonicalDate(v)
		if !ok {
			return "", answerErr(f.Name, "%q is not a date (write YYYY-MM-DD or DD/MM/YYYY)", v)
		}
		return d, nil
	case FieldEnum:
		for _, o := range f.Options {
			if Fold(o) == Fold(v) {
				return o, nil
			}
		}
		return "", answerErr(f.Name, "%q is not one of %q", v, f.Options)
	}
	limit := f.MaxLength
	if limit == 0 {
		limit = DefaultMaxLength
	}
	if n := utf8.RuneCountInString(v); n > limit {
		return "", answerErr(f.Name, "%d characters, more than the limit of %d", n, limit)
	}
	if f.re != nil && !f.re.MatchString(v) {
		return "", answerErr(f.Name, "%q does not match the pattern %s", v, f.Pattern)
	}
	return v, nil
}

// canonicalNumber strips currency signs and digit grouping and trailing
// fractional zeros: "₹ 1,234.50" → "1234.5". It works on the decimal string,
// never through a float, so no amount is ever rounded.
func canonicalNumber(v string) (string, bool) {
	v = strings.TrimPrefix(v, "₹")
	v = strings.TrimPrefix(v, "Rs.")
	v = strings.TrimPrefix(v, "Rs")
	v = strings.TrimPrefix(v, "INR")
	v = strings.TrimSpace(v)
	if strings.Contains(v, ",") {
		if !groupedNumber.MatchString(v) {
			return "", false
		}
		v = strings.ReplaceAll(v, ",", "")
	}
	if !numberPattern.MatchString(v) {
		return "", false
	}
	neg := strings.HasPrefix(v, "-")
	v = strings.TrimPrefix(v, "-")
	whole, frac, _ := strings.Cut(v, ".")
	whole = strings.TrimLeft(whole, "0")
	if whole == "" {
		whole = "0"
	}
	frac = strings.TrimRight(frac, "0")
	out := whole
	if frac != "" {
		out += "." + frac
	}
	if neg && out != "0" {
		out = "-" + out
	}
	return out, true
}

var dateLayouts = []string{"2006-01-02", "02/01/2006", "2/1/2006", "02-01-2006", "02.01.2006", "2 Jan 2006", "02 Jan 2006", "2 January 2006"}

// canonicalDate reads the date forms used on Indian documents (day before
// month) and ISO dates, and returns YYYY-MM-DD.
func canonicalDate(v string) (string, bool) {
	for _, layout := range dateLayouts {
		if t, err := time.Parse(layout, v); err == nil {
			return t.Format("2006-01-02"), true
		}
	}
	return "", false
}

// Votes turns a canonical answer into the keys that aggregation compares:
// one entry per thing workers vote on, each value in comparison form.
//
//	classify single-label: {"label": label}
//	classify multi-label:  {"label:NAME": "1" or "0"} for every label
//	extract:               {field: folded canonical value} for every field
//	transcribe, respond:   {"text": folded text}
func Votes(k Kind, s *Schema, a Answer) map[string]string {
	switch k {
	case Classify:
		if !s.Multi {
			return map[string]string{"label": a.Label}
		}
		out := make(map[string]string, len(s.Labels))
		for _, l := range s.Labels {
			v := "0"
			if slices.Contains(a.Labels, l) {
				v = "1"
			}
			out["label:"+l] = v
		}
		return out
	case Extract:
		out := make(map[string]string, len(s.Fields))
		for _, f := range s.Fields {
			out[f.Name] = Fold(a.Fields[f.Name])
		}
		return out
	default:
		return map[string]string{"text": Fold(a.Text)}
	}
}

// Compose builds the result answer from the winning vote of every key (as
// returned by Votes) and the answers given. Where the comparison form lost
// information (case, spacing), the result takes the value as most workers
// who voted for the winner wrote it.
func Compose(k Kind, s *Schema, winners map[string]string, answers []Answer) (Answer, error) {
	pick := func(key string, value func(Answer) string) (string, error) {
		want, ok := winners[key]
		if !ok {
			return "", fmt.Errorf("compose: no winner for %q", key)
		}
		// Of the forms written that fold to the winner, take the most
		// common; on a tie, the one written first.
		best, bestN := "", 0
		seen := map[string]int{}
		for _, a := range answers {
			if v := value(a); Fold(v) == want {
				seen[v]++
				if seen[v] > bestN {
					best, bestN = v, seen[v]
				}
			}
		}
		if bestN == 0 {
			return "", fmt.Errorf("compose: no answer carries the winning value of %q", key)
		}
		return best, nil
	}
	switch k {
	case Classify:
		if !s.Multi {
			l, ok := winners["label"]
			if !ok {
				return Answer{}, fmt.Errorf("compose: no winning label")
			}
			return Answer{Label: l}, nil
		}
		labels := []string{}
		for _, l := range s.Labels {
			if winners["label:"+l] == "1" {
				labels = append(labels, l)
			}
		}
		return Answer{Labels: labels}, nil
	case Extract:
		fields := make(map[string]string, len(s.Fields))
		for _, f := range s.Fields {
			v, err := pick(f.Name, func(a Answer) string { return a.Fields[f.Name] })
			if err != nil {
				return Answer{}, err
			}
			fields[f.Name] = v
		}
		return Answer{Fields: fields}, nil
	default:
		t, err := pick("text", func(a Answer) string { return a.Text })
		if err != nil {
			return Answer{}, err
		}
		return Answer{Text: t}, nil
	}
}

// Score is the share of the things workers vote on (see Votes) on which
// given agrees with truth: 1 or 0 for a single label, the share of right
// fields for extract. A transcription or reply scores 1 when its character
// error rate against truth is at most maxTextError (TextScore), else 0;
// other kinds ignore maxTextError.
func Score(k Kind, s *Schema, maxTextError float64, truth, given Answer) float64 {
	if k == Transcribe || k == Respond {
		return TextScore(truth.Text, given.Text, maxTextError)
	}
	want, got := Votes(k, s, truth), Votes(k, s, given)
	if len(want) == 0 {
		return 0
	}
	right := 0
	for key, v := range want {
		if got[key] == v {
			right++
		}
	}
	return float64(right) / float64(len(want))
}
