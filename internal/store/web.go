package store

import (
	"context"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/argon2"

	"banyan/internal/problem"
)

// Signing in to the web pages: credentials, sessions and drafts
// (migration 0012).

// Secrets (a worker's PIN, anyone else's password) are stored as
// argon2id hashes, the memory-hard function of RFC 9106, with parameters a
// cheap village-center PC can afford at every sign-in: 19 MiB, 2 passes,
// 1 lane (OWASP's first recommended setting), a 16-byte salt and a 32-byte
// hash, kept in the PHC string format ($argon2id$v=19$m=…,t=…,p=…$salt$hash).
// A PIN is short, so no hash alone holds out against someone with the
// database; the sign-in rate limit protects it on the wire, and the hash
// makes each guess offline cost 19 MiB and tens of milliseconds.
//
// Secrets stored by earlier versions as PBKDF2-SHA256 still sign in, and
// are stored again as argon2id at that sign-in (CheckSecret).
const (
	argonMemoryKiB = 19 * 1024
	argonPasses    = 2
	argonLanes     = 1
	argonKeyLen    = 32
)

// hashing bounds the argon2id hashes computed at once: a shift's workers
// signing in together must not ask for 19 MiB each at the same moment.
var hashing = make(chan struct{}, max(2, runtime.NumCPU()))

// argon2id hashes a secret with the given parameters.
func argon2id(secret string, salt []byte, memKiB, passes uint32, lanes uint8) []byte {
	hashing <- struct{}{}
	defer func() { <-hashing }()
	return argon2.IDKey([]byte(secret), salt, passes, memKiB, lanes, argonKeyLen)
}

// encodeSecret returns the stored form of a secret.
func encodeSecret(secret string) (string, error) {
	salt := make([]byte, 16)
	rand.Read(salt)
	sum := argon2id(secret, salt, argonMemoryKiB, argonPasses, argonLanes)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemoryKiB, argonPasses, argonLanes,
		b64.EncodeToString(salt), b64.EncodeToString(sum)), nil
}

// secretMatches checks a secret against its stored form (argon2id, or
// PBKDF2-SHA256 from earlier versions); stale says the form is not the
// one encodeSecret writes now, so the secret should be stored again.
func secretMatches(stored, secret string) (ok, stale bool) {
	b64 := base64.RawStdEncoding
	if rest, found := strings.CutPrefix(stored, "pbkdf2-sha256$"); found {
		parts := strings.Split(rest, "$")
		if len(parts) != 3 {
			return false, true
		}
		iter, err := strconv.Atoi(parts[0])
		salt, err1 := b64.DecodeString(parts[1])
		want, err2 := b64.DecodeString(parts[2])
		if err != nil || err1 != nil || err2 != nil || iter < 1 {
			return false, true
		}
		got, err := pbkdf2.Key(sha256.New, secret, salt, iter, 32)
		return err == nil && subtle.ConstantTimeCompare(got, want) == 1, true
	}
	var version int
	var mem, passes uint32
	var lanes uint8
	parts := strings.Split(stored, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return false, true
	}
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false, true
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &mem, &passes, &lanes); err != nil || mem < 8 || passes < 1 || lanes < 1 ||
		mem > 1<<22 || passes > 64 {
		return false, true
	}
	salt, err1 := b64.DecodeString(parts[4])
	want, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) != argonKeyLen {
		return false, true
	}
	got := argon2id(secret, salt, mem, passes, lanes)
	stale = mem != argonMemoryKiB || passes != argonPasses || lanes != argonLanes
	return subtle.ConstantTimeCompare(got, want) == 1, stale
}

// dummySecret is checked against when a login is unknown, so a wrong
// login takes as long to refuse as a wrong secret.
var dummySecret, _ = encodeSecret("no such login")

// SetSecret gives a person a login and a secret (a worker's PIN, anyone
// else's password), replacing any they had, and ends their web sessions.
// A login another person has is ErrConflict.
func (s *Store) SetSecret(ctx context.Context, userID, login, secret string) error {
	enc, err := encodeSecret(secret)
	if err != nil {
		return fmt.Errorf("store: set secret: %w", err)
	}
	err = s.tx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM users WHERE id = ?`, userID).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("user %s: %w", userID, ErrNotFound)
		}
		var owner string
		err := tx.QueryRowContext(ctx, `SELECT user_id FROM credentials WHERE login = ?`, login).Scan(&owner)
		if err == nil && owner != userID {
			return problem.Public(ErrConflict, "the login %q is taken", login)
		}
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO credentials (user_id, login, secret_hash, updated_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (user_id) DO UPDATE SET login = excluded.login, secret_hash = excluded.secret_hash,
				updated_at = excluded.updated_at`, userID, login, enc, ts(s.now())); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM web_sessions WHERE user_id = ?`, userID)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: set secret: %w", err)
	}
	return nil
}

// Login returns the login a person signs in with, or "" when they have none.
func (s *Store) Login(ctx context.Context, userID string) (string, error) {
	var login string
	err := s.r.QueryRowContext(ctx, `SELECT login FROM credentials WHERE user_id = ?`, userID).Scan(&login)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("store: login of %s: %w", userID, err)
	}
	return login, nil
}

// LoginOwner returns the id of the person with a login, "" if nobody.
func (s *Store) LoginOwner(ctx context.Context, login string) (string, error) {
	var id string
	err := s.r.QueryRowContext(ctx, `SELECT user_id FROM credentials WHERE login = ?`, login).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("store: login %q: %w", login, err)
	}
	return id, nil
}

// CheckSecret returns the person a login and secret belong to, with the
// language they last chose; a wrong login or secret is ErrNotFound, the
// same for both.
func (s *Store) CheckSecret(ctx context.Context, login, secret string) (User, string, error) {
	var userID, stored, lang string
	err := s.r.QueryRowContext(ctx, `SELECT user_id, secret_hash, lang FROM credentials WHERE login = ?`, login).
		Scan(&userID, &stored, &lang)
	if errors.Is(err, sql.ErrNoRows) {
		secretMatches(dummySecret, secret)
		return User{}, "", fmt.Errorf("store: sign in: %w", ErrNotFound)
	}
	if err != nil {
		return User{}, "", fmt.Errorf("store: sign in: %w", err)
	}
	ok, stale := secretMatches(stored, secret)
	if !ok {
		return User{}, "", fmt.Errorf("store: sign in: %w", ErrNotFound)
	}
	if stale {
		// Stored by an earlier version (PBKDF2) or with other parameters:
		// the secret is known right now, so it is stored anew. Only if
		// the row still holds what was checked, so a secret changed
		// meanwhile is not overwritten.
		enc, err := encodeSecret(secret)
		if err != nil {
			return User{}, "", fmt.Errorf("store: sign in: %w", err)
		}
		if err := s.tx(ctx, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `UPDATE credentials SET secret_hash = ? WHERE user_id = ? AND secret_hash = ?`, enc, userID, stored)
			return err
		}); err != nil {
			return User{}, "", fmt.Errorf("store: sign in: store the secret anew: %w", err)
		}
	}
	u, err := s.User(ctx, userID)
	return u, lang, err
}

// SetLang keeps the language a person chose.
func (s *Store) SetLang(ctx context.Context, userID, lang string) error {
	_, err := s.w.ExecContext(ctx, `UPDATE credentials SET lang = ? WHERE user_id = ?`, lang, userID)
	if err != nil {
		return fmt.Errorf("store: set language: %w", err)
	}
	return nil
}

// WebSession is a signed-in browser.
type WebSession struct {
	User      User
	CSRF      string
	Lang      string
	ExpiresAt time.Time
}

func sessionKey(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

func randomText(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// CreateSession starts a web session for a person and returns the secret
// for its cookie.
func (s *Store) CreateSession(ctx context.Context, userID string, ttl time.Duration) (secret string, err error) {
	secret = randomText(32)
	now := s.now()
	err = s.tx(ctx, func(tx *sql.Tx) error {
		// Ended sessions go as new ones start, so the table stays small.
		if _, err := tx.ExecContext(ctx, `DELETE FROM web_sessions WHERE expires_at <= ?`, ts(now)); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO web_sessions (id, user_id, csrf, created_at, expires_at) VALUES (?, ?, ?, ?, ?)`,
			sessionKey(secret), userID, randomText(24), ts(now), ts(now.Add(ttl)))
		return err
	})
	if err != nil {
		return "", fmt.Errorf("store: start session: %w", err)
	}
	return secret, nil
}

// Session returns the live session a cookie's secret names; an unknown or
// ended one is ErrNotFound.
func (s *Store) Session(ctx context.Context, secret string) (WebSession, error) {
	var ws WebSession
	var expires, created string
	err := s.r.QueryRowContext(ctx, `SELECT ws.csrf, ws.expires_at, coalesce(c.lang, ''),
			u.id, u.org_id, u.name, u.role, u.created_at
		FROM web_sessions ws JOIN users u ON u.id = ws.user_id LEFT JOIN credentials c ON c.user_id = u.id
		WHERE ws.id = ?`, sessionKey(secret)).
		Scan(&ws.CSRF, &expires, &ws.Lang, &ws.User.ID, &ws.User.OrgID, &ws.User.Name, &ws.User.Role, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return WebSession{}, fmt.Errorf("store: session: %w", ErrNotFound)
	}
	if err != nil {
		return WebSession{}, fmt.Errorf("store: session: %w", err)
	}
	ws.ExpiresAt = parseTS(expires)
	ws.User.CreatedAt = parseTS(created)
	if !s.now().Before(ws.ExpiresAt) {
		return WebSession{}, fmt.Errorf("store: session ended: %w", ErrNotFound)
	}
	return ws, nil
}

// EndSession signs a browser out.
func (s *Store) EndSession(ctx context.Context, secret string) error {
	if _, err := s.w.ExecContext(ctx, `DELETE FROM web_sessions WHERE id = ?`, sessionKey(secret)); err != nil {
		return fmt.Errorf("store: end session: %w", err)
	}
	return nil
}

// MaxDraftBytes bounds one saved draft.
const MaxDraftBytes = 64 << 10

// SaveDraft keeps a worker's unsent answer to an assignment.
func (s *Store) SaveDraft(ctx context.Context, workerID, assignmentID, body string) error {
	if len(body) > MaxDraftBytes {
		return fmt.Errorf("store: draft of %d bytes is over the %d-byte limit", len(body), MaxDraftBytes)
	}
	_, err := s.w.ExecContext(ctx, `INSERT INTO drafts (assignment_id, worker_id, body, updated_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (assignment_id) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at
		WHERE drafts.worker_id = excluded.worker_id`, assignmentID, workerID, body, ts(s.now()))
	if err != nil {
		return fmt.Errorf("store: save draft: %w", err)
	}
	return nil
}

// Draft returns a worker's saved draft for an assignment, "" if none.
func (s *Store) Draft(ctx context.Context, workerID, assignmentID string) (string, error) {
	var body string
	err := s.r.QueryRowContext(ctx, `SELECT body FROM drafts WHERE assignment_id = ? AND worker_id = ?`, assignmentID, workerID).Scan(&body)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("store: draft: %w", err)
	}
	return body, nil
}

// DropDraft forgets a draft once its answer is in.
func (s *Store) DropDraft(ctx context.Context, workerID, assignmentID string) error {
	if _, err := s.w.ExecContext(ctx, `DELETE FROM drafts WHERE assignment_id = ? AND worker_id = ?`, assignmentID, workerID); err != nil {
		return fmt.Errorf("store: drop draft: %w", err)
	}
	return nil
}

// WorkerDay is what a worker's home page shows of their own work.
type WorkerDay struct {
	Answers int
	// Accuracy is the worker's estimated accuracy over their scored
	// skills; Scored is how many scored answers it rests on (0: not
	// measured yet).
	Accuracy float64
	Scored   int
	// Earned is the pay for answers approved since the start of the day,
	// in minor units (paise); Priced is false where pay is not known (a
	// center: prices are the hub's).
	Earned int64
	Priced bool
}

// WorkerDay counts a hub worker's answers since a time (the start of
// their day) and reads their accuracy.
func (s *Store) WorkerDay(ctx context.Context, workerID string, since time.Time) (WorkerDay, error) {
	var d WorkerDay
	var alpha, beta sql.NullFloat64
	var scored sql.NullInt64
	err := s.r.QueryRowContext(ctx, `SELECT
			(SELECT count(*) FROM assignments WHERE worker_id = ? AND state = 'submitted' AND submitted_at >= ?),
			(SELECT sum(alpha) FROM worker_skills WHERE worker_id = ? AND scored > 0),
			(SELECT sum(beta) FROM worker_skills WHERE worker_id = ? AND scored > 0),
			(SELECT sum(scored) FROM worker_skills WHERE worker_id = ?)`,
		workerID, ts(since), workerID, workerID, workerID).Scan(&d.Answers, &alpha, &beta, &scored)
	if err != nil {
		return d, fmt.Errorf("store: worker's day: %w", err)
	}
	if scored.Int64 > 0 && alpha.Float64+beta.Float64 > 0 {
		d.Accuracy, d.Scored = alpha.Float64/(alpha.Float64+beta.Float64), int(scored.Int64)
	}
	if err := s.r.QueryRowContext(ctx, `SELECT coalesce(sum(worker_pay), 0) FROM money_events
		WHERE kind IN ('pay', 'bonus', 'training') AND worker_id = ? AND created_at >= ?`, workerID, ts(since)).Scan(&d.Earned); err != nil {
		return d, fmt.Errorf("store: worker's day: %w", err)
	}
	d.Priced = true
	return d, nil
}

// CenterWorkerDay counts a center worker's saved answers since a time.
// Accuracy is measured at the hub and not kept at the center.
func (s *Store) CenterWorkerDay(ctx context.Context, workerID string, since time.Time) (WorkerDay, error) {
	var d WorkerDay
	err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM center_work WHERE worker_id = ? AND state = 'saved' AND saved_at >= ?`,
		workerID, ts(since)).Scan(&d.Answers)
	if err != nil {
		return d, fmt.Errorf("store: worker's day: %w", err)
	}
	return d, nil
}

// Person is one of a village center's people as its manager sees them.
type Person struct {
	User    User
	Login   string
	Answers int // saved today
	// Skills are the hub's word on the worker's skills (active,
	// suspended), as fed down to the center.
	Skills []PersonSkill
	// Courses are the worker's latest attempt at each course.
	Courses []PersonCourse
}

// PersonSkill is a worker's standing at one kind of work in one language.
type PersonSkill struct {
	Kind, Language, Status, Reason string
}

// PersonCourse is a worker's latest attempt at a course.
type PersonCourse struct {
	Name, Purpose, State string
	Answered, Items      int
}

// CenterPeople lists a center's people by name, with their answers saved
// since a time, their skills and their training.
func (s *Store) CenterPeople(ctx context.Context, since time.Time) ([]Person, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT u.id, u.org_id, u.name, u.role, u.created_at, coalesce(c.login, ''),
			(SELECT count(*) FROM center_work w WHERE w.worker_id = u.id AND w.state = 'saved' AND w.saved_at >= ?)
		FROM users u LEFT JOIN credentials c ON c.user_id = u.id
		WHERE u.role IN ('worker', 'reviewer', 'center_manager') ORDER BY u.name, u.id`, ts(since))
	if err != nil {
		return nil, fmt.Errorf("store: center people: %w", err)
	}
	people, err := collect(rows, func(r scanner) (Person, error) {
		var p Person
		var created string
		err := r.Scan(&p.User.ID, &p.User.OrgID, &p.User.Name, &p.User.Role, &created, &p.Login, &p.Answers)
		p.User.CreatedAt = parseTS(created)
		return p, err
	})
	if err != nil {
		return nil, fmt.Errorf("store: center people: %w", err)
	}
	index := map[string]int{}
	for i, p := range people {
		index[p.User.ID] = i
	}
	rows, err = s.r.QueryContext(ctx, `SELECT worker_id, kind, language, status, reason FROM center_skills ORDER BY kind, language`)
	if err != nil {
		return nil, fmt.Errorf("store: center skills: %w", err)
	}
	type skillRow struct {
		worker string
		PersonSkill
	}
	skills, err := collect(rows, func(r scanner) (skillRow, error) {
		var k skillRow
		return k, r.Scan(&k.worker, &k.Kind, &k.Language, &k.Status, &k.Reason)
	})
	if err != nil {
		return nil, fmt.Errorf("store: center skills: %w", err)
	}
	for _, k := range skills {
		if i, ok := index[k.worker]; ok {
			people[i].Skills = append(people[i].Skills, k.PersonSkill)
		}
	}
	rows, err = s.r.QueryContext(ctx, `SELECT a.worker_id, c.name, c.purpose, a.state, a.answered, c.items
		FROM attempts a JOIN courses c ON c.id = a.course_id
		WHERE a.created_at = (SELECT max(b.created_at) FROM attempts b WHERE b.worker_id = a.worker_id AND b.course_id = a.course_id)
		ORDER BY c.name`)
	if err != nil {
		return nil, fmt.Errorf("store: center training: %w", err)
	}
	type courseRow struct {
		worker string
		PersonCourse
	}
	courses, err := collect(rows, func(r scanner) (courseRow, error) {
		var c courseRow
		return c, r.Scan(&c.worker, &c.Name, &c.Purpose, &c.State, &c.Answered, &c.Items)
	})
	if err != nil {
		return nil, fmt.Errorf("store: center training: %w", err)
	}
	for _, c := range courses {
		if i, ok := index[c.worker]; ok {
			people[i].Courses = append(people[i].Courses, c.PersonCourse)
		}
	}
	return people, nil
}

// PassAssignment gives a worker's live assignment back to the pool
// unanswered: they passed on it (a disturbing item past their shift's
// cap). The worker is not offered that task again.
func (s *Store) PassAssignment(ctx context.Context, workerID, assignmentID string) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var taskID string
		err := tx.QueryRowContext(ctx, `UPDATE assignments SET state = 'expired'
			WHERE id = ? AND worker_id = ? AND state = 'active' RETURNING task_id`, assignmentID, workerID).Scan(&taskID)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("live assignment %s: %w", assignmentID, ErrNotFound)
		}
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE tasks SET holders = holders - 1 WHERE id = ? AND holders > 0`, taskID)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: pass assignment: %w", err)
	}
	return nil
}

// CenterPass is PassAssignment at a village center.
func (s *Store) CenterPass(ctx context.Context, workerID, workID string) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var leaseID string
		err := tx.QueryRowContext(ctx, `UPDATE center_work SET state = 'expired'
			WHERE id = ? AND worker_id = ? AND state = 'active' RETURNING lease_id`, workID, workerID).Scan(&leaseID)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("live work %s: %w", workID, ErrNotFound)
		}
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE center_grants SET holders = holders - 1 WHERE lease_id = ? AND holders > 0`, leaseID)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: pass work: %w", err)
	}
	return nil
}
