package blob

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"testing"
)

func sumOf(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func TestPutIsContentAddressed(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	data := bytes.Repeat([]byte("scan"), 1000)
	sum, size, created, err := s.Put(bytes.NewReader(data), 1<<20)
	if err != nil || sum != sumOf(data) || size != int64(len(data)) || !created {
		t.Fatalf("put: %s %d %v %v", sum, size, created, err)
	}
	if _, _, created, err := s.Put(bytes.NewReader(data), 1<<20); err != nil || created {
		t.Fatalf("second put: created=%v err=%v", created, err)
	}
	f, err := s.Open(sum)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(f)
	f.Close()
	if !bytes.Equal(got, data) {
		t.Fatal("read back differs")
	}
	if _, _, _, err := s.Put(bytes.NewReader(data), 100); err == nil {
		t.Fatal("a file over the limit was stored")
	}
	if err := s.Remove(sum); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Size(sum); !errors.Is(err, ErrNotFound) {
		t.Fatalf("after remove: %v", err)
	}
	if _, err := s.Open("../../etc/passwd"); err == nil {
		t.Fatal("a path that is not a hash was opened")
	}
}

func TestResumeAndVerify(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	data := bytes.Repeat([]byte("recording "), 5000)
	sum := sumOf(data)
	p, err := s.Resume(sum)
	if err != nil {
		t.Fatal(err)
	}
	p.Write(data[:12345])
	p.Close()
	// A restart finds the bytes already fetched.
	p, err = s.Resume(sum)
	if err != nil {
		t.Fatal(err)
	}
	if p.Have() != 12345 {
		t.Fatalf("have %d after resume, want 12345", p.Have())
	}
	p.Write(data[12345:])
	if err := p.Commit(); err != nil {
		t.Fatal(err)
	}
	if n, err := s.Size(sum); err != nil || n != int64(len(data)) {
		t.Fatalf("committed: %d %v", n, err)
	}

	// A corrupt download is refused and thrown away.
	bad := sumOf([]byte("what the hub meant"))
	p, _ = s.Resume(bad)
	p.Write([]byte("what arrived"))
	if err := p.Commit(); !errors.Is(err, ErrMismatch) {
		t.Fatalf("commit of a corrupt file: %v", err)
	}
	if _, err := s.Size(bad); !errors.Is(err, ErrNotFound) {
		t.Fatal("a corrupt file was kept")
	}
	if _, err := os.Stat(s.partialPath(bad)); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("a corrupt partial download was kept")
	}
}
