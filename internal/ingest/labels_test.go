package ingest

import (
	"bytes"
	"compress/gzip"
	"errors"
	"strings"
	"testing"
)

func TestReadLabels(t *testing.T) {
	t.Parallel()
	in := "task,worker,label\r\nt1,w1,cat\nt1,\"w,2\",dog\n\nt2,w1,cat\n"
	l, err := ReadLabels(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Task) != 3 || l.NumTasks() != 2 || l.NumWorkers() != 2 || strings.Join(l.ClassNames, ",") != "cat,dog" {
		t.Fatalf("got %d labels, %d tasks, workers %v, classes %v", len(l.Task), l.NumTasks(), l.WorkerNames, l.ClassNames)
	}
	// The same file gzipped reads the same.
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(in))
	zw.Close()
	l2, err := ReadLabels(&gz)
	if err != nil || len(l2.Task) != 3 {
		t.Fatalf("gzip: got %v, %v", l2, err)
	}
}

func TestReadLabelsErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in  string
		line      int
		field     string
		wantError string
	}{
		{"empty", "", 1, "", "empty"},
		{"wrong header", "item,annotator,label\na,b,c\n", 1, "", "header"},
		{"no labels", "task,worker,label\n", 2, "", "no labels"},
		{"short row", "task,worker,label\nt1,w1\n", 2, "", "2 columns"},
		{"empty worker", "task,worker,label\nt1,w1,a\nt2,,b\n", 3, "worker", "empty"},
		{"bad utf-8", "task,worker,label\nt1,w1,\xff\n", 2, "", "UTF-8"},
		{"bad quotes", "task,worker,label\nt1,\"w1,a\n", 2, "", "quoting"},
	}
	for _, tc := range tests {
		_, err := ReadLabels(strings.NewReader(tc.in))
		var ie *Error
		if !errors.As(err, &ie) || ie.Line != tc.line || ie.Field != tc.field || !strings.Contains(ie.Reason, tc.wantError) {
			t.Errorf("%s: got %v, want line %d field %q reason with %q", tc.name, err, tc.line, tc.field, tc.wantError)
		}
	}
}

func TestReadGold(t *testing.T) {
	t.Parallel()
	g, err := ReadGold(strings.NewReader("task,label\nt1,cat\nt1,cat\nt2,dog\n"))
	if err != nil || len(g) != 2 || g["t2"] != "dog" {
		t.Fatalf("got %v, %v", g, err)
	}
	_, err = ReadGold(strings.NewReader("task,label\nt1,cat\nt1,dog\n"))
	var ie *Error
	if !errors.As(err, &ie) || ie.Line != 3 {
		t.Fatalf("conflicting gold: got %v, want an error at line 3", err)
	}
}
