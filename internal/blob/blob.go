// Package blob keeps files (scans, images, recordings that tasks refer to)
// on disk, named by the SHA-256 of their content. A name says what a file
// holds, so a file is stored once however many tasks name it, a copy can
// be checked against its name, and a half-fetched file can be resumed and
// verified at the end.
//
// Layout under the directory: ab/cdef… for a whole file (the first two hex
// digits make a subdirectory), tmp/ for files being written, partial/ for
// downloads in progress.
package blob

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

// Store is a directory of content-addressed files.
type Store struct {
	dir string
}

// ErrNotFound means no file with that hash is stored.
var ErrNotFound = errors.New("blob: not stored")

// ErrMismatch means a file's content does not hash to the name it was
// given.
var ErrMismatch = errors.New("blob: content does not match its SHA-256")

// Open opens (creating if need be) the store in dir.
func Open(dir string) (*Store, error) {
	for _, d := range []string{dir, filepath.Join(dir, "tmp"), filepath.Join(dir, "partial")} {
		if err := os.MkdirAll(d, 0o750); err != nil {
			return nil, fmt.Errorf("blob: %w", err)
		}
	}
	return &Store{dir: dir}, nil
}

// ValidSum reports whether s is a SHA-256 in lower-case hex.
func ValidSum(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// Path is where the file with hash sum is kept.
func (s *Store) Path(sum string) string {
	return filepath.Join(s.dir, sum[:2], sum[2:])
}

// Size returns the size of a stored file, or ErrNotFound.
func (s *Store) Size(sum string) (int64, error) {
	if !ValidSum(sum) {
		return 0, fmt.Errorf("blob: %q is not a SHA-256", sum)
	}
	fi, err := os.Stat(s.Path(sum))
	if errors.Is(err, fs.ErrNotExist) {
		return 0, ErrNotFound
	}
	if err != nil {
		return 0, fmt.Errorf("blob: %w", err)
	}
	return fi.Size(), nil
}

// Open opens a stored file for reading.
func (s *Store) Open(sum string) (*os.File, error) {
	if !ValidSum(sum) {
		return nil, fmt.Errorf("blob: %q is not a SHA-256", sum)
	}
	f, err := os.Open(s.Path(sum))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNotFound
	}
	return f, err
}

// Put stores what r holds, up to limit bytes (more is an error), and
// returns its hash and size. created is false when the store held the file
// already. The file is synced to disk before it takes its name.
func (s *Store) Put(r io.Reader, limit int64) (sum string, size int64, created bool, err error) {
	tmp, err := os.CreateTemp(filepath.Join(s.dir, "tmp"), "put-*")
	if err != nil {
		return "", 0, false, fmt.Errorf("blob: %w", err)
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	defer tmp.Close()
	h := sha256.New()
	size, err = io.Copy(io.MultiWriter(tmp, h), io.LimitReader(r, limit+1))
	if err != nil {
		return "", 0, false, fmt.Errorf("blob: %w", err)
	}
	if size > limit {
		return "", 0, false, fmt.Errorf("blob: the file is over %d bytes", limit)
	}
	sum = hex.EncodeToString(h.Sum(nil))
	if _, err := s.Size(sum); err == nil {
		return sum, size, false, nil
	}
	if err := s.place(tmp, sum); err != nil {
		return "", 0, false, err
	}
	return sum, size, true, nil
}

// place syncs f and renames it to sum's path.
func (s *Store) place(f *os.File, sum string) error {
	if err := f.Sync(); err != nil {
		return fmt.Errorf("blob: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("blob: %w", err)
	}
	dst := s.Path(sum)
	if err := os.MkdirAll(filepath.Dir(dst), 0o750); err != nil {
		return fmt.Errorf("blob: %w", err)
	}
	if err := os.Rename(f.Name(), dst); err != nil {
		return fmt.Errorf("blob: %w", err)
	}
	return syncDir(filepath.Dir(dst))
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("blob: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("blob: %w", err)
	}
	return nil
}

// Remove deletes a stored file; removing one not stored is not an error.
func (s *Store) Remove(sum string) error {
	if !ValidSum(sum) {
		return fmt.Errorf("blob: %q is not a SHA-256", sum)
	}
	if err := os.Remove(s.Path(sum)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("blob: %w", err)
	}
	os.Remove(s.partialPath(sum))
	return nil
}

func (s *Store) partialPath(sum string) string { return filepath.Join(s.dir, "partial", sum) }

// Partial is a download in progress: bytes already fetched are kept
// across restarts, so a cut link costs only what was in flight.
type Partial struct {
	s    *Store
	sum  string
	f    *os.File
	have int64
}

// Resume opens (or starts) the partial download of sum. Have says how many
// bytes are already on disk, so the caller asks only for the rest.
func (s *Store) Resume(sum string) (*Partial, error) {
	if !ValidSum(sum) {
		return nil, fmt.Errorf("blob: %q is not a SHA-256", sum)
	}
	f, err := os.OpenFile(s.partialPath(sum), os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("blob: %w", err)
	}
	have, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("blob: %w", err)
	}
	return &Partial{s: s, sum: sum, f: f, have: have}, nil
}

// Have is how many bytes are on disk.
func (p *Partial) Have() int64 { return p.have }

// Write appends to the download.
func (p *Partial) Write(b []byte) (int, error) {
	n, err := p.f.Write(b)
	p.have += int64(n)
	return n, err
}

// Restart throws away what was fetched (the server sent the whole file
// rather than the rest).
func (p *Partial) Restart() error {
	if err := p.f.Truncate(0); err != nil {
		return fmt.Errorf("blob: %w", err)
	}
	if _, err := p.f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("blob: %w", err)
	}
	p.have = 0
	return nil
}

// Close keeps what was fetched for a later Resume.
func (p *Partial) Close() error { return p.f.Close() }

// Commit checks the whole download against its hash and, when it matches,
// makes it a stored file. On a mismatch the download is thrown away, so
// the next try starts clean, and ErrMismatch is returned.
func (p *Partial) Commit() error {
	if _, err := p.f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("blob: %w", err)
	}
	h := sha256.New()
	if _, err := io.Copy(h, p.f); err != nil {
		return fmt.Errorf("blob: %w", err)
	}
	if hex.EncodeToString(h.Sum(nil)) != p.sum {
		p.f.Close()
		os.Remove(p.f.Name())
		return fmt.Errorf("%w: %s", ErrMismatch, p.sum)
	}
	return p.s.place(p.f, p.sum)
}

// Serve sends a stored file over HTTP, with Range support and its SHA-256
// as the ETag: the same bytes are at the same name for good, so a browser
// or a center may cache them without asking again.
func (s *Store) Serve(w http.ResponseWriter, r *http.Request, sum, mediaType string) error {
	if s == nil {
		return fmt.Errorf("blob: no store for attachments")
	}
	file, err := s.Open(sum)
	if err != nil {
		return err
	}
	defer file.Close()
	h := w.Header()
	h.Set("Content-Type", mediaType)
	h.Set("ETag", `"`+sum+`"`)
	h.Set("Cache-Control", "private, max-age=31536000, immutable")
	http.ServeContent(w, r, "", time.Time{}, file)
	return nil
}
