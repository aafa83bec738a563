package blob

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
)

// An encrypted store keeps nothing readable on disk, reads back any range
// of a file, resumes a download across a restart, and serves ranges.
func TestEncryptedStore(t *testing.T) {
	dir := t.TempDir()
	s, err := OpenEncrypted(dir, bytes.Repeat([]byte{3}, 32))
	if err != nil {
		t.Fatal(err)
	}
	data := make([]byte, 70_001) // not a whole number of blocks
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range data {
		data[i] = byte('a' + rng.IntN(26))
	}
	copy(data[1000:], "MARKER-SCAN-CONTENT")
	sum, size, _, err := s.Put(bytes.NewReader(data), 1<<20)
	if err != nil || sum != sumOf(data) || size != int64(len(data)) {
		t.Fatalf("put: %s %d %v", sum, size, err)
	}
	raw, err := os.ReadFile(s.Path(sum))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, []byte("MARKER-SCAN")) || bytes.Contains(raw, data[:64]) {
		t.Fatal("the file on disk holds plain content")
	}
	if n, err := s.Size(sum); err != nil || n != int64(len(data)) {
		t.Fatalf("size: %d %v", n, err)
	}
	f, err := s.Open(sum)
	if err != nil {
		t.Fatal(err)
	}
	for _, off := range []int64{0, 1, 15, 16, 17, 4095, 40_000, int64(len(data)) - 3} {
		if _, err := f.Seek(off, io.SeekStart); err != nil {
			t.Fatal(err)
		}
		got := make([]byte, 100)
		n, _ := io.ReadFull(f, got)
		if want := data[off:min(off+100, int64(len(data)))]; !bytes.Equal(got[:n], want) {
			t.Fatalf("at %d: read %q, want %q", off, got[:n], want)
		}
	}
	f.Close()

	// Served with a range, as the desk's media player asks.
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/f", nil)
	req.Header.Set("Range", "bytes=1000-1018")
	if err := s.Serve(rec, req, sum, "image/png"); err != nil {
		t.Fatal(err)
	}
	if rec.Code != http.StatusPartialContent || rec.Body.String() != "MARKER-SCAN-CONTENT" {
		t.Fatalf("range: %d %q", rec.Code, rec.Body.String())
	}

	// A download cut halfway resumes where it stopped, restarts when the
	// server sends the whole file, and is verified at the end.
	other := append([]byte("second file "), data[:30_000]...)
	osum := sumOf(other)
	p, err := s.Resume(osum)
	if err != nil {
		t.Fatal(err)
	}
	p.Write(other[:12_345])
	p.Close()
	if p, err = s.Resume(osum); err != nil || p.Have() != 12_345 {
		t.Fatalf("resume: have %d, %v", p.Have(), err)
	}
	p.Write(other[12_345:])
	if err := p.Commit(); err != nil {
		t.Fatalf("commit: %v", err)
	}
	g, _ := s.Open(osum)
	back, _ := io.ReadAll(g)
	g.Close()
	if !bytes.Equal(back, other) {
		t.Fatal("resumed file reads back different")
	}
	p, _ = s.Resume(sumOf([]byte("third")))
	p.Write([]byte("thi"))
	if err := p.Restart(); err != nil || p.Have() != 0 {
		t.Fatalf("restart: %d %v", p.Have(), err)
	}
	p.Write([]byte("third"))
	if err := p.Commit(); err != nil {
		t.Fatalf("commit after restart: %v", err)
	}
	bad, _ := s.Resume(sumOf([]byte("fourth")))
	bad.Write([]byte("forth"))
	if err := bad.Commit(); !errors.Is(err, ErrMismatch) {
		t.Fatalf("a wrong download: %v", err)
	}

	// The same directory opened with another key, or plain, reads nothing.
	wrong, _ := OpenEncrypted(dir, bytes.Repeat([]byte{4}, 32))
	w, err := wrong.Open(sum)
	if err == nil {
		got, _ := io.ReadAll(w)
		w.Close()
		if bytes.Equal(got, data) {
			t.Fatal("another key read the file")
		}
	}
	plain, _ := Open(dir)
	pf, _ := plain.Open(sum)
	pr, _ := io.ReadAll(pf)
	pf.Close()
	if bytes.Contains(pr, []byte("MARKER-SCAN")) {
		t.Fatal("a plain store read the content")
	}
	if files, _ := filepath.Glob(filepath.Join(dir, "partial", "*")); len(files) != 0 {
		t.Fatalf("partial downloads left behind: %v", files)
	}
}
