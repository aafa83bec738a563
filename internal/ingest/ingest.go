// Package ingest owns the ways tasks come in and results go out: batch files
// (CSV and JSONL) parsed and validated as they stream, and results written
// as CSV or JSONL as they are read.
//
// An upload is checked whole before any of it is stored: Spool reads the
// file once, validates every row against the project's inputs, and writes
// the clean rows to a temporary spool file. Only a file without a single bad
// row reaches the database, in one transaction, so a rejected file leaves
// nothing behind.
package ingest

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/http"
	"os"
	"strings"
	"unicode/utf8"

	"banyan/internal/problem"
	"banyan/internal/project"
	"banyan/internal/work"
)

// Format is a batch file format.
type Format string

// The batch formats.
const (
	CSV   Format = "csv"
	JSONL Format = "jsonl"
)

// ParseFormat maps a format name or a media type to a format.
func ParseFormat(s string) (Format, error) {
	mt, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(s)), ";")
	switch strings.TrimSpace(mt) {
	case "csv", "text/csv":
		return CSV, nil
	case "jsonl", "ndjson", "application/jsonl", "application/x-ndjson", "application/x-jsonlines", "application/jsonlines":
		return JSONL, nil
	case "labelstudio", "label-studio", "application/vnd.label-studio+json":
		return LabelStudio, nil
	}
	return "", fmt.Errorf("unknown batch format %q: send text/csv, application/jsonl or Label Studio JSON (?format=labelstudio)", s)
}

// ExternalIDField is the column (or JSON member) that carries the client's
// own id for a task. It is kept apart from the payload.
const ExternalIDField = "external_id"

// The columns (or JSON members) of a gold file that carry the known answer:
// gold_answer holds a JSON answer ({"label": "spam"}, {"fields": {…}});
// gold_label is a shorthand for a single-label classify answer.
const (
	GoldAnswerField = "gold_answer"
	GoldLabelField  = "gold_label"
)

// Spec says what every row of a file must carry.
type Spec struct {
	// Inputs are the payload fields every task needs, non-empty.
	Inputs []string
	// Gold, when set, makes this a gold file: every row needs a known
	// answer, which Gold checks and returns in canonical JSON.
	Gold func(raw []byte) ([]byte, error)
	// Kind and Multi say how Label Studio results become answers.
	Kind  work.Kind
	Multi bool
}

// Limits bound what one upload may hold.
type Limits struct {
	MaxRowBytes int // bytes in one row or JSON line
	MaxTasks    int // rows in one file
}

// DefaultLimits are used where a limit is zero.
var DefaultLimits = Limits{MaxRowBytes: 64 << 10, MaxTasks: 2_000_000}

// ErrBadInput is wrapped by every Error.
var ErrBadInput = errors.New("bad batch file")

// Error names the line and field of a batch file that is wrong.
type Error struct {
	Line   int
	Field  string
	Reason string
}

func (e *Error) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("line %d: %s", e.Line, e.Reason)
	}
	return fmt.Sprintf("line %d, field %q: %s", e.Line, e.Field, e.Reason)
}

// Unwrap lets errors.Is match ErrBadInput.
func (e *Error) Unwrap() error { return ErrBadInput }

// Problem is the reply to a batch file refused for this error: the line
// and field it names, and that nothing of the file was stored.
func (e *Error) Problem() *problem.Problem {
	p := problem.New(http.StatusUnprocessableEntity, "the batch file was rejected whole and nothing was stored: %s", e.Error())
	p.Errors = []problem.ProblemField{{Line: e.Line, Field: e.Field, Reason: e.Reason}}
	return p
}

func bad(line int, field, format string, args ...any) error {
	return &Error{Line: line, Field: field, Reason: fmt.Sprintf(format, args...)}
}

// Spool is a validated batch waiting to be stored.
type Spool struct {
	f     *os.File
	Tasks int
}

// Close removes the spool file.
func (s *Spool) Close() error {
	name := s.f.Name()
	return errors.Join(s.f.Close(), os.Remove(name))
}

// All yields the spooled tasks in file order.
func (s *Spool) All() iter.Seq2[project.NewTask, error] {
	return func(yield func(project.NewTask, error) bool) {
		if _, err := s.f.Seek(0, io.SeekStart); err != nil {
			yield(project.NewTask{}, err)
			return
		}
		r := bufio.NewReaderSize(s.f, 1<<16)
		for {
			line, err := r.ReadBytes('\n')
			if err == io.EOF && len(line) == 0 {
				return
			}
			if err != nil {
				yield(project.NewTask{}, fmt.Errorf("read spool: %w", err))
				return
			}
			ext, rest, _ := bytes.Cut(bytes.TrimSuffix(line, []byte("\n")), []byte("\t"))
			payload, gold, _ := bytes.Cut(rest, []byte("\t"))
			var id string
			if err := json.Unmarshal(ext, &id); err != nil {
				yield(project.NewTask{}, fmt.Errorf("read spool: %w", err))
				return
			}
			t := project.NewTask{ExternalID: id, Payload: payload}
			if len(gold) > 0 {
				t.Gold = gold
			}
			if !yield(t, nil) {
				return
			}
		}
	}
}

// NewSpool reads a batch file in format f, checks every row against spec,
// and spools the clean tasks into a temporary file in dir. The first bad row
// stops it with an *Error naming the line and field; then no spool is left
// behind.
func NewSpool(r io.Reader, f Format, spec Spec, lim Limits, dir string) (*Spool, error) {
	if lim.MaxRowBytes == 0 {
		lim.MaxRowBytes = DefaultLimits.MaxRowBytes
	}
	if lim.MaxTasks == 0 {
		lim.MaxTasks = DefaultLimits.MaxTasks
	}
	file, err := os.CreateTemp(dir, "batch-*.spool")
	if err != nil {
		return nil, fmt.Errorf("ingest: spool: %w", err)
	}
	sp := &Spool{f: file}
	w := bufio.NewWriterSize(file, 1<<16)
	emit := func(line int, ext string, payload, gold []byte) error {
		if sp.Tasks >= lim.MaxTasks {
			return bad(line, "", "more than %d tasks in one file; split it into several batches", lim.MaxTasks)
		}
		if spec.Gold != nil {
			if gold == nil {
				return bad(line, GoldAnswerField, "missing: every row of a gold file needs its known answer (%s or %s)", GoldAnswerField, GoldLabelField)
			}
			canon, err := spec.Gold(gold)
			if err != nil {
				return bad(line, GoldAnswerField, "%v", err)
			}
			gold = canon
		} else if gold != nil {
			return bad(line, GoldAnswerField, "known answers belong in a gold file (POST …/gold), not in a batch of work")
		}
		sp.Tasks++
		e, _ := json.Marshal(ext)
		w.Write(e)
		w.WriteByte('\t')
		w.Write(payload)
		if gold != nil {
			w.WriteByte('\t')
			w.Write(gold)
		}
		return w.WriteByte('\n')
	}
	switch f {
	case CSV:
		err = readCSV(r, spec.Inputs, lim, emit)
	case JSONL:
		err = readJSONL(r, spec.Inputs, lim, emit)
	case LabelStudio:
		err = readLabelStudio(r, spec, lim, emit)
	default:
		err = fmt.Errorf("unknown batch format %q", f)
	}
	if err == nil {
		err = w.Flush()
	}
	if err == nil && sp.Tasks == 0 {
		err = bad(1, "", "the file has no tasks")
	}
	if err != nil {
		sp.Close()
		return nil, err
	}
	return sp, nil
}

// emitFunc takes one clean row: its external id, its payload (a JSON
// object) and, if the row carried one, its known answer (a JSON object).
type emitFunc func(line int, externalID string, payload, gold []byte) error

// goldLabel wraps a classify shorthand label as a JSON answer.
func goldLabel(label string) []byte {
	b, _ := json.Marshal(map[string]string{"label": label})
	return b
}

func readCSV(r io.Reader, inputs []string, lim Limits, emit emitFunc) error {
	cr := csv.NewReader(r)
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err == io.EOF {
		return bad(1, "", "the file is empty; the first line must be a header naming the columns")
	}
	if err != nil {
		return csvErr(err)
	}
	header = append([]string(nil), header...)
	if len(header) > 0 {
		header[0] = strings.TrimPrefix(header[0], "\uFEFF")
	}
	col := map[string]int{}
	for i, h := range header {
		if !utf8.ValidString(h) {
			return bad(1, "", "column %d: the header is not valid UTF-8", i+1)
		}
		h = strings.TrimSpace(h)
		header[i] = h
		if h == "" {
			return bad(1, "", "column %d has no name in the header", i+1)
		}
		if _, dup := col[h]; dup {
			return bad(1, h, "the column is named twice in the header")
		}
		col[h] = i
	}
	for _, in := range inputs {
		if _, ok := col[in]; !ok {
			return bad(1, in, "missing column: the project needs it on every task (header has: %s)", strings.Join(header, ", "))
		}
	}
	ext, hasExt := col[ExternalIDField]
	goldAns, hasGoldAns := col[GoldAnswerField]
	goldLab, hasGoldLab := col[GoldLabelField]
	skip := func(i int) bool {
		return (hasExt && i == ext) || (hasGoldAns && i == goldAns) || (hasGoldLab && i == goldLab)
	}
	var buf bytes.Buffer
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return csvErr(err)
		}
		line, _ := cr.FieldPos(0)
		size := 0
		for i, v := range rec {
			size += len(v)
			if !utf8.ValidString(v) {
				return bad(line, header[i], "not valid UTF-8 (save the file as UTF-8)")
			}
		}
		if size > lim.MaxRowBytes {
			return bad(line, "", "row is %d bytes, more than the limit of %d", size, lim.MaxRowBytes)
		}
		for _, in := range inputs {
			if strings.TrimSpace(rec[col[in]]) == "" {
				return bad(line, in, "missing value: the project needs it on every task")
			}
		}
		buf.Reset()
		buf.WriteByte('{')
		n := 0
		for i, v := range rec {
			if skip(i) {
				continue
			}
			if n > 0 {
				buf.WriteByte(',')
			}
			n++
			k, _ := json.Marshal(header[i])
			val, _ := json.Marshal(v)
			buf.Write(k)
			buf.WriteByte(':')
			buf.Write(val)
		}
		buf.WriteByte('}')
		id := ""
		if hasExt {
			id = strings.TrimSpace(rec[ext])
		}
		var gold []byte
		switch {
		case hasGoldAns && strings.TrimSpace(rec[goldAns]) != "":
			gold = []byte(rec[goldAns])
		case hasGoldLab && strings.TrimSpace(rec[goldLab]) != "":
			gold = goldLabel(strings.TrimSpace(rec[goldLab]))
		}
		if err := emit(line, id, buf.Bytes(), gold); err != nil {
			return err
		}
	}
}

func csvErr(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		if errors.Is(pe.Err, csv.ErrFieldCount) {
			return bad(pe.StartLine, "", "wrong number of columns: every row must have as many as the header")
		}
		return bad(pe.StartLine, "", "column %d: %v", pe.Column, pe.Err)
	}
	return fmt.Errorf("ingest: read CSV: %w", err)
}

func readJSONL(r io.Reader, inputs []string, lim Limits, emit emitFunc) error {
	br := bufio.NewReaderSize(r, 1<<16)
	var long []byte
	for line := 1; ; line++ {
		chunk, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			// A line longer than the buffer: gather it, up to the limit.
			long = append(long[:0], chunk...)
			for errors.Is(err, bufio.ErrBufferFull) {
				if len(long) > lim.MaxRowBytes {
					return bad(line, "", "line is longer than the limit of %d bytes", lim.MaxRowBytes)
				}
				chunk, err = br.ReadSlice('\n')
				long = append(long, chunk...)
			}
			chunk = long
		}
		if err != nil && err != io.EOF {
			return fmt.Errorf("ingest: read JSONL: %w", err)
		}
		if text := bytes.TrimSpace(chunk); len(text) > 0 {
			if perr := jsonlLine(line, text, inputs, lim, emit); perr != nil {
				return perr
			}
		}
		if err == io.EOF {
			return nil
		}
	}
}

func jsonlLine(line int, text []byte, inputs []string, lim Limits, emit emitFunc) error {
	if len(text) > lim.MaxRowBytes {
		return bad(line, "", "line is %d bytes, more than the limit of %d", len(text), lim.MaxRowBytes)
	}
	if !utf8.Valid(text) {
		return bad(line, "", "not valid UTF-8 (save the file as UTF-8)")
	}
	dec := json.NewDecoder(bytes.NewReader(text))
	dec.UseNumber()
	var obj map[string]any
	if err := dec.Decode(&obj); err != nil {
		return bad(line, "", "not a JSON object: %v", err)
	}
	if dec.More() {
		return bad(line, "", "more than one JSON value on the line; put one task on each line")
	}
	if obj == nil {
		return bad(line, "", "not a JSON object")
	}
	for _, in := range inputs {
		v, ok := obj[in]
		if !ok || v == nil {
			return bad(line, in, "missing value: the project needs it on every task")
		}
		if s, isStr := v.(string); isStr && strings.TrimSpace(s) == "" {
			return bad(line, in, "missing value: the project needs it on every task")
		}
	}
	id := ""
	if v, ok := obj[ExternalIDField]; ok {
		switch x := v.(type) {
		case string:
			id = strings.TrimSpace(x)
		case json.Number:
			id = x.String()
		default:
			return bad(line, ExternalIDField, "must be a string or a number")
		}
		delete(obj, ExternalIDField)
	}
	var gold []byte
	if v, ok := obj[GoldAnswerField]; ok {
		if _, isObj := v.(map[string]any); !isObj {
			return bad(line, GoldAnswerField, "must be a JSON answer object, e.g. {\"label\": \"spam\"}")
		}
		gold, _ = json.Marshal(v)
		delete(obj, GoldAnswerField)
	}
	if v, ok := obj[GoldLabelField]; ok {
		label, isStr := v.(string)
		if !isStr {
			return bad(line, GoldLabelField, "must be a string")
		}
		if gold == nil {
			gold = goldLabel(label)
		}
		delete(obj, GoldLabelField)
	}
	payload, err := json.Marshal(obj)
	if err != nil {
		return bad(line, "", "cannot re-encode the object: %v", err)
	}
	return emit(line, id, payload, gold)
}
