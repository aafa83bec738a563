package ingest

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"unicode/utf8"

	"banyan/internal/quality"
)

// maybeGunzip returns a reader of r's content, decompressed when it starts
// with the gzip magic bytes.
func maybeGunzip(r io.Reader) (io.Reader, func() error, error) {
	br := bufio.NewReaderSize(r, 1<<20)
	magic, _ := br.Peek(2)
	if len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, nil, fmt.Errorf("gzip: %w", err)
		}
		return bufio.NewReaderSize(zr, 1<<20), zr.Close, nil
	}
	return br, func() error { return nil }, nil
}

// splitCSV splits one CSV line into want fields. Lines without quotes are
// split by hand, which is most of the work on large files; a line with a
// quote goes through encoding/csv.
func splitCSV(line []byte, want int, out [][]byte) ([][]byte, error) {
	out = out[:0]
	if bytes.IndexByte(line, '"') < 0 {
		for {
			i := bytes.IndexByte(line, ',')
			if i < 0 {
				out = append(out, line)
				break
			}
			out = append(out, line[:i])
			line = line[i+1:]
		}
	} else {
		rec, err := csv.NewReader(bytes.NewReader(line)).Read()
		if err != nil {
			return nil, fmt.Errorf("bad CSV quoting: %v", err)
		}
		for _, f := range rec {
			out = append(out, []byte(f))
		}
	}
	if len(out) != want {
		return nil, fmt.Errorf("%d columns, want %d", len(out), want)
	}
	return out, nil
}

// eachLine calls fn with every non-blank line after the header, which must
// be exactly header. Errors name the line.
func eachLine(r io.Reader, header string, fn func(line int, fields [][]byte) error) error {
	rd, closeFn, err := maybeGunzip(r)
	if err != nil {
		return err
	}
	defer closeFn()
	br := rd.(*bufio.Reader)
	cols := bytes.Count([]byte(header), []byte(",")) + 1
	var fields [][]byte
	for n := 1; ; n++ {
		line, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			return &Error{Line: n, Reason: "line is longer than 1 MiB"}
		}
		if err != nil && err != io.EOF {
			return fmt.Errorf("line %d: %w", n, err)
		}
		text := bytes.TrimRight(line, "\r\n")
		if n == 1 {
			text = bytes.TrimPrefix(text, []byte("\uFEFF"))
			if len(text) == 0 && err == io.EOF {
				return &Error{Line: 1, Reason: fmt.Sprintf("the file is empty; the first line must be %q", header)}
			}
			if string(bytes.TrimSpace(text)) != header {
				return &Error{Line: 1, Reason: fmt.Sprintf("header is %q, want %q", text, header)}
			}
		} else if len(bytes.TrimSpace(text)) > 0 {
			if !utf8.Valid(text) {
				return &Error{Line: n, Reason: "not valid UTF-8"}
			}
			fields, err = splitCSV(text, cols, fields)
			if err != nil {
				return &Error{Line: n, Reason: err.Error()}
			}
			for i, f := range fields {
				if len(f) == 0 {
					return &Error{Line: n, Field: columnName(header, i), Reason: "empty"}
				}
			}
			if ferr := fn(n, fields); ferr != nil {
				return ferr
			}
		}
		if err == io.EOF {
			return nil
		}
	}
}

func columnName(header string, i int) string {
	cols := bytes.Split([]byte(header), []byte(","))
	if i < len(cols) {
		return string(cols[i])
	}
	return strconv.Itoa(i + 1)
}

// ReadLabels reads crowd labels: CSV (or gzip-compressed CSV) with the
// header task,worker,label. Repeated rows are kept.
func ReadLabels(r io.Reader) (*quality.Labels, error) {
	b := quality.NewLabelsBuilder(1 << 16)
	err := eachLine(r, "task,worker,label", func(_ int, f [][]byte) error {
		b.AddBytes(f[0], f[1], f[2])
		return nil
	})
	if err != nil {
		return nil, err
	}
	if b.Len() == 0 {
		return nil, &Error{Line: 2, Reason: "no labels after the header"}
	}
	return b.Build()
}

// ReadGold reads true answers: CSV with the header task,label. A task
// listed twice with different labels is an error.
func ReadGold(r io.Reader) (map[string]string, error) {
	gold := map[string]string{}
	err := eachLine(r, "task,label", func(n int, f [][]byte) error {
		task, label := string(f[0]), string(f[1])
		if prev, ok := gold[task]; ok && prev != label {
			return &Error{Line: n, Field: "label", Reason: fmt.Sprintf("task %q is listed again with another label (%q, then %q)", task, prev, label)}
		}
		gold[task] = label
		return nil
	})
	return gold, err
}

// WriteEstimate writes task,label,confidence for every task, in the order
// tasks first appeared.
func WriteEstimate(w io.Writer, e *quality.Estimate) error {
	bw := bufio.NewWriterSize(w, 1<<16)
	cw := csv.NewWriter(bw)
	cw.Write([]string{"task", "label", "confidence"})
	for t, name := range e.Labels.TaskNames {
		c, p := e.Best(t)
		cw.Write([]string{name, e.Labels.ClassNames[c], strconv.FormatFloat(p, 'f', 4, 64)})
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return err
	}
	return bw.Flush()
}
