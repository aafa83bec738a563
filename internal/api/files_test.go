package api_test

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
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
