package work

import (
	"errors"
	"testing"
)

// FuzzParseAnswer: every kind's validator either returns a canonical answer
// that validates again unchanged, or an *AnswerError; it never panics.
func FuzzParseAnswer(f *testing.F) {
	f.Add([]byte(`{"label":"spam"}`), uint8(0))
	f.Add([]byte(`{"labels":["ok","abuse"]}`), uint8(1))
	f.Add([]byte(`{"fields":{"vendor":"Sai","date":"05/03/2026","total":"1,23,456.50","gstin":"27AAPFU0939F1ZV","mode":"upi"}}`), uint8(2))
	f.Add([]byte(`{"text":"  hello  "}`), uint8(3))
	f.Add([]byte(`{"text":"Thank you for writing; your refund is on its way."}`), uint8(4))
	schemas := []struct {
		kind Kind
		raw  string
	}{
		{Classify, `{"inputs":["text"],"labels":["ok","spam","abuse"]}`},
		{Classify, `{"inputs":["text"],"labels":["ok","spam","abuse"],"multi":true}`},
		{Extract, `{"inputs":["doc"],"fields":[{"name":"vendor","type":"text","required":true},
			{"name":"gstin","type":"text","pattern":"[0-9]{2}[A-Z]{5}[0-9]{4}[A-Z][1-9A-Z]Z[0-9A-Z]"},
			{"name":"date","type":"date"},{"name":"total","type":"number"},{"name":"n","type":"integer"},
			{"name":"mode","type":"enum","options":["Cash","UPI"]}]}`},
		{Transcribe, `{"inputs":["audio"],"max_length":200}`},
		{Respond, `{"inputs":["question"],"max_length":2000}`},
	}
	compiled := make([]*Schema, len(schemas))
	for i, s := range schemas {
		sc, err := DecodeSchema(s.kind, []byte(s.raw))
		if err != nil {
			f.Fatal(err)
		}
		compiled[i] = sc
	}
	f.Fuzz(func(t *testing.T, raw []byte, which uint8) {
		i := int(which) % len(schemas)
		a, err := ParseAnswer(schemas[i].kind, compiled[i], raw)
		if err != nil {
			var ae *AnswerError
			if !errors.As(err, &ae) {
				t.Fatalf("error is not an *AnswerError: %v", err)
			}
			return
		}
		again, err := Check(schemas[i].kind, compiled[i], a)
		if err != nil {
			t.Fatalf("canonical answer %+v fails validation: %v", a, err)
		}
		if Score(schemas[i].kind, compiled[i], DefaultMaxTextError, a, again) != 1 || a.Text != again.Text {
			t.Fatalf("canonical form is not stable: %+v then %+v", a, again)
		}
	})
}
