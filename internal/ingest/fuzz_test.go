package ingest

import (
	"bytes"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	"golang.org/x/text/unicode/norm"

	"banyan/internal/work"
)

// FuzzSpool feeds arbitrary files to the CSV and JSONL readers: they must
// either accept a file or reject it with an *Error naming a line, never
// panic, and leave no spool behind on rejection.
func FuzzSpool(f *testing.F) {
	f.Add([]byte("external_id,text\nA1,hello\n"), true)
	f.Add([]byte("text\n\"a\"\"b\",x\n"), true)
	f.Add([]byte("\uFEFFtext,lang\nनमस्ते,hi\n"), true)
	f.Add([]byte("{\"text\":\"a\",\"external_id\":1}\n{\"text\":\"b\"}"), false)
	f.Add([]byte("{\"text\":\"a\",\"gold_label\":\"x\"}\n"), false)
	// One directory for every run of this process: runs are sequential,
	// and each must leave it empty (an accepted file's spool is closed
	// below, a rejected one must clean up itself).
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte, csv bool) {
		format := JSONL
		if csv {
			format = CSV
		}
		sp, err := NewSpool(bytes.NewReader(data), format, Spec{Inputs: []string{"text"}}, Limits{MaxRowBytes: 1024, MaxTasks: 100}, dir)
		if err != nil {
			var ie *Error
			if !errors.As(err, &ie) || ie.Line < 1 {
				t.Fatalf("rejection without a line: %v", err)
			}
			if left, _ := os.ReadDir(dir); len(left) != 0 {
				t.Fatalf("a rejected file left %d files", len(left))
			}
			return
		}
		defer func() {
			sp.Close()
			if left, _ := os.ReadDir(dir); len(left) != 0 {
				t.Fatalf("closing the spool left %d files", len(left))
			}
		}()
		n := 0
		for task, err := range sp.All() {
			if err != nil {
				t.Fatal(err)
			}
			if len(task.Payload) == 0 || task.Payload[0] != '{' {
				t.Fatalf("payload %q is not a JSON object", task.Payload)
			}
			n++
		}
		if n != sp.Tasks || n == 0 {
			t.Fatalf("spooled %d tasks, counted %d", n, sp.Tasks)
		}
	})
}

// FuzzReadLabels: the labels reader accepts or names a line, never panics.
func FuzzReadLabels(f *testing.F) {
	f.Add([]byte("task,worker,label\nt1,w1,a\n"))
	f.Add([]byte("task,worker,label\n\"t,1\",w1,a\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := ReadLabels(bytes.NewReader(data))
		if err != nil {
			var ie *Error
			if errors.As(err, &ie) && ie.Line < 1 {
				t.Fatalf("error with no line: %v", err)
			}
			return
		}
		if len(l.Task) == 0 {
			t.Fatalf("accepted a file with no labels")
		}
	})
}

// FuzzLabelStudio feeds arbitrary JSON to the Label Studio reader: it must
// accept a file or reject it with an *Error naming a task, never panic.
func FuzzLabelStudio(f *testing.F) {
	seed, err := os.ReadFile("testdata/labelstudio_tasks.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed, false)
	f.Add([]byte(`[{"data":{"text":"a"},"predictions":[{"result":[{"type":"textarea","from_name":"total","value":{"text":["1"]}}]}]}]`), true)
	f.Add([]byte(`[]`), false)
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte, extract bool) {
		kind := work.Classify
		if extract {
			kind = work.Extract
		}
		sp, err := NewSpool(bytes.NewReader(data), LabelStudio, Spec{Inputs: []string{"text"}, Kind: kind}, Limits{MaxRowBytes: 4096, MaxTasks: 100}, dir)
		if err != nil {
			var ie *Error
			if !errors.As(err, &ie) || ie.Line < 1 {
				t.Fatalf("rejection without a task number: %v", err)
			}
			return
		}
		for _, err := range sp.All() {
			if err != nil {
				t.Fatal(err)
			}
		}
		sp.Close()
	})
}

// FuzzFileName feeds arbitrary names to FileName: a name it accepts must
// come back unchanged through it again and stay inside the zip (relative,
// no ".." segment, no backslash, NFC); one it refuses must get a
// *FileNameError.
func FuzzFileName(f *testing.F) {
	for _, s := range []string{"scans/inv-001.png", "./a.png", "../../x", "/etc/x", `a\b`, "C:x", "a\x00b", "cafe\u0301", "./", "\u0958"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		got, err := FileName(name)
		if err != nil {
			var fe *FileNameError
			if !errors.As(err, &fe) {
				t.Fatalf("got %v, want a *FileNameError", err)
			}
			return
		}
		if again, err := FileName(got); err != nil || again != got {
			t.Fatalf("FileName(%q) = %q, then %q, %v: want it unchanged", name, got, again, err)
		}
		if strings.HasPrefix(got, "/") || strings.Contains(got, `\`) || !norm.NFC.IsNormalString(got) || slices.Contains(strings.Split(got, "/"), "..") {
			t.Fatalf("FileName(%q) = %q: not a clean path inside the zip", name, got)
		}
	})
}
