package ingest

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"banyan/internal/work"
)

// Tasks in Label Studio's documented shape come in with their data as the
// payload, their id as the external id, and the first prediction as the
// pre-annotation.
func TestLabelStudioImport(t *testing.T) {
	f, err := os.Open("testdata/labelstudio_tasks.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sp, err := NewSpool(f, LabelStudio, Spec{Inputs: []string{"text"}, Kind: work.Classify}, Limits{}, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	if sp.Tasks != 2 {
		t.Fatalf("%d tasks, want 2", sp.Tasks)
	}
	var got []string
	for task, err := range sp.All() {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, task.ExternalID+" "+string(task.Payload))
	}
	if len(got) != 2 || !strings.HasPrefix(got[0], "101 ") || !strings.Contains(got[0], `"suggested":{"label":"spam"}`) ||
		!strings.HasPrefix(got[1], "102 ") || strings.Contains(got[1], "suggested") {
		t.Fatalf("tasks: %q", got)
	}
}

func TestLabelStudioRefusesWhatItCannotRead(t *testing.T) {
	for name, in := range map[string]string{
		"not a list":       `{"data": {"text": "x"}}`,
		"no data":          `[{"id": 1}]`,
		"missing input":    `[{"data": {"body": "x"}}]`,
		"unknown region":   `[{"data": {"text": "x"}, "predictions": [{"result": [{"type": "rectanglelabels", "value": {}}]}]}]`,
		"choices not list": `[{"data": {"text": "x"}, "predictions": [{"result": [{"type": "choices", "value": {"choices": "spam"}}]}]}]`,
	} {
		if _, err := NewSpool(strings.NewReader(in), LabelStudio, Spec{Inputs: []string{"text"}, Kind: work.Classify}, Limits{}, t.TempDir()); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// Results go out as Label Studio tasks with annotations: choices for
// classify, a textarea per field for extract.
func TestLabelStudioExport(t *testing.T) {
	classify := work.Project{Kind: work.Classify, Schema: &work.Schema{Inputs: []string{"text"}, Labels: []string{"ok", "spam"}}}
	var b bytes.Buffer
	results := []work.Result{{TaskID: "t1", ExternalID: "101", Answer: work.Answer{Label: "spam"}, Payload: []byte(`{"text":"Win a phone"}`)}}
	pages := 0
	err := WriteResults(&b, LabelStudio, classify, func(after string) ([]work.Result, error) {
		pages++
		if pages == 1 {
			return results, nil
		}
		return nil, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var out []struct {
		ID          string
		Data        map[string]string
		Annotations []struct {
			Result []lsResult
		}
	}
	if err := json.Unmarshal(b.Bytes(), &out); err != nil {
		t.Fatalf("not a JSON list: %v\n%s", err, b.String())
	}
	r := out[0].Annotations[0].Result[0]
	if out[0].ID != "101" || out[0].Data["text"] != "Win a phone" || r.Type != "choices" || r.FromName != "label" || r.ToName != "text" {
		t.Fatalf("export: %s", b.String())
	}
	ex := ToLabelStudio(work.Extract, work.Answer{Fields: map[string]string{"total": "1250.50", "gstin": "29ABCDE1234F1Z5"}}, "scan")
	if len(ex) != 2 || ex[0].FromName != "gstin" || ex[0].Type != "textarea" {
		t.Fatalf("extract regions: %+v", ex)
	}
	// And back in: the regions become the same answer.
	a, err := fromLabelStudio(work.Extract, false, ex)
	if err != nil || a.Fields["total"] != "1250.50" {
		t.Fatalf("round trip: %+v %v", a, err)
	}
}
