package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"

	"banyan/internal/work"
)

func spoolAll(t *testing.T, sp *Spool) [][2]string {
	t.Helper()
	var out [][2]string
	for task, err := range sp.All() {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, [2]string{task.ExternalID, string(task.Payload)})
	}
	return out
}

func TestSpoolGoodFiles(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		format Format
		in     string
		want   [][2]string
	}{
		{"csv", CSV, "external_id,text,lang\nA1,hello,en\nA2,\"multi\nline, quoted\",hi\n",
			[][2]string{{"A1", `{"text":"hello","lang":"en"}`}, {"A2", `{"text":"multi\nline, quoted","lang":"hi"}`}}},
		{"csv with BOM and no external id", CSV, "\uFEFFtext\nनमस्ते\n", [][2]string{{"", `{"text":"नमस्ते"}`}}},
		{"csv with CRLF", CSV, "text\r\na\r\nb\r\n", [][2]string{{"", `{"text":"a"}`}, {"", `{"text":"b"}`}}},
		{"jsonl", JSONL, "{\"external_id\": 7, \"text\": \"a\", \"n\": 1.50}\n\n{\"text\":\"b\",\"tags\":[\"x\"]}",
			[][2]string{{"7", `{"n":1.50,"text":"a"}`}, {"", `{"tags":["x"],"text":"b"}`}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sp, err := NewSpool(strings.NewReader(tc.in), tc.format, Spec{Inputs: []string{"text"}}, Limits{}, t.TempDir())
			if err != nil {
				t.Fatalf("got %v, want the file accepted", err)
			}
			defer sp.Close()
			got := spoolAll(t, sp)
			if len(got) != len(tc.want) || sp.Tasks != len(tc.want) {
				t.Fatalf("got %d tasks (%v), want %d", len(got), got, len(tc.want))
			}
			for i := range got {
				if got[i][0] != tc.want[i][0] {
					t.Fatalf("task %d: got external id %q, want %q", i, got[i][0], tc.want[i][0])
				}
				var g, w any
				json.Unmarshal([]byte(got[i][1]), &g)
				json.Unmarshal([]byte(tc.want[i][1]), &w)
				gb, _ := json.Marshal(g)
				wb, _ := json.Marshal(w)
				if !bytes.Equal(gb, wb) {
					t.Fatalf("task %d: got payload %s, want %s", i, got[i][1], tc.want[i][1])
				}
			}
		})
	}
}

func TestSpoolRejectsBadFiles(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 300)
	tests := []struct {
		name      string
		format    Format
		in        string
		wantLine  int
		wantField string
		wantText  string
	}{
		{"empty csv", CSV, "", 1, "", "empty"},
		{"header only", CSV, "text\n", 1, "", "no tasks"},
		{"missing column", CSV, "body\nhello\n", 1, "text", "missing column"},
		{"duplicate column", CSV, "text,text\na,b\n", 1, "text", "named twice"},
		{"unnamed column", CSV, "text,\na,b\n", 1, "", "no name"},
		{"wrong column count", CSV, "text,lang\na,en\nb\n", 3, "", "wrong number of columns"},
		{"bad quote", CSV, "text\n\"a\"b\n", 2, "", "column"},
		{"invalid utf-8", CSV, "text\nok\nbad \xff\n", 3, "text", "UTF-8"},
		{"missing value", CSV, "text,lang\na,en\n  ,hi\n", 3, "text", "missing value"},
		{"row over limit", CSV, "text\n" + long + "\n", 2, "", "more than the limit"},
		{"jsonl not object", JSONL, "{\"text\":\"a\"}\n[1]\n", 2, "", "not a JSON object"},
		{"jsonl broken", JSONL, "{\"text\":\"a\"}\n{\"text\":\n", 2, "", "not a JSON object"},
		{"jsonl two values", JSONL, "{\"text\":\"a\"} {\"text\":\"b\"}\n", 1, "", "more than one"},
		{"jsonl missing field", JSONL, "{\"text\":\"a\"}\n{\"lang\":\"en\"}\n", 2, "text", "missing value"},
		{"jsonl null field", JSONL, "{\"text\":null}\n", 1, "text", "missing value"},
		{"jsonl invalid utf-8", JSONL, "{\"text\":\"\xc3\x28\"}\n", 1, "", "UTF-8"},
		{"jsonl line over limit", JSONL, "{\"text\":\"" + long + "\"}\n", 1, "", "limit"},
		{"jsonl bad external id", JSONL, "{\"text\":\"a\",\"external_id\":{}}\n", 1, "external_id", "string or a number"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			_, err := NewSpool(strings.NewReader(tc.in), tc.format, Spec{Inputs: []string{"text"}}, Limits{MaxRowBytes: 256}, dir)
			var ie *Error
			if !errors.As(err, &ie) || !errors.Is(err, ErrBadInput) {
				t.Fatalf("got %v, want an *ingest.Error", err)
			}
			if ie.Line != tc.wantLine || ie.Field != tc.wantField || !strings.Contains(ie.Reason, tc.wantText) {
				t.Fatalf("got line %d field %q reason %q; want line %d field %q reason containing %q",
					ie.Line, ie.Field, ie.Reason, tc.wantLine, tc.wantField, tc.wantText)
			}
			if left, _ := os.ReadDir(dir); len(left) != 0 {
				t.Fatalf("a rejected file left %d spool files behind", len(left))
			}
		})
	}
}

func TestSpoolTaskLimit(t *testing.T) {
	t.Parallel()
	_, err := NewSpool(strings.NewReader("text\na\nb\nc\n"), CSV, Spec{Inputs: []string{"text"}}, Limits{MaxTasks: 2}, t.TempDir())
	var ie *Error
	if !errors.As(err, &ie) || ie.Line != 4 {
		t.Fatalf("got %v, want an error at line 4", err)
	}
}

func TestWriteResults(t *testing.T) {
	t.Parallel()
	schema, err := work.DecodeSchema(work.Extract, []byte(`{"inputs":["doc"],"fields":[{"name":"vendor","type":"text"},{"name":"total","type":"number"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	p := work.Project{Kind: work.Extract, Schema: schema}
	pages := [][]work.Result{
		{{TaskID: "t1", ExternalID: "e1", BatchID: "b", Answer: work.Answer{Fields: map[string]string{"vendor": "Sai, Ltd", "total": "10.5"}}, Confidence: 1, Answers: 3, Source: "agreement"}},
		{{TaskID: "t2", BatchID: "b", Answer: work.Answer{Fields: map[string]string{"vendor": "Om", "total": "7"}}, Confidence: 0.6667, Answers: 3, Source: "review"}},
	}
	pager := func(after string) ([]work.Result, error) {
		switch after {
		case "":
			return pages[0], nil
		case "t1":
			return pages[1], nil
		}
		return nil, nil
	}
	var csvOut bytes.Buffer
	if err := WriteResults(&csvOut, CSV, p, pager); err != nil {
		t.Fatal(err)
	}
	want := "task_id,external_id,batch_id,vendor,total,confidence,answers,source\n" +
		"t1,e1,b,\"Sai, Ltd\",10.5,1.0000,3,agreement\n" +
		"t2,,b,Om,7,0.6667,3,review\n"
	if csvOut.String() != want {
		t.Fatalf("got CSV\n%s\nwant\n%s", csvOut.String(), want)
	}
	var jsonOut bytes.Buffer
	if err := WriteResults(&jsonOut, JSONL, p, pager); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(jsonOut.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], `"vendor":"Sai, Ltd"`) || !strings.Contains(lines[1], `"source":"review"`) {
		t.Fatalf("got JSONL %q", jsonOut.String())
	}
}

func TestParseFormat(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]Format{"csv": CSV, "text/csv; charset=utf-8": CSV, "application/jsonl": JSONL, "ndjson": JSONL} {
		if got, err := ParseFormat(in); err != nil || got != want {
			t.Errorf("ParseFormat(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := ParseFormat("application/json"); err == nil {
		t.Errorf("ParseFormat(application/json): got nil error")
	}
}
