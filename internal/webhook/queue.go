package webhook

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"banyan/internal/store"
	"banyan/internal/work"
)

// The events a client may subscribe to, and the test event.
const (
	EventResultReady    = "result.ready"
	EventBatchCompleted = "batch.completed"
	EventTaskFailed     = "task.failed"
	EventPing           = "ping"
)

// Events are the events a subscription may name.
var Events = []string{EventResultReady, EventBatchCompleted, EventTaskFailed}

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

// Queue keeps clients' subscriptions and their deliveries, and queues
// events for them inside the transactions that cause them: it is the
// store's Notifier on the hub. One Queue serves a hub, so the subscription
// it has just made is seen by the next result that settles.
type Queue struct {
	Store *store.Store
	// Whether any subscription may exist, read again every few seconds:
	// the hot path (a result settling) skips its lookups on a hub with
	// none, and one made through another hub is seen within that.
	mu   sync.Mutex
	seen bool
	read time.Time
}

// randomSecret is a subscription's signing secret.
func randomSecret() string {
	b := make([]byte, 24)
	rand.Read(b)
	return "whsec_" + base64.RawURLEncoding.EncodeToString(b)
}

// Create subscribes a client's URL to events, with a fresh secret.
func (q *Queue) Create(ctx context.Context, clientID, url string, events []string) (Webhook, error) {
	h := Webhook{ID: work.NewID(), ClientID: clientID, URL: url, Events: events, Active: true, Secret: randomSecret(),
		CreatedAt: q.Store.Now()}
	err := q.Store.Write(ctx, func(tx *store.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO webhooks (id, client_id, url, secret, events, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
			h.ID, clientID, url, h.Secret, strings.Join(events, ","), store.TimeText(h.CreatedAt))
		return err
	})
	if err != nil {
		return Webhook{}, fmt.Errorf("webhook: create: %w", err)
	}
	q.mu.Lock()
	q.seen, q.read = true, time.Now()
	q.mu.Unlock()
	return h, nil
}

const webhookCols = `id, client_id, url, secret, events, active, created_at`

func scanWebhook(r store.Scanner) (Webhook, string, error) {
	var h Webhook
	var events, created, secret string
	err := r.Scan(&h.ID, &h.ClientID, &h.URL, &secret, &events, &h.Active, &created)
	h.Events, h.CreatedAt = strings.Split(events, ","), store.ParseTimeText(created)
	return h, secret, err
}

// Get returns a subscription and its secret.
func (q *Queue) Get(ctx context.Context, id string) (Webhook, string, error) {
	h, secret, err := scanWebhook(q.Store.Read(ctx).QueryRowContext(ctx, `SELECT `+webhookCols+` FROM webhooks WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Webhook{}, "", fmt.Errorf("webhook %s: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return Webhook{}, "", fmt.Errorf("webhook %s: %w", id, err)
	}
	return h, secret, nil
}

// List lists a client's subscriptions (without secrets).
func (q *Queue) List(ctx context.Context, clientID string) ([]Webhook, error) {
	rows, err := q.Store.Read(ctx).QueryContext(ctx, `SELECT `+webhookCols+` FROM webhooks WHERE client_id = ? ORDER BY id`, clientID)
	if err != nil {
		return nil, fmt.Errorf("webhook: list: %w", err)
	}
	return store.Collect(rows, func(r store.Scanner) (Webhook, error) {
		h, _, err := scanWebhook(r)
		return h, err
	})
}

// Disable stops a subscription; its deliveries still waiting fail.
func (q *Queue) Disable(ctx context.Context, id string) error {
	return q.Store.Write(ctx, func(tx *store.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE webhooks SET active = 0 WHERE id = ?`, id); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE webhook_deliveries SET state = 'failed', last_error = 'the subscription was removed'
			WHERE webhook_id = ? AND state = 'pending'`, id)
		return err
	})
}

// maybe says whether any subscription may exist.
func (q *Queue) maybe(ctx context.Context, tx *store.Tx) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if time.Since(q.read) < 5*time.Second {
		return q.seen
	}
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT 1 FROM webhooks WHERE active = 1 LIMIT 1) x`).Scan(&n); err != nil {
		return true // unsure: look
	}
	q.seen, q.read = n > 0, time.Now()
	return q.seen
}

// Notify queues event, in tx, for every active subscription of the client
// build names that lists it. build (the event's client and body; ok false
// when there is nothing to tell) runs only when a subscription may exist.
func (q *Queue) Notify(ctx context.Context, tx *store.Tx, event string, build func() (clientID string, body any, ok bool, err error)) error {
	if !q.maybe(ctx, tx) {
		return nil
	}
	clientID, body, ok, err := build()
	if err != nil || !ok {
		return err
	}
	raw, err := json.Marshal(body)
	if err != nil {
		return err
	}
	rows, err := tx.QueryContext(ctx, `SELECT id, events FROM webhooks WHERE client_id = ? AND active = 1`, clientID)
	if err != nil {
		return err
	}
	type hook struct{ id, events string }
	hooks, err := store.Collect(rows, func(r store.Scanner) (hook, error) {
		var h hook
		return h, r.Scan(&h.id, &h.events)
	})
	if err != nil {
		return err
	}
	now := store.TimeText(q.Store.Now())
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

const deliveryCols = `id, webhook_id, event, body, state, attempts, last_status, last_error, created_at, delivered_at`

func scanDelivery(r store.Scanner) (Delivery, error) {
	var d Delivery
	var created string
	var delivered sql.NullString
	err := r.Scan(&d.ID, &d.WebhookID, &d.Event, &d.Body, &d.State, &d.Attempts, &d.LastStatus, &d.LastError, &created, &delivered)
	d.CreatedAt = store.ParseTimeText(created)
	if delivered.Valid {
		t := store.ParseTimeText(delivered.String)
		d.DeliveredAt = &t
	}
	return d, err
}

// Due lists deliveries waiting whose time has come.
func (q *Queue) Due(ctx context.Context, limit int) ([]Delivery, error) {
	rows, err := q.Store.Read(ctx).QueryContext(ctx, `SELECT `+deliveryCols+` FROM webhook_deliveries WHERE state = 'pending' AND next_at <= ?
		ORDER BY next_at, id LIMIT ?`, store.TimeText(q.Store.Now()), limit)
	if err != nil {
		return nil, fmt.Errorf("webhook: due deliveries: %w", err)
	}
	return store.Collect(rows, scanDelivery)
}

// Deliveries lists a subscription's deliveries, newest first.
func (q *Queue) Deliveries(ctx context.Context, webhookID string, limit int) ([]Delivery, error) {
	rows, err := q.Store.Read(ctx).QueryContext(ctx, `SELECT `+deliveryCols+` FROM webhook_deliveries WHERE webhook_id = ?
		ORDER BY id DESC LIMIT ?`, webhookID, limit)
	if err != nil {
		return nil, fmt.Errorf("webhook: deliveries: %w", err)
	}
	return store.Collect(rows, scanDelivery)
}

// Ping queues a test event for a subscription and returns it.
func (q *Queue) Ping(ctx context.Context, webhookID string) (Delivery, error) {
	nowT := q.Store.Now()
	now := store.TimeText(nowT)
	d := Delivery{ID: work.NewID(), WebhookID: webhookID, Event: EventPing, State: "pending", CreatedAt: nowT}
	body, _ := json.Marshal(map[string]string{"event": EventPing, "webhook_id": webhookID, "sent_at": now})
	d.Body = string(body)
	err := q.Store.Write(ctx, func(tx *store.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO webhook_deliveries (id, webhook_id, event, body, state, next_at, created_at)
			VALUES (?, ?, ?, ?, 'pending', ?, ?)`, d.ID, webhookID, EventPing, d.Body, now, now)
		return err
	})
	if err != nil {
		return Delivery{}, fmt.Errorf("webhook: ping: %w", err)
	}
	return d, nil
}

// Note records an attempt: delivered, or tried again at next (zero next:
// given up).
func (q *Queue) Note(ctx context.Context, id string, status int, errText string, delivered bool, next time.Time) error {
	now := store.TimeText(q.Store.Now())
	err := q.Store.Write(ctx, func(tx *store.Tx) error {
		var err error
		switch {
		case delivered:
			_, err = tx.ExecContext(ctx, `UPDATE webhook_deliveries SET state = 'delivered', attempts = attempts + 1, last_status = ?,
				last_error = '', delivered_at = ? WHERE id = ?`, status, now, id)
		case next.IsZero():
			_, err = tx.ExecContext(ctx, `UPDATE webhook_deliveries SET state = 'failed', attempts = attempts + 1, last_status = ?,
				last_error = ? WHERE id = ?`, status, errText, id)
		default:
			_, err = tx.ExecContext(ctx, `UPDATE webhook_deliveries SET attempts = attempts + 1, last_status = ?, last_error = ?, next_at = ?
				WHERE id = ?`, status, errText, store.TimeText(next), id)
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("webhook: note delivery: %w", err)
	}
	return nil
}
