package ingest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"banyan/internal/work"
)

// Label Studio's JSON task format, in and out. In: a JSON array of tasks,
// each {"id", "data": {…}, "predictions": [{"result": [...]}]}; data is the
// task's payload and the first prediction becomes the pre-annotation the
// desk shows for the worker to confirm or correct. Out: each result as
// {"id", "data", "annotations": [{"result": [...]}]}. Results are the
// "choices" type for classify and "textarea" for extract (one per field,
// from_name the field) and transcribe.

// LabelStudio is the format's name.
const LabelStudio Format = "labelstudio"

// lsResult is one region of a Label Studio annotation or prediction.
type lsResult struct {
	FromName string         `json:"from_name"`
	ToName   string         `json:"to_name"`
	Type     string         `json:"type"`
	Value    map[string]any `json:"value"`
}

type lsTask struct {
	ID          any            `json:"id,omitempty"`
	Data        map[string]any `json:"data"`
	Predictions []struct {
		Result []lsResult `json:"result"`
	} `json:"predictions,omitempty"`
	Annotations []struct {
		Result []lsResult `json:"result"`
	} `json:"annotations,omitempty"`
}

// fromLabelStudio turns a prediction's regions into an answer of the
// project's kind.
func fromLabelStudio(kind work.Kind, multi bool, rs []lsResult) (work.Answer, error) {
	var a work.Answer
	for _, r := range rs {
		switch r.Type {
		case "choices":
			var choices []string
			raw, _ := json.Marshal(r.Value["choices"])
			if err := json.Unmarshal(raw, &choices); err != nil || len(choices) == 0 {
				return a, fmt.Errorf("a choices result needs value.choices, a list of labels")
			}
			if multi {
				a.Labels = append(a.Labels, choices...)
			} else {
				a.Label = choices[0]
			}
		case "textarea", "text":
			var texts []string
			raw, _ := json.Marshal(r.Value["text"])
			if err := json.Unmarshal(raw, &texts); err != nil || len(texts) == 0 {
				return a, fmt.Errorf("a textarea result needs value.text, a list of strings")
			}
			if kind == work.Extract {
				if a.Fields == nil {
					a.Fields = map[string]string{}
				}
				a.Fields[r.FromName] = strings.Join(texts, "\n")
			} else {
				a.Text = strings.Join(texts, "\n")
			}
		default:
			return a, fmt.Errorf("result type %q is not one Banyan takes (choices, textarea)", r.Type)
		}
	}
	return a, nil
}

// ToLabelStudio writes an answer as Label Studio regions; toName is the
// data field the regions are about.
func ToLabelStudio(kind work.Kind, a work.Answer, toName string) []lsResult {
	switch {
	case kind == work.Classify && a.Labels != nil:
		return []lsResult{{FromName: "label", ToName: toName, Type: "choices", Value: map[string]any{"choices": a.Labels}}}
	case kind == work.Classify:
		return []lsResult{{FromName: "label", ToName: toName, Type: "choices", Value: map[string]any{"choices": []string{a.Label}}}}
	case kind == work.Extract:
		out := []lsResult{}
		for _, name := range sortedKeys(a.Fields) {
			out = append(out, lsResult{FromName: name, ToName: toName, Type: "textarea", Value: map[string]any{"text": []string{a.Fields[name]}}})
		}
		return out
	}
	return []lsResult{{FromName: "text", ToName: toName, Type: "textarea", Value: map[string]any{"text": []string{a.Text}}}}
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	for i := 1; i < len(keys); i++ {
		for j := i; j > 0 && keys[j] < keys[j-1]; j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
		}
	}
	return keys
}

// readLabelStudio reads a JSON array of Label Studio tasks, one at a time.
func readLabelStudio(r io.Reader, spec Spec, lim Limits, emit emitFunc) error {
	dec := json.NewDecoder(r)
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return bad(1, "", "not Label Studio JSON: want a list of tasks [{\"data\": {…}}, …]: %v", err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return bad(1, "", "not Label Studio JSON: want a list of tasks [{\"data\": {…}}, …]")
	}
	n := 1
	for ; dec.More(); n++ {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return bad(n, "", "task %d is not valid JSON: %v", n, err)
		}
		if len(raw) > lim.MaxRowBytes {
			return bad(n, "", "task %d is %d bytes, more than the limit of %d", n, len(raw), lim.MaxRowBytes)
		}
		var t lsTask
		if err := json.Unmarshal(raw, &t); err != nil {
			return bad(n, "", "task %d: %v", n, err)
		}
		if t.Data == nil {
			return bad(n, "data", "task %d has no data object", n)
		}
		obj := t.Data
		if _, has := obj[ExternalIDField]; !has && t.ID != nil {
			obj[ExternalIDField] = fmt.Sprint(t.ID)
		}
		if len(t.Predictions) > 0 {
			a, err := fromLabelStudio(spec.Kind, spec.Multi, t.Predictions[0].Result)
			if err != nil {
				return bad(n, "predictions", "task %d: %v", n, err)
			}
			obj["suggested"] = a
		}
		if spec.Gold != nil && len(t.Annotations) > 0 {
			a, err := fromLabelStudio(spec.Kind, spec.Multi, t.Annotations[0].Result)
			if err != nil {
				return bad(n, "annotations", "task %d: %v", n, err)
			}
			obj[GoldAnswerField] = a
		}
		line, err := json.Marshal(obj)
		if err != nil {
			return bad(n, "", "task %d: %v", n, err)
		}
		if err := jsonlLine(n, line, spec.Inputs, lim, emit); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil && !errors.Is(err, io.EOF) {
		return bad(n, "", "the list of tasks does not end properly: %v", err)
	}
	return nil
}
