package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"banyan/internal/work"
)

// Webhooks: a client's subscriptions, and deliveries queued with the
// change that causes them.

// The events a client may subscribe to.
const (
	EventResultReady    = "result.ready"
	EventBatchCompleted = "batch.completed"
	EventTaskFailed     = "task.failed"
	EventPing           = "ping"
)

// WebhookEvents are the events a subscription may name.
var WebhookEvents = []string{EventResultReady, EventBatchCompleted, EventTaskFailed}

// Webhook is a subscription. Secret is set only when it is made.
type Webhook struct {
	ID        string    `json:"id"`
	ClientID  string    `json:"client_id"`
	URL       string    `json:"url"`
	Events    []string  `json:"events"`
	Active    bool      `json:"active"`
	Secret    string    `json:"secret,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// CreateWebhook subscribes a client's URL to events, with a fresh secret.
func (s *Store) CreateWebhook(ctx context.Context, clientID, url string, events []string) (Webhook, error) {
	h := Webhook{ID: work.NewID(), ClientID: clientID, URL: url, Events: events, Active: true, Secret: "whsec_" + randomText(24),
		CreatedAt: s.now()}
	_, err := s.w.ExecContext(ctx, `INSERT INTO webhooks (id, client_id, url, secret, events, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
		h.ID, clientID, url, h.Secret, strings.Join(events, ","), ts(h.CreatedAt))
	if err != nil {
		return Webhook{}, fmt.Errorf("store: create webhook: %w", err)
	}
	s.hooksMu.Lock()
	s.hooksSeen, s.hooksRead = true, time.Now()
	s.hooksMu.Unlock()
	return h, nil
}

func scanWebhook(r scanner) (Webhook, string, error) {
	var h Webhook
	var events, created, secret string
	err := r.Scan(&h.ID, &h.ClientID, &h.URL, &secret, &events, &h.Active, &created)
	h.Events, h.CreatedAt = strings.Split(events, ","), parseTS(created)
	return h, secret, err
}

// Webhook returns a subscription and its secret.
func (s *Store) Webhook(ctx context.Context, id string) (Webhook, string, error) {
	h, secret, err := scanWebhook(s.r.QueryRowContext(ctx, `SELECT id, client_id, url, secret, events, active, created_at FROM webhooks WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Webhook{}, "", fmt.Errorf("store: webhook %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return Webhook{}, "", fmt.Errorf("store: webhook %s: %w", id, err)
	}
	return h, secret, nil
}

// Webhooks lists a client's subscriptions (without secrets).
func (s *Store) Webhooks(ctx context.Context, clientID string) ([]Webhook, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, client_id, url, secret, events, active, created_at FROM webhooks
		WHERE client_id = ? ORDER BY id`, clientID)
	if err != nil {
		return nil, fmt.Errorf("store: webhooks: %w", err)
	}
	return collect(rows, func(r scanner) (Webhook, error) {
		h, _, err := scanWebhook(r)
		return h, err
	})
}

// DisableWebhook stops a subscription; its deliveries still waiting fail.
func (s *Store) DisableWebhook(ctx context.Context, id string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE webhooks SET active = 0 WHERE id = ?`, id); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE webhook_deliveries SET state = 'failed', last_error = 'the subscription was removed'
			WHERE webhook_id = ? AND state = 'pending'`, id)
		return err
	})
}

// enqueueWebhooks queues an event for every active subscription of the
// client that names it, in the caller's transaction.
func (s *Store) enqueueWebhooks(ctx context.Context, tx *sql.Tx, clientID, event string, body any, now string) error {
	raw, err := json.Marshal(body)
	if err != nil {
		return err
	}
	rows, err := tx.QueryContext(ctx, `SELECT id, events FROM webhooks WHERE client_id = ? AND active = 1`, clientID)
	if err != nil {
		return err
	}
	type hook struct{ id, events string }
	hooks, err := collect(rows, func(r scanner) (hook, error) {
		var h hook
		return h, r.Scan(&h.id, &h.events)
	})
	if err != nil {
		return err
	}
	for _, h := range hooks {
		if !strings.Contains(","+h.events+",", ","+event+",") {
			continue
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO webhook_deliveries (id, webhook_id, event, body, state, next_at, created_at)
			VALUES (?, ?, ?, ?, 'pending', ?, ?)`, work.NewID(), h.id, event, string(raw), now, now); err != nil {
			return err
		}
	}
	return nil
}

// Delivery is one queued or sent webhook event.
type Delivery struct {
	ID          string     `json:"id"`
	WebhookID   string     `json:"webhook_id"`
	Event       string     `json:"event"`
	Body        string     `json:"-"`
	State       string     `json:"state"`
	Attempts    int        `json:"attempts"`
	LastStatus  int        `json:"last_status,omitempty"`
	LastError   string     `json:"last_error,omitempty"`
	CreatedAt   time.Time  `json:"created_at"`
	DeliveredAt *time.Time `json:"delivered_at,omitempty"`
}

const deliveryCols = `id, webhook_id, event, body, state, attempts, last_status, last_error, created_at, delivered_at`

func scanDelivery(r scanner) (Delivery, error) {
	var d Delivery
	var created string
	var delivered sql.NullString
	err := r.Scan(&d.ID, &d.WebhookID, &d.Event, &d.Body, &d.State, &d.Attempts, &d.LastStatus, &d.LastError, &created, &delivered)
	d.CreatedAt, d.DeliveredAt = parseTS(created), parseNullTS(delivered)
	return d, err
}

// DueDeliveries lists deliveries waiting whose time has come.
func (s *Store) DueDeliveries(ctx context.Context, limit int) ([]Delivery, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+deliveryCols+` FROM webhook_deliveries WHERE state = 'pending' AND next_at <= ?
		ORDER BY next_at, id LIMIT ?`, ts(s.now()), limit)
	if err != nil {
		return nil, fmt.Errorf("store: due deliveries: %w", err)
	}
	return collect(rows, scanDelivery)
}

// Deliveries lists a subscription's deliveries, newest first.
func (s *Store) Deliveries(ctx context.Context, webhookID string, limit int) ([]Delivery, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+deliveryCols+` FROM webhook_deliveries WHERE webhook_id = ?
		ORDER BY id DESC LIMIT ?`, webhookID, limit)
	if err != nil {
		return nil, fmt.Errorf("store: deliveries: %w", err)
	}
	return collect(rows, scanDelivery)
}

// QueuePing queues a test event for a subscription and returns it.
func (s *Store) QueuePing(ctx context.Context, webhookID string) (Delivery, error) {
	now := ts(s.now())
	d := Delivery{ID: work.NewID(), WebhookID: webhookID, Event: EventPing, State: "pending", CreatedAt: parseTS(now)}
	body, _ := json.Marshal(map[string]string{"event": EventPing, "webhook_id": webhookID, "sent_at": now})
	d.Body = string(body)
	_, err := s.w.ExecContext(ctx, `INSERT INTO webhook_deliveries (id, webhook_id, event, body, state, next_at, created_at)
		VALUES (?, ?, ?, ?, 'pending', ?, ?)`, d.ID, webhookID, EventPing, d.Body, now, now)
	if err != nil {
		return Delivery{}, fmt.Errorf("store: ping: %w", err)
	}
	return d, nil
}

// NoteDelivery records an attempt: delivered, or tried again at next
// (zero next: given up).
func (s *Store) NoteDelivery(ctx context.Context, id string, status int, errText string, delivered bool, next time.Time) error {
	now := ts(s.now())
	var err error
	switch {
	case delivered:
		_, err = s.w.ExecContext(ctx, `UPDATE webhook_deliveries SET state = 'delivered', attempts = attempts + 1, last_status = ?,
			last_error = '', delivered_at = ? WHERE id = ?`, status, now, id)
	case next.IsZero():
		_, err = s.w.ExecContext(ctx, `UPDATE webhook_deliveries SET state = 'failed', attempts = attempts + 1, last_status = ?,
			last_error = ? WHERE id = ?`, status, errText, id)
	default:
		_, err = s.w.ExecContext(ctx, `UPDATE webhook_deliveries SET attempts = attempts + 1, last_status = ?, last_error = ?, next_at = ?
			WHERE id = ?`, status, errText, ts(next), id)
	}
	if err != nil {
		return fmt.Errorf("store: note delivery: %w", err)
	}
	return nil
}

// webhooksMaybe says whether any subscription may exist, so the hot paths
// (a result settling) skip the lookup on a hub with none. It is read
// again every few seconds: a subscription made through another hub is
// seen within that.
func (s *Store) webhooksMaybe(ctx context.Context, q rowQuerier) bool {
	s.hooksMu.Lock()
	defer s.hooksMu.Unlock()
	if time.Since(s.hooksRead) < 5*time.Second {
		return s.hooksSeen
	}
	var n int
	if err := q.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT 1 FROM webhooks WHERE active = 1 LIMIT 1) x`).Scan(&n); err != nil {
		return true // unsure: look
	}
	s.hooksSeen, s.hooksRead = n > 0, time.Now()
	return s.hooksSeen
}

// resultReady queues result.ready for a settled task, in its transaction.
func (s *Store) resultReady(ctx context.Context, tx *sql.Tx, taskID string, result work.Answer, confidence float64, now string) error {
	if !s.webhooksMaybe(ctx, tx) {
		return nil
	}
	var clientID, projectID, batchID, external string
	if err := tx.QueryRowContext(ctx, `SELECT p.client_id, t.project_id, t.batch_id, coalesce(t.external_id, '') FROM tasks t
		JOIN projects p ON p.id = t.project_id WHERE t.id = ? AND t.gold = 0`, taskID).Scan(&clientID, &projectID, &batchID, &external); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		return err
	}
	return s.enqueueWebhooks(ctx, tx, clientID, EventResultReady, map[string]any{"event": EventResultReady, "task_id": taskID,
		"external_id": external, "project_id": projectID, "batch_id": batchID, "answer": result, "confidence": confidence}, now)
}

// tasksFailed queues task.failed for each task of a cancelled batch.
func (s *Store) tasksFailed(ctx context.Context, tx *sql.Tx, batchID, now string) error {
	if !s.webhooksMaybe(ctx, tx) {
		return nil
	}
	rows, err := tx.QueryContext(ctx, `SELECT t.id, p.client_id, t.project_id FROM tasks t JOIN projects p ON p.id = t.project_id
		WHERE t.batch_id = ? AND t.state = 'failed' AND t.gold = 0`, batchID)
	if err != nil {
		return err
	}
	type failed struct{ task, client, project string }
	list, err := collect(rows, func(r scanner) (failed, error) {
		var f failed
		return f, r.Scan(&f.task, &f.client, &f.project)
	})
	if err != nil {
		return err
	}
	for _, f := range list {
		if err := s.enqueueWebhooks(ctx, tx, f.client, EventTaskFailed, map[string]any{"event": EventTaskFailed, "task_id": f.task,
			"project_id": f.project, "batch_id": batchID, "reason": "the batch was cancelled"}, now); err != nil {
			return err
		}
	}
	return nil
}

// CheckCompletions reads unfinished batches, so each that is complete is
// noted and its webhooks told.
func (s *Store) CheckCompletions(ctx context.Context) error {
	rows, err := s.r.QueryContext(ctx, `SELECT id FROM batches WHERE completed_at IS NULL AND cancelled_at IS NULL ORDER BY id LIMIT 500`)
	if err != nil {
		return fmt.Errorf("store: check completions: %w", err)
	}
	ids, err := collect(rows, func(r scanner) (string, error) {
		var id string
		return id, r.Scan(&id)
	})
	if err != nil {
		return fmt.Errorf("store: check completions: %w", err)
	}
	for _, id := range ids {
		if _, err := s.Batch(ctx, id); err != nil {
			return err
		}
	}
	return nil
}
