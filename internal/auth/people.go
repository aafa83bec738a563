package auth

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"banyan/internal/problem"
	"banyan/internal/store"
	"banyan/internal/uplink/wire"
	"banyan/internal/work"
)

// Organisations and the people in them.

// Well-known organisations, made by the first migration.
const (
	HubOrgID           = "00000000-0000-7000-8000-000000000001"
	BuiltinCenterOrgID = "00000000-0000-7000-8000-000000000002"
)

// Org kinds.
const (
	OrgHub    = "hub"
	OrgClient = "client"
	OrgCenter = "center"
)

// Org is the hub, a client company or a center.
type Org struct {
	ID        string    `json:"id"`
	Kind      string    `json:"kind"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
}

// User is a person (or a center machine) who signs in with a token.
type User struct {
	ID        string    `json:"id"`
	OrgID     string    `json:"org_id"`
	Name      string    `json:"name"`
	Role      string    `json:"role"`
	CreatedAt time.Time `json:"created_at"`
}

// CreateOrg adds an organisation. A name already used by an org of the same
// kind is store.ErrConflict.
func (s *Service) CreateOrg(ctx context.Context, kind, name string) (Org, error) {
	o := Org{ID: work.NewID(), Kind: kind, Name: name, CreatedAt: s.Store.Now()}
	err := s.Store.Write(ctx, func(tx *store.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO orgs (id, kind, name, created_at) VALUES (?, ?, ?, ?)`,
			o.ID, o.Kind, o.Name, store.TimeText(o.CreatedAt))
		if tx.IsUniqueViolation(err) {
			return problem.Public(store.ErrConflict, "a %s named %q already exists", kind, name)
		}
		return err
	})
	if err != nil {
		return Org{}, fmt.Errorf("auth: create org: %w", err)
	}
	return o, nil
}

// EnsureCenterOrg records a center's own organisation in the center's
// database (its id is the hub's), so its workers can belong to it. An org
// already there is left as it is.
func (s *Service) EnsureCenterOrg(ctx context.Context, id, name string) error {
	err := s.Store.Write(ctx, func(tx *store.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO orgs (id, kind, name, created_at) VALUES (?, 'center', ?, ?) ON CONFLICT (id) DO NOTHING`,
			id, name, store.TimeText(s.Store.Now()))
		return err
	})
	if err != nil {
		return fmt.Errorf("auth: center org: %w", err)
	}
	return nil
}

// Org returns one organisation.
func (s *Service) Org(ctx context.Context, id string) (Org, error) {
	o, err := scanOrg(s.Store.Read(ctx).QueryRowContext(ctx, `SELECT id, kind, name, created_at FROM orgs WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Org{}, fmt.Errorf("auth: org %s: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return Org{}, fmt.Errorf("auth: org %s: %w", id, err)
	}
	return o, nil
}

// Orgs lists organisations of one kind, by id.
func (s *Service) Orgs(ctx context.Context, kind string, p store.Page) ([]Org, error) {
	rows, err := s.Store.Read(ctx).QueryContext(ctx, `SELECT id, kind, name, created_at FROM orgs
		WHERE kind = ? AND id > ? ORDER BY id LIMIT ?`, kind, p.After, p.Limit)
	if err != nil {
		return nil, fmt.Errorf("auth: list orgs: %w", err)
	}
	orgs, err := store.Collect(rows, scanOrg)
	if err != nil {
		return nil, fmt.Errorf("auth: list orgs: %w", err)
	}
	return orgs, nil
}

func scanOrg(r store.Scanner) (Org, error) {
	var o Org
	var created string
	err := r.Scan(&o.ID, &o.Kind, &o.Name, &created)
	o.CreatedAt = store.ParseTimeText(created)
	return o, err
}

// CreateUser adds a person to an organisation. A name already used in the
// organisation is store.ErrConflict.
func (s *Service) CreateUser(ctx context.Context, orgID, name, role string) (User, error) {
	u := User{ID: work.NewID(), OrgID: orgID, Name: name, Role: role, CreatedAt: s.Store.Now()}
	err := s.Store.Write(ctx, func(tx *store.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO users (id, org_id, name, role, created_at) VALUES (?, ?, ?, ?, ?)`,
			u.ID, u.OrgID, u.Name, u.Role, store.TimeText(u.CreatedAt))
		if tx.IsUniqueViolation(err) {
			return problem.Public(store.ErrConflict, "a user named %q already exists in this organisation", name)
		}
		return err
	})
	if err != nil {
		return User{}, fmt.Errorf("auth: create user: %w", err)
	}
	return u, nil
}

const userCols = `id, org_id, name, role, created_at`

func scanUser(r store.Scanner) (User, error) {
	var u User
	var created string
	err := r.Scan(&u.ID, &u.OrgID, &u.Name, &u.Role, &created)
	u.CreatedAt = store.ParseTimeText(created)
	return u, err
}

// User returns one user.
func (s *Service) User(ctx context.Context, id string) (User, error) {
	u, err := scanUser(s.Store.Read(ctx).QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, fmt.Errorf("auth: user %s: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return User{}, fmt.Errorf("auth: user %s: %w", id, err)
	}
	return u, nil
}

// Users lists the users of one organisation, by id.
func (s *Service) Users(ctx context.Context, orgID string, p store.Page) ([]User, error) {
	rows, err := s.Store.Read(ctx).QueryContext(ctx, `SELECT `+userCols+` FROM users
		WHERE org_id = ? AND id > ? ORDER BY id LIMIT ?`, orgID, p.After, p.Limit)
	if err != nil {
		return nil, fmt.Errorf("auth: list users: %w", err)
	}
	users, err := store.Collect(rows, scanUser)
	if err != nil {
		return nil, fmt.Errorf("auth: list users: %w", err)
	}
	return users, nil
}

// CountUsers counts the users with a role in an organisation.
func (s *Service) CountUsers(ctx context.Context, orgID, role string) (int, error) {
	var n int
	err := s.Store.Read(ctx).QueryRowContext(ctx, `SELECT count(*) FROM users WHERE org_id = ? AND role = ?`, orgID, role).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("auth: count users: %w", err)
	}
	return n, nil
}

// VillageCenterOf is the village center the user belongs to, read through
// r (a domain's open transaction, say). ok is false for a user of the
// hub's built-in center or of any other kind of organisation, and for a
// user the hub does not know.
func VillageCenterOf(ctx context.Context, r store.Reader, userID string) (centerID string, ok bool, err error) {
	err = r.QueryRowContext(ctx, `SELECT o.id FROM users u JOIN orgs o ON o.id = u.org_id
		WHERE u.id = ? AND o.kind = 'center' AND o.id <> ?`, userID, BuiltinCenterOrgID).Scan(&centerID)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("auth: village center of %s: %w", userID, err)
	}
	return centerID, true, nil
}

// Enrolment at village centers: a center adds its people in its own
// database and tells the hub through the outbox; the hub stores each under
// the id the center made for them.

// EnrolAtCenter adds a person at a village center (a worker, reviewer or
// center manager) and, in the same transaction, the enrolment record that
// will tell the hub (in center mode, see store.Options.Outbox). A name
// already enrolled is store.ErrConflict.
func (s *Service) EnrolAtCenter(ctx context.Context, centerID, name, role string) (User, error) {
	u := User{ID: work.NewID(), OrgID: centerID, Name: name, Role: role}
	body := wire.Enrolment{WorkerID: u.ID, Name: name}
	if role != string(Worker) {
		body.Role = role // absent means worker, as centers before roles sent
	}
	_, err := s.Store.Born(ctx, wire.KindEnrolment, body, func(tx *store.Tx, _ string, now time.Time) error {
		u.CreatedAt = now
		_, err := tx.ExecContext(ctx, `INSERT INTO users (id, org_id, name, role, created_at) VALUES (?, ?, ?, ?, ?)`,
			u.ID, centerID, name, role, store.TimeText(now))
		if tx.IsUniqueViolation(err) {
			return problem.Public(store.ErrConflict, "someone named %q is enrolled already", name)
		}
		return err
	})
	if err != nil {
		return User{}, fmt.Errorf("auth: enrol at center: %w", err)
	}
	return u, nil
}

// ReceiveEnrolment stores, on the hub, a person a center enrolled (a
// worker, reviewer or center manager) under the id the center made for
// them, inside the upload's transaction tx. An id of another
// organisation's person, or a name the center has for someone else, is
// rejected.
func (s *Service) ReceiveEnrolment(ctx context.Context, tx *store.Tx, centerID string, e wire.Enrolment) (wire.Verdict, error) {
	var org string
	err := tx.QueryRowContext(ctx, `SELECT org_id FROM users WHERE id = ?`, e.WorkerID).Scan(&org)
	switch {
	case err == nil && org != centerID:
		return wire.Verdict{Status: wire.StatusRejected, Reason: "the worker id belongs to another organisation"}, nil
	case errors.Is(err, sql.ErrNoRows):
		err = tx.Savepoint(ctx, func() error {
			_, err := tx.ExecContext(ctx, `INSERT INTO users (id, org_id, name, role, created_at) VALUES (?, ?, ?, ?, ?)`,
				e.WorkerID, centerID, e.Name, e.Role, store.TimeText(s.Store.Now()))
			return err
		})
		if tx.IsUniqueViolation(err) {
			return wire.Verdict{Status: wire.StatusRejected, Reason: fmt.Sprintf("the center has another worker named %q", e.Name)}, nil
		}
	}
	return wire.Verdict{Status: wire.StatusAccepted}, err
}

// CenterWorker checks, inside an upload's transaction, that a worker named
// in the upload belongs to the center. ok is false with the verdict to give
// when not: retry while the enrolment may still be on its way, rejected
// for another organisation's.
func CenterWorker(ctx context.Context, tx *store.Tx, centerID, workerID string) (v wire.Verdict, ok bool, err error) {
	var org string
	err = tx.QueryRowContext(ctx, `SELECT org_id FROM users WHERE id = ?`, workerID).Scan(&org)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return wire.Verdict{Status: wire.StatusRetry, Reason: fmt.Sprintf("user %s is not enrolled yet; send the enrolment, then this again", workerID)}, false, nil
	case err != nil:
		return wire.Verdict{}, false, err
	case org != centerID:
		return wire.Verdict{Status: wire.StatusRejected, Reason: fmt.Sprintf("user %s belongs to another organisation", workerID)}, false, nil
	}
	return wire.Verdict{}, true, nil
}
