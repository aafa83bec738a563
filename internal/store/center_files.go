package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// This file is the center's record of attachments: which files its grants
// need, which are on disk, and which may go when the cache is full.

// MissingFiles lists up to limit attachments that active grants need and
// the center has not fetched, those of the earliest grants first.
func (s *Store) MissingFiles(ctx context.Context, limit int) ([]TaskFile, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT f.field, f.name, f.sha256, f.size, f.media_type
		FROM center_files f JOIN center_grants g ON g.lease_id = f.lease_id
		WHERE g.state = 'active' AND NOT EXISTS (SELECT 1 FROM center_blobs b WHERE b.sha256 = f.sha256)
		GROUP BY f.sha256 ORDER BY min(g.due IS NULL), min(g.due), min(g.received_at) LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("store: missing files: %w", err)
	}
	return collect(rows, scanTaskFile)
}

// AddCenterBlob records a fetched, verified file.
func (s *Store) AddCenterBlob(ctx context.Context, sum string, size int64) error {
	now := ts(s.now())
	_, err := s.w.ExecContext(ctx, `INSERT INTO center_blobs (sha256, size, fetched_at, used_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (sha256) DO NOTHING`, sum, size, now, now)
	if err != nil {
		return fmt.Errorf("store: file %s: %w", sum, err)
	}
	return nil
}

// CenterBlob is a file on the center's disk.
type CenterBlob struct {
	SHA256 string
	Size   int64
}

// EvictableBlobs lists files no active grant needs, least recently used
// first: the files of finished tasks, which go first when the cache is
// full.
func (s *Store) EvictableBlobs(ctx context.Context, limit int) ([]CenterBlob, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT b.sha256, b.size FROM center_blobs b
		WHERE NOT EXISTS (SELECT 1 FROM center_files f JOIN center_grants g ON g.lease_id = f.lease_id
		                  WHERE f.sha256 = b.sha256 AND g.state = 'active')
		ORDER BY b.used_at, b.sha256 LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("store: evictable files: %w", err)
	}
	return collect(rows, func(r scanner) (CenterBlob, error) {
		var b CenterBlob
		return b, r.Scan(&b.SHA256, &b.Size)
	})
}

// DropCenterBlob forgets a file the center deleted from disk. The caller
// deletes the record first and the file second, so a crash between the
// two leaves an orphan file, never a record of a file that is gone.
func (s *Store) DropCenterBlob(ctx context.Context, sum string) error {
	if _, err := s.w.ExecContext(ctx, `DELETE FROM center_blobs WHERE sha256 = ?`, sum); err != nil {
		return fmt.Errorf("store: drop file %s: %w", sum, err)
	}
	return nil
}

// CenterWorkFile returns the attachment in field of a worker's task in
// hand at the center.
func (s *Store) CenterWorkFile(ctx context.Context, workID, workerID, field string) (TaskFile, error) {
	f, err := scanTaskFile(s.r.QueryRowContext(ctx, `SELECT f.field, f.name, f.sha256, f.size, f.media_type
		FROM center_work w JOIN center_files f ON f.lease_id = w.lease_id
		WHERE w.id = ? AND w.worker_id = ? AND w.state = 'active' AND f.field = ?`, workID, workerID, field))
	if errors.Is(err, sql.ErrNoRows) {
		return f, fmt.Errorf("store: file %q of work %s: %w", field, workID, ErrNotFound)
	}
	if err != nil {
		return f, fmt.Errorf("store: file %q of work %s: %w", field, workID, err)
	}
	return f, nil
}
