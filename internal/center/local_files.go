package center

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"banyan/internal/project"
	"banyan/internal/store"
	"banyan/internal/uplink"
)

// This file is the center's record of attachments: which files its grants
// need, which are on disk, and which may go when the cache is full.

func scanFile(r store.Scanner) (project.TaskFile, error) {
	var f project.TaskFile
	return f, r.Scan(&f.Field, &f.Name, &f.SHA256, &f.Size, &f.MediaType)
}

// MissingFiles lists up to limit attachments that active grants need and
// the center has not fetched, those of the earliest grants first.
func (l *Local) MissingFiles(ctx context.Context, limit int) ([]project.TaskFile, error) {
	rows, err := l.Store.Read(ctx).QueryContext(ctx, `SELECT f.field, f.name, f.sha256, f.size, f.media_type
		FROM center_files f JOIN center_grants g ON g.lease_id = f.lease_id
		WHERE g.state = 'active' AND NOT EXISTS (SELECT 1 FROM center_blobs b WHERE b.sha256 = f.sha256)
		GROUP BY f.sha256 ORDER BY min(g.due IS NULL), min(g.due), min(g.received_at) LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("center: missing files: %w", err)
	}
	return store.Collect(rows, scanFile)
}

// AddBlob records a fetched, verified file.
func (l *Local) AddBlob(ctx context.Context, sum string, size int64) error {
	now := store.TimeText(l.Store.Now())
	_, err := l.Store.Exec(ctx, `INSERT INTO center_blobs (sha256, size, fetched_at, used_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (sha256) DO NOTHING`, sum, size, now, now)
	if err != nil {
		return fmt.Errorf("center: file %s: %w", sum, err)
	}
	return nil
}

// EvictableBlobs lists files no active grant needs, least recently used
// first: the files of finished tasks, which go first when the cache is
// full.
func (l *Local) EvictableBlobs(ctx context.Context, limit int) ([]uplink.CachedFile, error) {
	rows, err := l.Store.Read(ctx).QueryContext(ctx, `SELECT b.sha256, b.size FROM center_blobs b
		WHERE NOT EXISTS (SELECT 1 FROM center_files f JOIN center_grants g ON g.lease_id = f.lease_id
		                  WHERE f.sha256 = b.sha256 AND g.state = 'active')
		ORDER BY b.used_at, b.sha256 LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("center: evictable files: %w", err)
	}
	return store.Collect(rows, func(r store.Scanner) (uplink.CachedFile, error) {
		var b uplink.CachedFile
		return b, r.Scan(&b.SHA256, &b.Size)
	})
}

// DropBlob forgets a file the center deleted from disk. The caller
// deletes the record first and the file second, so a crash between the
// two leaves an orphan file, never a record of a file that is gone.
func (l *Local) DropBlob(ctx context.Context, sum string) error {
	if _, err := l.Store.Exec(ctx, `DELETE FROM center_blobs WHERE sha256 = ?`, sum); err != nil {
		return fmt.Errorf("center: drop file %s: %w", sum, err)
	}
	return nil
}

// File returns the attachment in field of a worker's task in hand at the
// center.
func (l *Local) File(ctx context.Context, workerID, workID, field string) (project.TaskFile, error) {
	f, err := scanFile(l.Store.Read(ctx).QueryRowContext(ctx, `SELECT f.field, f.name, f.sha256, f.size, f.media_type
		FROM center_work w JOIN center_files f ON f.lease_id = w.lease_id
		WHERE w.id = ? AND w.worker_id = ? AND w.state = 'active' AND f.field = ?`, workID, workerID, field))
	if errors.Is(err, sql.ErrNoRows) {
		return f, fmt.Errorf("center: file %q of work %s: %w", field, workID, store.ErrNotFound)
	}
	if err != nil {
		return f, fmt.Errorf("center: file %q of work %s: %w", field, workID, err)
	}
	return f, nil
}
