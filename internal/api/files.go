package api

import (
	"archive/zip"
	"encoding/json"
	"errors"
	"io"
	"iter"
	"mime"
	"mime/multipart"
	"net/http"
	"os"
	"path"
	"strings"

	"banyan/internal/auth"
	"banyan/internal/blob"
	"banyan/internal/ingest"
	"banyan/internal/store"
)

// MaxFileBytes caps one attachment.
const MaxFileBytes = 256 << 20

// bundle is a batch upload that brings a zip of the files its rows name.
type bundle struct {
	zipFile *os.File
	zr      *zip.Reader
	entries map[string]*zip.File
}

func (b *bundle) Close() {
	if b.zipFile != nil {
		b.zipFile.Close()
		os.Remove(b.zipFile.Name())
	}
}

// readMultipart reads a multipart batch upload: the part "rows" is the
// batch file (CSV or JSONL, by the part's Content-Type or file name, or
// ?format=), the part "files" a zip of the attachments. The rows are
// spooled and checked as they arrive; the zip is kept in a temporary file
// to be read by name.
func (a *API) readMultipart(r *http.Request, body io.Reader, boundary, formatHint string, spec ingest.Spec) (*ingest.Spool, *bundle, error) {
	mr := multipart.NewReader(body, boundary)
	var spool *ingest.Spool
	b := &bundle{}
	fail := func(err error) (*ingest.Spool, *bundle, error) {
		if spool != nil {
			spool.Close()
		}
		b.Close()
		return nil, nil, err
	}
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fail(problem(http.StatusBadRequest, "the multipart body is broken: %v", err))
		}
		switch part.FormName() {
		case "rows":
			if spool != nil {
				return fail(problem(http.StatusBadRequest, "send one part named rows"))
			}
			hint := formatHint
			if hint == "" {
				hint = part.Header.Get("Content-Type")
				switch ext := strings.ToLower(path.Ext(part.FileName())); {
				case hint == "" || hint == "application/octet-stream":
					hint = strings.TrimPrefix(ext, ".")
				}
			}
			format, err := ingest.ParseFormat(hint)
			if err != nil {
				return fail(problem(http.StatusUnsupportedMediaType, "rows: %v (or name the file .csv or .jsonl, or add ?format=)", err))
			}
			if spool, err = ingest.NewSpool(part, format, spec, a.Limits, a.SpoolDir); err != nil {
				return fail(err)
			}
		case "files":
			if b.zipFile != nil {
				return fail(problem(http.StatusBadRequest, "send one part named files (a zip of every file the rows name)"))
			}
			f, err := os.CreateTemp(a.SpoolDir, "files-*.zip")
			if err != nil {
				return fail(err)
			}
			b.zipFile = f
			n, err := io.Copy(f, part)
			if err != nil {
				return fail(err)
			}
			if b.zr, err = zip.NewReader(f, n); err != nil {
				return fail(problem(http.StatusBadRequest, "files: not a zip archive: %v", err))
			}
			b.entries = map[string]*zip.File{}
			for _, e := range b.zr.File {
				if e.FileInfo().IsDir() {
					continue
				}
				name := path.Clean(strings.TrimPrefix(e.Name, "./"))
				if _, dup := b.entries[name]; dup {
					return fail(problem(http.StatusUnprocessableEntity, "files: %q is in the zip twice", name))
				}
				b.entries[name] = e
			}
		default:
			return fail(problem(http.StatusBadRequest, "unexpected part %q: send rows (the batch file) and files (a zip)", part.FormName()))
		}
	}
	if spool == nil {
		return fail(problem(http.StatusBadRequest, "no part named rows: send the batch file as rows and the zip as files"))
	}
	if b.zipFile == nil {
		b = nil
	}
	return spool, b, nil
}

// attach checks that every row names files the zip holds, stores those
// files in the blob store, and returns the tasks with their attachments.
// On an error, files it added to the store are removed again.
func (a *API) attach(spool *ingest.Spool, b *bundle, fields []string) (tasks []store.NewTask, err error) {
	var added []string
	defer func() {
		if err != nil {
			for _, sum := range added {
				a.Blobs.Remove(sum)
			}
		}
	}()
	stored := map[string]store.TaskFile{} // by name in the zip
	row := 0
	for t, err := range spool.All() {
		if err != nil {
			return nil, err
		}
		row++
		var payload map[string]any
		if err := json.Unmarshal(t.Payload, &payload); err != nil {
			return nil, err
		}
		for _, field := range fields {
			v, _ := payload[field].(string)
			name := path.Clean(strings.TrimPrefix(strings.TrimSpace(v), "./"))
			f, ok := stored[name]
			if !ok {
				e := b.entries[name]
				if e == nil {
					return nil, problem(http.StatusUnprocessableEntity, "task %d: %s names %q, which is not in the zip", row, field, v)
				}
				if e.UncompressedSize64 > MaxFileBytes {
					return nil, problem(http.StatusRequestEntityTooLarge, "files: %q is over %d MiB", name, MaxFileBytes>>20)
				}
				rc, err := e.Open()
				if err != nil {
					return nil, problem(http.StatusBadRequest, "files: %q: %v", name, err)
				}
				sum, size, created, err := a.Blobs.Put(rc, MaxFileBytes)
				rc.Close()
				if err != nil {
					return nil, problem(http.StatusBadRequest, "files: %q: %v", name, err)
				}
				if created {
					added = append(added, sum)
				}
				f = store.TaskFile{Name: name, SHA256: sum, Size: size, MediaType: mediaType(name)}
				stored[name] = f
			}
			f.Field = field
			t.Files = append(t.Files, f)
		}
		tasks = append(tasks, t)
	}
	return tasks, nil
}

// mediaType guesses a file's media type from its name.
func mediaType(name string) string {
	if t := mime.TypeByExtension(strings.ToLower(path.Ext(name))); t != "" {
		return t
	}
	return "application/octet-stream"
}

// assignmentFile serves an attachment of a worker's task in hand; Range
// requests are honoured, so a slow link can resume.
func (a *API) assignmentFile(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if p.Role != auth.Worker {
		return errForbidden
	}
	f, err := a.Store.AssignmentFile(r.Context(), r.PathValue("id"), p.UserID, r.PathValue("field"))
	if err != nil {
		return hidden(err, "file")
	}
	return ServeBlob(w, r, a.Blobs, f)
}

// ServeBlob serves a stored file with Range support, under its SHA-256
// as the ETag.
func ServeBlob(w http.ResponseWriter, r *http.Request, blobs *blob.Store, f store.TaskFile) error {
	return blobs.Serve(w, r, f.SHA256, f.MediaType)
}

// each yields the tasks of a list.
func each(list []store.NewTask) iter.Seq2[store.NewTask, error] {
	return func(yield func(store.NewTask, error) bool) {
		for _, t := range list {
			if !yield(t, nil) {
				return
			}
		}
	}
}
