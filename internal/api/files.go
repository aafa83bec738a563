package api

import (
	"archive/zip"
	"compress/flate"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"mime"
	"mime/multipart"
	"net/http"
	"os"
	"path"
	"strconv"
	"strings"

	"golang.org/x/text/unicode/norm"

	"banyan/internal/auth"
	"banyan/internal/blob"
	"banyan/internal/ingest"
	"banyan/internal/problem"
	"banyan/internal/project"
)

// MaxFileBytes caps one attachment.
const MaxFileBytes = 256 << 20

// bundle is a batch upload that brings a zip of the files its rows name.
type bundle struct {
	zipFile *os.File
	zr      *zip.Reader
	entries map[string]zipEntry // by ingest.FileKey of the name
}

// zipEntry is a file in a bundle's zip under the name tasks keep for it
// (ingest.FileName of the entry's name).
type zipEntry struct {
	name string
	file *zip.File
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
// to be read by name. A zip with a name ingest.FileName refuses, or with
// two names that are one by ingest.FileKey, is refused whole.
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
			return fail(problem.New(http.StatusBadRequest, "the multipart body is broken: %v", err))
		}
		switch part.FormName() {
		case "rows":
			if spool != nil {
				return fail(problem.New(http.StatusBadRequest, "send one part named rows"))
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
				return fail(problem.New(http.StatusUnsupportedMediaType, "rows: %v (or name the file .csv or .jsonl, or add ?format=)", err))
			}
			if spool, err = ingest.NewSpool(part, format, spec, a.Limits, a.SpoolDir); err != nil {
				return fail(err)
			}
		case "files":
			if b.zipFile != nil {
				return fail(problem.New(http.StatusBadRequest, "send one part named files (a zip of every file the rows name)"))
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
			// Names are checked below, whatever GODEBUG=zipinsecurepath says.
			if b.zr, err = zip.NewReader(f, n); err != nil && !errors.Is(err, zip.ErrInsecurePath) {
				return fail(problem.New(http.StatusBadRequest, "files: not a zip archive: %v", err))
			}
			b.entries = map[string]zipEntry{}
			for _, e := range b.zr.File {
				name, err := ingest.FileName(e.Name)
				if err != nil {
					return fail(problem.New(http.StatusUnprocessableEntity, "files: the upload was refused whole and nothing was stored: the zip entry %q %s", e.Name, nameReason(err)))
				}
				if e.FileInfo().IsDir() {
					continue
				}
				key := ingest.FileKey(name)
				if prev, dup := b.entries[key]; dup {
					if prev.file.Name == e.Name {
						return fail(problem.New(http.StatusUnprocessableEntity, "files: the upload was refused whole and nothing was stored: the zip entry %q is in the zip twice", e.Name))
					}
					// Names apart only in Unicode form look alike quoted
					// plainly; then they are spelled out in ASCII.
					q1, q2 := strconv.Quote(prev.file.Name), strconv.Quote(e.Name)
					if norm.NFC.String(prev.file.Name) == norm.NFC.String(e.Name) {
						q1, q2 = strconv.QuoteToASCII(prev.file.Name), strconv.QuoteToASCII(e.Name)
					}
					return fail(problem.New(http.StatusUnprocessableEntity, "files: the upload was refused whole and nothing was stored: the zip entries %s and %s name one file (names are compared regardless of case and Unicode form): rename or drop one", q1, q2))
				}
				b.entries[key] = zipEntry{name, e}
			}
		default:
			return fail(problem.New(http.StatusBadRequest, "unexpected part %q: send rows (the batch file) and files (a zip)", part.FormName()))
		}
	}
	if spool == nil {
		return fail(problem.New(http.StatusBadRequest, "no part named rows: send the batch file as rows and the zip as files"))
	}
	if b.zipFile == nil {
		b = nil
	}
	return spool, b, nil
}

// attach checks that every row names files the zip holds, stores those
// files in the blob store, and returns the tasks with their attachments.
// On an error, files it added to the store are removed again.
func (a *API) attach(spool *ingest.Spool, b *bundle, fields []string) (tasks []project.NewTask, err error) {
	var added []string
	defer func() {
		if err != nil {
			for _, sum := range added {
				a.Blobs.Remove(sum)
			}
		}
	}()
	stored := map[string]project.TaskFile{} // by ingest.FileKey of the name
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
			name, err := ingest.FileName(strings.TrimSpace(v))
			if err != nil {
				return nil, problem.New(http.StatusUnprocessableEntity, "task %d: %s names %q, which %s", row, field, v, nameReason(err))
			}
			key := ingest.FileKey(name)
			f, ok := stored[key]
			if !ok {
				ze, ok := b.entries[key]
				if !ok {
					return nil, problem.New(http.StatusUnprocessableEntity, "task %d: %s names %q, which is not in the zip", row, field, v)
				}
				e := ze.file
				name = ze.name
				if e.UncompressedSize64 > MaxFileBytes {
					return nil, problem.New(http.StatusRequestEntityTooLarge, "files: %q is over %d MiB", name, MaxFileBytes>>20)
				}
				rc, err := e.Open()
				if err != nil {
					return nil, problem.New(http.StatusBadRequest, "files: %q: %v", name, err)
				}
				sum, size, created, err := a.Blobs.Put(rc, MaxFileBytes)
				rc.Close()
				var corrupt flate.CorruptInputError
				switch {
				case errors.Is(err, zip.ErrChecksum), errors.Is(err, zip.ErrFormat), errors.As(err, &corrupt):
					return nil, problem.New(http.StatusBadRequest, "files: %q is damaged in the zip; zip the files again", name)
				case errors.Is(err, blob.ErrTooLarge):
					return nil, problem.New(http.StatusRequestEntityTooLarge, "files: %q is over %d MiB", name, MaxFileBytes>>20)
				case err != nil:
					// The hub's own disk: logged, not told.
					return nil, fmt.Errorf("api: store attachment: %w", err)
				}
				if created {
					added = append(added, sum)
				}
				f = project.TaskFile{Name: name, SHA256: sum, Size: size, MediaType: mediaType(name)}
				stored[key] = f
			}
			f.Field = field
			t.Files = append(t.Files, f)
		}
		tasks = append(tasks, t)
	}
	return tasks, nil
}

// nameReason is what is wrong with a name ingest.FileName refused, to
// follow the name in a message.
func nameReason(err error) string {
	if fe, ok := errors.AsType[*ingest.FileNameError](err); ok {
		return fe.Reason
	}
	return "is refused: " + err.Error()
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
	f, err := a.Desk.File(r.Context(), p.UserID, r.PathValue("id"), r.PathValue("field"))
	if err != nil {
		return hidden(err, "file")
	}
	return a.Blobs.Serve(w, r, f.SHA256, f.MediaType)
}

// each yields the tasks of a list.
func each(list []project.NewTask) iter.Seq2[project.NewTask, error] {
	return func(yield func(project.NewTask, error) bool) {
		for _, t := range list {
			if !yield(t, nil) {
				return
			}
		}
	}
}
