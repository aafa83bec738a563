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
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

// Store is a directory of content-addressed files.
type Store struct {
	dir string
	// block, when set, encrypts the files at rest (see OpenEncrypted).
	block cipher.Block
}

// ErrNotFound means no file with that hash is stored.
var ErrNotFound = errors.New("blob: not stored")

// ErrTooLarge means a file was over the size Put was given.
var ErrTooLarge = errors.New("blob: file too large")

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

// OpenEncrypted opens the store in dir with its files encrypted at rest
// under a key derived from secret (a village center's database key): each
// file starts with a random nonce, and its content follows in AES-256-CTR,
// so a range of it can be read without the rest. Names stay the SHA-256
// of the plain content.
func OpenEncrypted(dir string, secret []byte) (*Store, error) {
	s, err := Open(dir)
	if err != nil {
		return nil, err
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte("banyan attachments at rest"))
	if s.block, err = aes.NewCipher(mac.Sum(nil)); err != nil {
		return nil, fmt.Errorf("blob: %w", err)
	}
	return s, nil
}

// An encrypted file's header: a magic string and the nonce.
const (
	magic     = "BNYBLOB1"
	headerLen = len(magic) + aes.BlockSize
)

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
	if s.block != nil {
		return fi.Size() - int64(headerLen), nil
	}
	return fi.Size(), nil
}

// File is a stored file open for reading.
type File interface {
	io.ReadSeekCloser
}

// Open opens a stored file for reading (decrypting it, in an encrypted
// store).
func (s *Store) Open(sum string) (File, error) {
	if !ValidSum(sum) {
		return nil, fmt.Errorf("blob: %q is not a SHA-256", sum)
	}
	f, err := os.Open(s.Path(sum))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNotFound
	}
	if err != nil || s.block == nil {
		return f, err
	}
	iv, err := readHeader(f)
	if err != nil {
		f.Close()
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("blob: %w", err)
	}
	return &plainReader{f: f, block: s.block, iv: iv, size: fi.Size() - int64(headerLen)}, nil
}

// readHeader checks an encrypted file's header and returns its nonce.
func readHeader(f *os.File) ([]byte, error) {
	h := make([]byte, headerLen)
	if _, err := f.ReadAt(h, 0); err != nil || string(h[:len(magic)]) != magic {
		return nil, fmt.Errorf("blob: %s is not an encrypted attachment", filepath.Base(f.Name()))
	}
	return h[len(magic):], nil
}

// newHeader starts an encrypted file: the magic string and a new nonce.
func newHeader() ([]byte, []byte, error) {
	h := make([]byte, headerLen)
	copy(h, magic)
	if _, err := rand.Read(h[len(magic):]); err != nil {
		return nil, nil, fmt.Errorf("blob: %w", err)
	}
	return h, h[len(magic):], nil
}

// streamAt is the CTR key stream of iv from byte offset on.
func streamAt(block cipher.Block, iv []byte, offset int64) cipher.Stream {
	ctr := new(big.Int).SetBytes(iv)
	ctr.Add(ctr, big.NewInt(offset/aes.BlockSize))
	b := ctr.Bytes()
	counter := make([]byte, aes.BlockSize)
	if len(b) > aes.BlockSize {
		b = b[len(b)-aes.BlockSize:] // the counter wraps, as CTR's does
	}
	copy(counter[aes.BlockSize-len(b):], b)
	s := cipher.NewCTR(block, counter)
	if skip := int(offset % aes.BlockSize); skip > 0 {
		s.XORKeyStream(make([]byte, skip), make([]byte, skip))
	}
	return s
}

// plainReader reads an encrypted file as its plain content.
type plainReader struct {
	f     *os.File
	block cipher.Block
	iv    []byte
	size  int64
	pos   int64
}

func (p *plainReader) Read(b []byte) (int, error) {
	if p.pos >= p.size {
		return 0, io.EOF
	}
	if rest := p.size - p.pos; int64(len(b)) > rest {
		b = b[:rest]
	}
	n, err := p.f.ReadAt(b, int64(headerLen)+p.pos)
	streamAt(p.block, p.iv, p.pos).XORKeyStream(b[:n], b[:n])
	p.pos += int64(n)
	if err == io.EOF && n > 0 {
		err = nil
	}
	return n, err
}

func (p *plainReader) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekCurrent:
		offset += p.pos
	case io.SeekEnd:
		offset += p.size
	}
	if offset < 0 {
		return 0, fmt.Errorf("blob: seek before the start")
	}
	p.pos = offset
	return offset, nil
}

func (p *plainReader) Close() error { return p.f.Close() }

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
	var out io.Writer = tmp
	if s.block != nil {
		header, iv, err := newHeader()
		if err != nil {
			return "", 0, false, err
		}
		if _, err := tmp.Write(header); err != nil {
			return "", 0, false, fmt.Errorf("blob: %w", err)
		}
		out = cipher.StreamWriter{S: streamAt(s.block, iv, 0), W: tmp}
	}
	size, err = io.Copy(io.MultiWriter(out, h), io.LimitReader(r, limit+1))
	if err != nil {
		return "", 0, false, fmt.Errorf("blob: %w", err)
	}
	if size > limit {
		return "", 0, false, fmt.Errorf("blob: the file is over %d bytes: %w", limit, ErrTooLarge)
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
	iv   []byte // an encrypted store's nonce for this file
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
	p := &Partial{s: s, sum: sum, f: f, have: have}
	if s.block != nil {
		if have < int64(headerLen) {
			if err := p.startEncrypted(); err != nil {
				f.Close()
				return nil, err
			}
		} else if p.iv, err = readHeader(f); err != nil {
			f.Close()
			return nil, err
		}
		p.have -= int64(headerLen)
	}
	return p, nil
}

// startEncrypted begins an encrypted download afresh: a header with a new
// nonce, nothing after it.
func (p *Partial) startEncrypted() error {
	header, iv, err := newHeader()
	if err != nil {
		return err
	}
	if err := p.f.Truncate(0); err != nil {
		return fmt.Errorf("blob: %w", err)
	}
	if _, err := p.f.WriteAt(header, 0); err != nil {
		return fmt.Errorf("blob: %w", err)
	}
	if _, err := p.f.Seek(0, io.SeekEnd); err != nil {
		return fmt.Errorf("blob: %w", err)
	}
	p.iv, p.have = iv, int64(headerLen)
	return nil
}

// Have is how many bytes are on disk.
func (p *Partial) Have() int64 { return p.have }

// Write appends to the download.
func (p *Partial) Write(b []byte) (int, error) {
	if p.s.block != nil {
		enc := make([]byte, len(b))
		streamAt(p.s.block, p.iv, p.have).XORKeyStream(enc, b)
		b = enc
	}
	n, err := p.f.Write(b)
	p.have += int64(n)
	return n, err
}

// Restart throws away what was fetched (the server sent the whole file
// rather than the rest).
func (p *Partial) Restart() error {
	if p.s.block != nil {
		if err := p.startEncrypted(); err != nil {
			return err
		}
		p.have = 0
		return nil
	}
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
	var content io.Reader = p.f
	if p.s.block != nil {
		content = &plainReader{f: p.f, block: p.s.block, iv: p.iv, size: p.have}
	}
	if _, err := io.Copy(h, content); err != nil {
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
