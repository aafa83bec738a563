package center

import (
	"bufio"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"banyan/internal/blob"
	"banyan/internal/store"
	"banyan/internal/uplink"
)

// A center's database can be encrypted at rest, so a stolen PC gives away
// no client's tasks and no worker's records. The key is kept off the disk
// the database is on: on a USB stick the manager brings in the morning, in
// a tmpfs such as /run filled at boot (a systemd credential), or typed in
// at the start (--db-key-file -).

// NewKey returns a new random database key, as hex.
func NewKey() (string, error) {
	k := make([]byte, store.KeySize)
	if _, err := cryptoRead(k); err != nil {
		return "", err
	}
	return hex.EncodeToString(k), nil
}

// LoadKey reads the database key named by cfg.KeyFile: a file holding the
// key's 64 hex digits, or "-" for standard input (stdin). A file on the
// same filesystem as the data directory is refused: a key next to the
// database locks nothing.
func LoadKey(cfg Config, stdin io.Reader) ([]byte, error) {
	var text string
	if cfg.KeyFile == "-" {
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("center: database key from standard input: %w", err)
		}
		text = line
	} else {
		dataDir := cfg.DataDir
		for {
			if _, err := os.Stat(dataDir); err == nil || filepath.Dir(dataDir) == dataDir {
				break
			}
			dataDir = filepath.Dir(dataDir) // not made yet: where it will be
		}
		same, err := sameFilesystem(cfg.KeyFile, dataDir)
		if err != nil {
			return nil, fmt.Errorf("center: database key file: %w", err)
		}
		if same {
			return nil, fmt.Errorf("center: the database key file %s is on the same disk as the data directory %s; keep it off that disk (a USB stick, or a tmpfs such as /run), or give it with --db-key-file -", cfg.KeyFile, cfg.DataDir)
		}
		raw, err := os.ReadFile(cfg.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("center: database key file: %w", err)
		}
		text = string(raw)
	}
	key, err := hex.DecodeString(strings.TrimSpace(text))
	if err != nil || len(key) != store.KeySize {
		return nil, fmt.Errorf("center: the database key must be %d hex digits (make one with 'banyan center keygen')", 2*store.KeySize)
	}
	return key, nil
}

// Encrypt turns an existing center's plain database and cached attachments
// into encrypted ones under key, for a center set up before it had a key.
// Stop the center first. The plain files are deleted once the encrypted
// copies are in place (their blocks may stay on the disk until written
// over). Partial downloads are dropped; they are fetched again.
func Encrypt(ctx context.Context, dataDir string, key []byte) error {
	db := filepath.Join(dataDir, "center.db")
	if _, err := os.Stat(db); err != nil {
		return fmt.Errorf("center: no database to encrypt in %s: %w", dataDir, err)
	}
	for _, stale := range []string{db + ".encrypting", filepath.Join(dataDir, "blobs.encrypting")} {
		if err := os.RemoveAll(stale); err != nil {
			return fmt.Errorf("center: %w", err)
		}
	}
	// The plain database must open, and hold what it holds, before and
	// after: the queue's counts are compared.
	plain, err := store.Open(ctx, db, store.Options{Migrate: true, Outbox: uplink.AppendOutbox})
	if err != nil {
		return fmt.Errorf("center: %w", err)
	}
	before, err := (&Local{Store: plain}).Queue(ctx)
	plain.Close()
	if err != nil {
		return fmt.Errorf("center: %w", err)
	}
	if err := store.EncryptCopy(ctx, db, db+".encrypting", key); err != nil {
		return err
	}
	enc, err := store.Open(ctx, db+".encrypting", store.Options{Outbox: uplink.AppendOutbox, Key: key})
	if err != nil {
		return fmt.Errorf("center: the encrypted copy does not open: %w", err)
	}
	after, err := (&Local{Store: enc}).Queue(ctx)
	enc.Close()
	if err != nil || after != before {
		return fmt.Errorf("center: the encrypted copy differs from the database (%+v, want %+v): %v", after, before, err)
	}
	// Each cached attachment is stored again, encrypted, and checked
	// against its name as it is.
	blobDir := filepath.Join(dataDir, "blobs")
	encBlobs, err := blob.OpenEncrypted(blobDir+".encrypting", key)
	if err != nil {
		return err
	}
	plainBlobs, err := blob.Open(blobDir)
	if err != nil {
		return err
	}
	shards, _ := os.ReadDir(blobDir)
	for _, shard := range shards {
		if !shard.IsDir() || len(shard.Name()) != 2 {
			continue // tmp/, partial/
		}
		files, err := os.ReadDir(filepath.Join(blobDir, shard.Name()))
		if err != nil {
			return fmt.Errorf("center: %w", err)
		}
		for _, f := range files {
			sum := shard.Name() + f.Name()
			if !blob.ValidSum(sum) {
				continue
			}
			r, err := plainBlobs.Open(sum)
			if err != nil {
				return err
			}
			got, _, _, err := encBlobs.Put(r, 1<<40)
			r.Close()
			if err != nil {
				return err
			}
			if got != sum {
				return fmt.Errorf("center: attachment %s does not match its name; not encrypted", sum)
			}
		}
	}
	// Swap: the encrypted copies take the plain files' places, then the
	// plain files go.
	for _, suffix := range []string{"-wal", "-shm"} {
		if err := os.Remove(db + suffix); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("center: %w", err)
		}
	}
	if err := os.Rename(db+".encrypting", db); err != nil {
		return fmt.Errorf("center: %w", err)
	}
	if err := os.Rename(blobDir, blobDir+".plain"); err != nil {
		return fmt.Errorf("center: %w", err)
	}
	if err := os.Rename(blobDir+".encrypting", blobDir); err != nil {
		return fmt.Errorf("center: %w", err)
	}
	return os.RemoveAll(blobDir + ".plain")
}
