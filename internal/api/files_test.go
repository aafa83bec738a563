package api_test

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"mime/multipart"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// zipOf makes a zip of the named files.
func zipOf(t *testing.T, files map[string][]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, data := range files {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(data)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// multipartOf makes a batch upload of rows and, if set, a zip of files.
func multipartOf(t *testing.T, rowsName, rows string, zipped []byte) ([]byte, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	w, _ := mw.CreateFormFile("rows", rowsName)
	io.WriteString(w, rows)
	if zipped != nil {
		w, _ = mw.CreateFormFile("files", "files.zip")
		w.Write(zipped)
	}
	mw.Close()
	return buf.Bytes(), mw.FormDataContentType()
}

func TestBatchWithAttachments(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	proj := e.must("client_admin", "POST", "/api/v1/projects", map[string]any{
		"name": "invoices", "kind": "extract", "overlap": 1, "max_overlap": 1,
		"schema": map[string]any{"inputs": []string{"scan"}, "files": []string{"scan"},
			"fields": []map[string]any{{"name": "total", "type": "number", "required": true}}},
	}, 201)
	e.ids["inv"] = proj["id"].(string)
	scan := bytes.Repeat([]byte("%PDF-scan-"), 5000) // 50 kB
	other := []byte("a second scan")

	// A project whose tasks name files takes no plain CSV.
	status, raw := e.do("client_admin", "POST", "/api/v1/projects/{inv}/batches", "scan\na.pdf\n", "text/csv")
	if status != 422 || !strings.Contains(string(raw), "multipart") {
		t.Fatalf("plain CSV for a files project: %d %s", status, raw)
	}
	// A row naming a file the zip lacks is refused, naming the task and
	// the file, and nothing is kept.
	body, ctype := multipartOf(t, "rows.csv", "scan\na.pdf\nmissing.pdf\n", zipOf(t, map[string][]byte{"a.pdf": scan}))
	status, raw = e.do("client_admin", "POST", "/api/v1/projects/{inv}/batches", body, ctype)
	if status != 422 || !strings.Contains(string(raw), "task 2") || !strings.Contains(string(raw), "missing.pdf") {
		t.Fatalf("missing file: %d %s", status, raw)
	}
	if _, raw := e.do("client_admin", "GET", "/api/v1/projects/{inv}/batches", nil, ""); strings.Contains(string(raw), `"tasks"`) {
		t.Fatalf("a refused upload left a batch: %s", raw)
	}
	// Rows without the zip.
	body, ctype = multipartOf(t, "rows.csv", "scan\na.pdf\n", nil)
	if status, raw := e.do("client_admin", "POST", "/api/v1/projects/{inv}/batches", body, ctype); status != 422 || !strings.Contains(string(raw), "zip") {
		t.Fatalf("no zip: %d %s", status, raw)
	}

	// Two tasks naming the same file store it once; JSONL by file name.
	body, ctype = multipartOf(t, "rows.jsonl", `{"scan":"dir/a.pdf"}`+"\n"+`{"scan":"./dir/a.pdf"}`+"\n"+`{"scan":"b.pdf"}`+"\n",
		zipOf(t, map[string][]byte{"dir/a.pdf": scan, "b.pdf": other}))
	status, raw = e.do("client_admin", "POST", "/api/v1/projects/{inv}/batches?deadline=2099-01-01T00:00:00Z", body, ctype)
	if status != 201 {
		t.Fatalf("upload with files: %d %s", status, raw)
	}
	var b struct {
		Tasks    int    `json:"tasks"`
		Deadline string `json:"deadline"`
	}
	json.Unmarshal(raw, &b)
	if b.Tasks != 3 || !strings.HasPrefix(b.Deadline, "2099-01-01") {
		t.Fatalf("batch: %s", raw)
	}

	// A worker's offer lists the file; its URL serves it, in ranges too,
	// and only to that worker while the task is in hand.
	got := map[string]bool{}
	for range 3 {
		status, raw = e.do("worker1", "POST", "/api/v1/work/next", map[string]string{"project_id": e.ids["inv"]}, "")
		if status != 200 {
			t.Fatalf("next: %d %s", status, raw)
		}
		var off struct {
			AssignmentID string `json:"assignment_id"`
			Task         struct {
				Files []struct {
					Field, Name, URL string
					Size             int64
				} `json:"files"`
			} `json:"task"`
		}
		json.Unmarshal(raw, &off)
		if len(off.Task.Files) != 1 || off.Task.Files[0].Field != "scan" {
			t.Fatalf("offer files: %s", raw)
		}
		f := off.Task.Files[0]
		want := scan
		if f.Name == "b.pdf" {
			want = other
		}
		got[f.Name] = true
		if f.Size != int64(len(want)) {
			t.Fatalf("size %d, want %d", f.Size, len(want))
		}
		if status, data := e.do("worker1", "GET", f.URL, nil, ""); status != 200 || !bytes.Equal(data, want) {
			t.Fatalf("file: %d, %d bytes", status, len(data))
		}
		if status, _ := e.do("worker2", "GET", f.URL, nil, ""); status != 404 {
			t.Fatalf("another worker fetched the file: %d", status)
		}
		req, _ := http.NewRequest("GET", e.url+f.URL, nil)
		req.Header.Set("Authorization", "Bearer "+e.tokens["worker1"])
		req.Header.Set("Range", "bytes=5-")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		part, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 206 || !bytes.Equal(part, want[5:]) {
			t.Fatalf("range: %d, %d bytes", resp.StatusCode, len(part))
		}
		e.must("worker1", "POST", "/api/v1/assignments/"+off.AssignmentID+"/answer",
			map[string]any{"answer": map[string]any{"fields": map[string]string{"total": "10"}}, "duration_ms": 5000}, 200)
		if status, _ := e.do("worker1", "GET", f.URL, nil, ""); status != 404 {
			t.Fatalf("file served after the answer: %d", status)
		}
	}
	if !got["dir/a.pdf"] || !got["b.pdf"] {
		t.Fatalf("files offered: %v", got)
	}
	// Bad deadlines are named.
	for _, d := range []string{"tomorrow", "2001-01-01T00:00:00Z"} {
		body, ctype = multipartOf(t, "rows.csv", "scan\nb.pdf\n", zipOf(t, map[string][]byte{"b.pdf": other}))
		status, raw = e.do("client_admin", "POST", fmt.Sprintf("/api/v1/projects/{inv}/batches?deadline=%s", d), body, ctype)
		if status != 422 || !strings.Contains(string(raw), "deadline") {
			t.Fatalf("deadline %q: %d %s", d, status, raw)
		}
	}
}

// filesProject makes a project whose tasks name one file, scan, and saves
// its id as {inv}.
func filesProject(e *env) {
	e.t.Helper()
	proj := e.must("client_admin", "POST", "/api/v1/projects", map[string]any{
		"name": "invoices", "kind": "extract", "overlap": 1, "max_overlap": 1,
		"schema": map[string]any{"inputs": []string{"scan"}, "files": []string{"scan"},
			"fields": []map[string]any{{"name": "total", "type": "number", "required": true}}},
	}, 201)
	e.ids["inv"] = proj["id"].(string)
}

// A zip entry whose name could step outside the folder it is unpacked
// into, or that shows one thing and stores another, refuses the upload
// whole: 422 naming the entry, and no batch, no task and no file kept.
func TestBatchRefusesBadFileNames(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	filesProject(e)
	scan := []byte("%PDF-a scan that must not be kept")
	tests := []struct {
		name  string
		files map[string][]byte // a nil value makes a directory entry
		rows  string
		want  []string // in the problem's detail
	}{
		{"parent", map[string][]byte{"a.pdf": scan, "../../x": []byte("x")}, "scan\na.pdf\n", []string{`"../../x"`, `".." segment`}},
		{"parent inside a folder", map[string][]byte{"a.pdf": scan, "scans/../../x": []byte("x")}, "scan\na.pdf\n", []string{`"scans/../../x"`, `".." segment`}},
		{"absolute", map[string][]byte{"a.pdf": scan, "/etc/x": []byte("x")}, "scan\na.pdf\n", []string{`"/etc/x"`, "absolute path"}},
		{"backslash", map[string][]byte{"a.pdf": scan, `..\x`: []byte("x")}, "scan\na.pdf\n", []string{`"..\\x"`, "backslash"}},
		{"drive letter", map[string][]byte{"a.pdf": scan, "C:/x": []byte("x")}, "scan\na.pdf\n", []string{`"C:/x"`, "drive letter"}},
		{"control character", map[string][]byte{"a.pdf": scan, "b\x1b[2J.pdf": []byte("x")}, "scan\na.pdf\n", []string{`"b\x1b[2J.pdf"`, "control character (U+001B)"}},
		{"C1 control", map[string][]byte{"a.pdf": scan, "b\u0085.pdf": []byte("x")}, "scan\na.pdf\n", []string{`"b\u0085.pdf"`, "control character (U+0085)"}},
		{"invalid UTF-8", map[string][]byte{"a.pdf": scan, "caf\xe9.pdf": []byte("x")}, "scan\na.pdf\n", []string{`"caf\xe9.pdf"`, "UTF-8"}},
		{"empty", map[string][]byte{"a.pdf": scan, "": []byte("x")}, "scan\na.pdf\n", []string{`zip entry ""`, "names no file"}},
		{"only dot slash", map[string][]byte{"a.pdf": scan, "./": nil}, "scan\na.pdf\n", []string{`"./"`, "names no file"}},
		{"bad directory", map[string][]byte{"a.pdf": scan, "../d/": nil}, "scan\na.pdf\n", []string{`"../d/"`, `".." segment`}},
		{"names differing in case", map[string][]byte{"Scan.pdf": scan, "scan.pdf": []byte("x")}, "scan\nscan.pdf\n", []string{`"Scan.pdf"`, `"scan.pdf"`, "name one file"}},
		{"composed and decomposed", map[string][]byte{"caf\u00e9.pdf": scan, "cafe\u0301.pdf": []byte("x")}, "scan\ncaf\u00e9.pdf\n", []string{`"caf\u00e9.pdf"`, `"cafe\u0301.pdf"`, "name one file"}},
		{"dot slash and plain", map[string][]byte{"a.pdf": scan, "./a.pdf": []byte("x")}, "scan\na.pdf\n", []string{`"a.pdf"`, `"./a.pdf"`, "name one file"}},
		{"row naming a parent", map[string][]byte{"a.pdf": scan}, "scan\na.pdf\n../a.pdf\n", []string{"task 2", `"../a.pdf"`, `".." segment`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body, ctype := multipartOf(t, "rows.csv", tc.rows, zipOf(t, tc.files))
			status, raw := e.do("client_admin", "POST", "/api/v1/projects/{inv}/batches", body, ctype)
			var p struct{ Detail string }
			json.Unmarshal(raw, &p)
			if status != 422 {
				t.Fatalf("got %d %s, want 422", status, raw)
			}
			for _, w := range tc.want {
				if !strings.Contains(p.Detail, w) {
					t.Fatalf("got detail %s, want %s in it", p.Detail, w)
				}
			}
			nothingKept(t, e)
		})
	}
}

// nothingKept fails unless project {inv} has no batch, no task to offer,
// and the blob store holds no file.
func nothingKept(t *testing.T, e *env) {
	t.Helper()
	var list struct{ Items []any }
	status, raw := e.do("client_admin", "GET", "/api/v1/projects/{inv}/batches", nil, "")
	if json.Unmarshal(raw, &list); status != 200 || len(list.Items) != 0 {
		t.Fatalf("batches: got %d %s, want none", status, raw)
	}
	if status, raw := e.do("worker1", "POST", "/api/v1/work/next", map[string]string{"project_id": e.ids["inv"]}, ""); status != 204 {
		t.Fatalf("next: got %d %s, want 204 (no task)", status, raw)
	}
	var kept []string
	err := filepath.WalkDir(e.blobs, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			kept = append(kept, p)
		}
		return err
	})
	if err != nil || len(kept) != 0 {
		t.Fatalf("blob store: got %v, %v, want no files", kept, err)
	}
}

// Names reach workers in Unicode NFC whatever form the zip and the rows
// write them in, and a row finds its file in either form or case.
func TestBatchFileNamesNFC(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	filesProject(e)
	cafe, ete, bill := []byte("cafe scan"), []byte("ete scan"), []byte("bill scan")
	files := map[string][]byte{
		"factures/cafe\u0301.pdf": cafe, // decomposed in the zip
		"\u00e9t\u00e9.pdf":       ete,  // composed in the zip
		"चालान/बिल-१.pdf":         bill, // Hindi
	}
	rows := `{"scan":"factures/caf\u00e9.pdf"}` + "\n" + // composed in the row
		`{"scan":"e\u0301te\u0301.pdf"}` + "\n" + // decomposed in the row
		`{"scan":"./FACTURES/CAFE\u0301.PDF"}` + "\n" +
		`{"scan":"चालान/बिल-१.pdf"}` + "\n"
	body, ctype := multipartOf(t, "rows.jsonl", rows, zipOf(t, files))
	if status, raw := e.do("client_admin", "POST", "/api/v1/projects/{inv}/batches", body, ctype); status != 201 {
		t.Fatalf("upload: got %d %s, want 201", status, raw)
	}
	want := map[string][]byte{"factures/caf\u00e9.pdf": cafe, "\u00e9t\u00e9.pdf": ete, "चालान/बिल-१.pdf": bill}
	got := map[string]int{}
	for range 4 {
		status, raw := e.do("worker1", "POST", "/api/v1/work/next", map[string]string{"project_id": e.ids["inv"]}, "")
		if status != 200 {
			t.Fatalf("next: got %d %s, want 200", status, raw)
		}
		var off struct {
			AssignmentID string `json:"assignment_id"`
			Task         struct {
				Files []struct{ Name, URL string } `json:"files"`
			} `json:"task"`
		}
		json.Unmarshal(raw, &off)
		if len(off.Task.Files) != 1 {
			t.Fatalf("offer files: got %s, want one", raw)
		}
		f := off.Task.Files[0]
		data, ok := want[f.Name]
		if !ok {
			t.Fatalf("offered name: got %q, want one of %q", f.Name, slices.Sorted(maps.Keys(want)))
		}
		got[f.Name]++
		if status, served := e.do("worker1", "GET", f.URL, nil, ""); status != 200 || !bytes.Equal(served, data) {
			t.Fatalf("file %q: got %d %q, want 200 %q", f.Name, status, served, data)
		}
		e.must("worker1", "POST", "/api/v1/assignments/"+off.AssignmentID+"/answer",
			map[string]any{"answer": map[string]any{"fields": map[string]string{"total": "10"}}, "duration_ms": 5000}, 200)
	}
	if w := map[string]int{"factures/caf\u00e9.pdf": 2, "\u00e9t\u00e9.pdf": 1, "चालान/बिल-१.pdf": 1}; !maps.Equal(got, w) {
		t.Fatalf("offered names: got %v, want %v", got, w)
	}
}
