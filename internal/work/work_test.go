package work

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func mustSchema(t *testing.T, k Kind, raw string) *Schema {
	t.Helper()
	s, err := DecodeSchema(k, []byte(raw))
	if err != nil {
		t.Fatalf("DecodeSchema(%s): %v", raw, err)
	}
	return s
}

func TestSchemaValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		kind    Kind
		schema  string
		wantErr string // "" means valid
	}{
		{"classify ok", Classify, `{"inputs":["text"],"labels":["ok","spam"]}`, ""},
		{"no inputs", Classify, `{"labels":["ok","spam"]}`, "inputs"},
		{"one label", Classify, `{"inputs":["text"],"labels":["ok"]}`, "2 to"},
		{"duplicate label", Classify, `{"inputs":["text"],"labels":["ok","ok"]}`, "listed twice"},
		{"label with spaces", Classify, `{"inputs":["text"],"labels":[" ok","spam"]}`, "leading or trailing"},
		{"bad input name", Classify, `{"inputs":["Text"],"labels":["a","b"]}`, "lower-case"},
		{"extract ok", Extract, `{"inputs":["doc"],"fields":[{"name":"total","type":"number","required":true}]}`, ""},
		{"extract no fields", Extract, `{"inputs":["doc"]}`, "1 to"},
		{"unknown field type", Extract, `{"inputs":["doc"],"fields":[{"name":"x","type":"money"}]}`, "unknown type"},
		{"enum without options", Extract, `{"inputs":["doc"],"fields":[{"name":"x","type":"enum"}]}`, "needs options"},
		{"bad pattern", Extract, `{"inputs":["doc"],"fields":[{"name":"x","type":"text","pattern":"("}]}`, "does not compile"},
		{"pattern on number", Extract, `{"inputs":["doc"],"fields":[{"name":"x","type":"number","pattern":"1"}]}`, "only text"},
		{"labels on extract", Extract, `{"inputs":["doc"],"labels":["a","b"],"fields":[{"name":"x","type":"text"}]}`, "only classify"},
		{"transcribe ok", Transcribe, `{"inputs":["audio_url"]}`, ""},
		{"fields on respond", Respond, `{"inputs":["q"],"fields":[{"name":"x","type":"text"}]}`, "only extract"},
		{"not json", Respond, `[1,2]`, "not a JSON schema"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := DecodeSchema(tc.kind, []byte(tc.schema))
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("got %v, want valid", err)
			case tc.wantErr != "" && err == nil:
				t.Fatalf("got valid, want error containing %q", tc.wantErr)
			case tc.wantErr != "" && !strings.Contains(err.Error(), tc.wantErr):
				t.Fatalf("got %v, want error containing %q", err, tc.wantErr)
			case err != nil && !errors.Is(err, ErrInvalidSchema):
				t.Fatalf("got %v, want it to wrap ErrInvalidSchema", err)
			}
		})
	}
}

const invoiceSchema = `{"inputs":["doc"],"fields":[
	{"name":"vendor","type":"text","required":true},
	{"name":"gstin","type":"text","pattern":"[0-9]{2}[A-Z]{5}[0-9]{4}[A-Z][1-9A-Z]Z[0-9A-Z]"},
	{"name":"date","type":"date","required":true},
	{"name":"total","type":"number","required":true},
	{"name":"lines","type":"integer"},
	{"name":"mode","type":"enum","options":["Cash","UPI"]}]}`

func TestParseAnswer(t *testing.T) {
	t.Parallel()
	single := mustSchema(t, Classify, `{"inputs":["text"],"labels":["ok","spam","abuse"]}`)
	multi := mustSchema(t, Classify, `{"inputs":["text"],"labels":["ok","spam","abuse"],"multi":true}`)
	inv := mustSchema(t, Extract, invoiceSchema)
	text := mustSchema(t, Transcribe, `{"inputs":["audio"],"max_length":10}`)
	tests := []struct {
		name      string
		kind      Kind
		schema    *Schema
		raw       string
		want      Answer
		wantField string // field named by the error; "-" means no error
	}{
		{"label", Classify, single, `{"label":"spam"}`, Answer{Label: "spam"}, "-"},
		{"unknown label", Classify, single, `{"label":"Spam"}`, Answer{}, "label"},
		{"no label", Classify, single, `{}`, Answer{}, "label"},
		{"labels on single", Classify, single, `{"labels":["ok"]}`, Answer{}, "labels"},
		{"multi in schema order", Classify, multi, `{"labels":["abuse","ok"]}`, Answer{Labels: []string{"ok", "abuse"}}, "-"},
		{"multi empty set", Classify, multi, `{"labels":[]}`, Answer{Labels: []string{}}, "-"},
		{"multi unknown", Classify, multi, `{"labels":["nope"]}`, Answer{}, "labels"},
		{"unknown member", Classify, single, `{"label":"ok","extra":1}`, Answer{}, ""},
		{"trailing data", Classify, single, `{"label":"ok"} {}`, Answer{}, ""},
		{"extract normalised", Extract, inv,
			`{"fields":{"vendor":"  Sai  Traders ","gstin":"27ABCDE1234F1Z5","date":"05/03/2026","total":"₹ 1,23,456.50","lines":"3","mode":"upi"}}`,
			Answer{Fields: map[string]string{"vendor": "Sai  Traders", "gstin": "27ABCDE1234F1Z5", "date": "2026-03-05", "total": "123456.5", "lines": "3", "mode": "UPI"}}, "-"},
		{"extract optional empty", Extract, inv, `{"fields":{"vendor":"A","date":"2026-03-05","total":"10"}}`,
			Answer{Fields: map[string]string{"vendor": "A", "gstin": "", "date": "2026-03-05", "total": "10", "lines": "", "mode": ""}}, "-"},
		{"extract missing required", Extract, inv, `{"fields":{"vendor":"A","date":"2026-03-05"}}`, Answer{}, "total"},
		{"extract bad date", Extract, inv, `{"fields":{"vendor":"A","date":"31/02/2026","total":"1"}}`, Answer{}, "date"},
		{"extract bad number", Extract, inv, `{"fields":{"vendor":"A","date":"2026-03-05","total":"12a"}}`, Answer{}, "total"},
		{"extract bad grouping", Extract, inv, `{"fields":{"vendor":"A","date":"2026-03-05","total":"1,2345"}}`, Answer{}, "total"},
		{"extract not integer", Extract, inv, `{"fields":{"vendor":"A","date":"2026-03-05","total":"1","lines":"2.5"}}`, Answer{}, "lines"},
		{"extract pattern", Extract, inv, `{"fields":{"vendor":"A","gstin":"27ABCDE1234F1Z","date":"2026-03-05","total":"1"}}`, Answer{}, "gstin"},
		{"extract unknown field", Extract, inv, `{"fields":{"vendor":"A","colour":"red","date":"2026-03-05","total":"1"}}`, Answer{}, "colour"},
		{"extract enum", Extract, inv, `{"fields":{"vendor":"A","date":"2026-03-05","total":"1","mode":"card"}}`, Answer{}, "mode"},
		{"text trimmed", Transcribe, text, `{"text":"  hello  "}`, Answer{Text: "hello"}, "-"},
		{"text too long", Transcribe, text, `{"text":"hello world!"}`, Answer{}, "text"},
		{"text empty", Transcribe, text, `{"text":"   "}`, Answer{}, "text"},
		{"text with label", Transcribe, text, `{"text":"a","label":"x"}`, Answer{}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseAnswer(tc.kind, tc.schema, []byte(tc.raw))
			if tc.wantField == "-" {
				if err != nil {
					t.Fatalf("got error %v, want %+v", err, tc.want)
				}
				if !reflect.DeepEqual(got, tc.want) {
					t.Fatalf("got %+v, want %+v", got, tc.want)
				}
				return
			}
			var ae *AnswerError
			if !errors.As(err, &ae) || !errors.Is(err, ErrInvalidAnswer) {
				t.Fatalf("got %v, want an *AnswerError", err)
			}
			if ae.Field != tc.wantField {
				t.Fatalf("error names field %q (%v), want %q", ae.Field, err, tc.wantField)
			}
		})
	}
}

func TestCanonicalNumber(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"1234.50", "1234.5"}, {"1,234.50", "1234.5"}, {"1,23,456.00", "123456"}, {"₹12", "12"},
		{"Rs. 7.10", "7.1"}, {"007", "7"}, {"-0.0", "0"}, {"-5.50", "-5.5"}, {"0.05", "0.05"},
	}
	for _, tc := range tests {
		got, ok := canonicalNumber(tc.in)
		if !ok || got != tc.want {
			t.Errorf("canonicalNumber(%q) = %q, %v; want %q", tc.in, got, ok, tc.want)
		}
	}
	for _, in := range []string{"", "1.2.3", "12,34", "1e5", "abc", "1,234,5"} {
		if got, ok := canonicalNumber(in); ok {
			t.Errorf("canonicalNumber(%q) = %q, want rejected", in, got)
		}
	}
}

func TestFold(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"  Hello   World ", "hello world"},
		{"SAI\tTRADERS\n", "sai traders"},
		{"e\u0301", "\u00e9"}, // decomposed é folds to the composed form
		{"नमस्ते  दुनिया", "नमस्ते दुनिया"},
	}
	for _, tc := range tests {
		if got := Fold(tc.in); got != tc.want {
			t.Errorf("Fold(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestVotesAndCompose(t *testing.T) {
	t.Parallel()
	multi := mustSchema(t, Classify, `{"inputs":["text"],"labels":["ok","spam","abuse"],"multi":true}`)
	v := Votes(Classify, multi, Answer{Labels: []string{"spam"}})
	want := map[string]string{"label:ok": "0", "label:spam": "1", "label:abuse": "0"}
	if !reflect.DeepEqual(v, want) {
		t.Fatalf("multi votes: got %v, want %v", v, want)
	}
	got, err := Compose(Classify, multi, map[string]string{"label:ok": "0", "label:spam": "1", "label:abuse": "1"}, nil)
	if err != nil || !reflect.DeepEqual(got.Labels, []string{"spam", "abuse"}) {
		t.Fatalf("multi compose: got %v, %v; want [spam abuse]", got, err)
	}

	inv := mustSchema(t, Extract, `{"inputs":["doc"],"fields":[{"name":"vendor","type":"text"}]}`)
	answers := []Answer{
		{Fields: map[string]string{"vendor": "SAI TRADERS"}},
		{Fields: map[string]string{"vendor": "Sai Traders"}},
		{Fields: map[string]string{"vendor": "Sai Traders"}},
	}
	if v := Votes(Extract, inv, answers[0]); v["vendor"] != "sai traders" {
		t.Fatalf("extract vote: got %q, want folded", v["vendor"])
	}
	got, err = Compose(Extract, inv, map[string]string{"vendor": "sai traders"}, answers)
	if err != nil || got.Fields["vendor"] != "Sai Traders" {
		t.Fatalf("extract compose: got %v, %v; want the form most workers wrote", got, err)
	}
	if _, err := Compose(Extract, inv, map[string]string{"vendor": "other"}, answers); err == nil {
		t.Fatalf("compose with a winner no answer carries: got nil error")
	}
}

func TestTaskMoves(t *testing.T) {
	t.Parallel()
	tests := []struct {
		from, to TaskState
		ok       bool
	}{
		{TaskOpen, TaskInProgress, true},
		{TaskInProgress, TaskDone, true},
		{TaskInProgress, TaskNeedsReview, true},
		{TaskNeedsReview, TaskDone, true},
		{TaskDone, TaskInProgress, false},
		{TaskOpen, TaskDone, false},
		{TaskFailed, TaskOpen, false},
	}
	for _, tc := range tests {
		if got := CanMove(tc.from, tc.to); got != tc.ok {
			t.Errorf("CanMove(%s, %s) = %v, want %v", tc.from, tc.to, got, tc.ok)
		}
	}
}

func TestNewID(t *testing.T) {
	t.Parallel()
	a, b := NewID(), NewID()
	if !ValidID(a) || !ValidID(b) || a == b {
		t.Fatalf("NewID gave %q and %q, want two distinct UUIDs", a, b)
	}
	if a > b {
		t.Fatalf("UUIDv7 ids should sort by creation: %q > %q", a, b)
	}
	if ValidID("not-an-id") {
		t.Fatalf("ValidID accepted garbage")
	}
}

func TestActivityAndReviewChecks(t *testing.T) {
	ok := Activity{StartedAt: "2026-11-23T09:00:00Z", ActiveMS: 300_000, What: "training"}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []Activity{
		{StartedAt: "9 am", ActiveMS: 1, What: "training"},
		{StartedAt: ok.StartedAt, ActiveMS: 0, What: "training"},
		{StartedAt: ok.StartedAt, ActiveMS: MaxActivityMS + 1, What: "training"},
		{StartedAt: ok.StartedAt, ActiveMS: 1, What: "tea"},
		{StartedAt: ok.StartedAt, ActiveMS: 1, What: "tasks"}, // measured, never declared
	} {
		if bad.Validate() == nil {
			t.Errorf("%+v passed", bad)
		}
	}
	if CheckReview(VerdictDisagree, "a greeting") != nil || CheckReview("maybe", "") == nil ||
		CheckReview(VerdictAgree, string(make([]byte, MaxReviewNote+1))) == nil {
		t.Fatal("review checks")
	}
}
