package center

import (
	"bufio"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"banyan/internal/store"
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
