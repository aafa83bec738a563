package ingest

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"banyan/internal/work"
)

// ResultPager reads the page of results after the given task id; an empty
// page means the end.
type ResultPager func(after string) ([]work.Result, error)

// resultLine is one line of a JSONL results export.
type resultLine struct {
	TaskID     string      `json:"task_id"`
	ExternalID string      `json:"external_id,omitempty"`
	BatchID    string      `json:"batch_id"`
	Answer     work.Answer `json:"answer"`
	Confidence float64     `json:"confidence"`
	Answers    int         `json:"answers"`
	Source     string      `json:"source"`
}

// WriteResults streams every result of a project, page by page, to w in
// format f. Memory stays flat however many results there are.
func WriteResults(w io.Writer, f Format, p work.Project, next ResultPager) error {
	bw := bufio.NewWriterSize(w, 1<<16)
	var cw *csv.Writer
	cols := answerColumns(p)
	if f == CSV {
		cw = csv.NewWriter(bw)
		header := append([]string{"task_id", ExternalIDField, "batch_id"}, cols...)
		header = append(header, "confidence", "answers", "source")
		if err := cw.Write(header); err != nil {
			return err
		}
	}
	enc := json.NewEncoder(bw)
	if f == LabelStudio {
		bw.WriteString("[")
	}
	first := true
	toName := "text"
	if len(p.Schema.Inputs) > 0 {
		toName = p.Schema.Inputs[0]
	}
	after := ""
	for {
		page, err := next(after)
		if err != nil {
			return err
		}
		if len(page) == 0 {
			break
		}
		for _, r := range page {
			if cw != nil {
				rec := []string{r.TaskID, r.ExternalID, r.BatchID}
				rec = append(rec, answerCells(p, r.Answer)...)
				rec = append(rec, strconv.FormatFloat(r.Confidence, 'f', 4, 64), strconv.Itoa(r.Answers), r.Source)
				if err := cw.Write(rec); err != nil {
					return err
				}
			} else if f == LabelStudio {
				if !first {
					bw.WriteString(",\n")
				}
				first = false
				if err := writeLabelStudio(bw, p, r, toName); err != nil {
					return err
				}
			} else if err := enc.Encode(resultLine{r.TaskID, r.ExternalID, r.BatchID, r.Answer, r.Confidence, r.Answers, r.Source}); err != nil {
				return err
			}
		}
		after = page[len(page)-1].TaskID
		if cw != nil {
			cw.Flush()
			if err := cw.Error(); err != nil {
				return err
			}
		}
	}
	if cw != nil {
		cw.Flush()
		if err := cw.Error(); err != nil {
			return fmt.Errorf("ingest: write CSV: %w", err)
		}
	}
	if f == LabelStudio {
		bw.WriteString("]\n")
	}
	return bw.Flush()
}

// answerColumns names the CSV columns that hold a result's answer.
func answerColumns(p work.Project) []string {
	switch {
	case p.Kind == work.Classify && p.Schema.Multi:
		return []string{"labels"}
	case p.Kind == work.Classify:
		return []string{"label"}
	case p.Kind == work.Extract:
		cols := make([]string, len(p.Schema.Fields))
		for i, f := range p.Schema.Fields {
			cols[i] = f.Name
		}
		return cols
	}
	return []string{"text"}
}

// answerCells are the answer's values for answerColumns. Multi-label sets
// are joined with "|", which no label may hold ambiguously in CSV.
func answerCells(p work.Project, a work.Answer) []string {
	switch {
	case p.Kind == work.Classify && p.Schema.Multi:
		return []string{strings.Join(a.Labels, "|")}
	case p.Kind == work.Classify:
		return []string{a.Label}
	case p.Kind == work.Extract:
		cells := make([]string, len(p.Schema.Fields))
		for i, f := range p.Schema.Fields {
			cells[i] = a.Fields[f.Name]
		}
		return cells
	}
	return []string{a.Text}
}

// writeLabelStudio writes one result as a Label Studio task with its
// annotation.
func writeLabelStudio(w io.Writer, p work.Project, r work.Result, toName string) error {
	id := r.ExternalID
	if id == "" {
		id = r.TaskID
	}
	data := json.RawMessage(r.Payload)
	if len(data) == 0 {
		data = json.RawMessage(`{}`)
	}
	b, err := json.Marshal(map[string]any{"id": id, "data": data, "meta": map[string]any{"task_id": r.TaskID, "batch_id": r.BatchID,
		"confidence": r.Confidence, "answers": r.Answers, "source": r.Source},
		"annotations": []map[string]any{{"result": ToLabelStudio(p.Kind, r.Answer, toName)}}})
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}
