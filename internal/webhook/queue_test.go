package webhook

import (
	"context"
	"errors"
	"testing"
	"time"

	"banyan/internal/auth"
	"banyan/internal/store"
	"banyan/internal/store/storetest"
)

// A subscription gets the events it names, queued in the transaction that
// causes them; a ping is queued for it alone; an attempt is noted; a
// removed subscription's waiting deliveries fail.
func TestQueue(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.Open(t, store.Options{})
	q := &Queue{Store: st}
	people := &auth.Service{Store: st}
	client, err := people.CreateOrg(ctx, auth.OrgClient, "acme")
	if err != nil {
		t.Fatal(err)
	}
	notify := func(event, clientID string) {
		t.Helper()
		if err := st.Write(ctx, func(tx *store.Tx) error {
			return q.Notify(ctx, tx, event, func() (string, any, bool, error) {
				return clientID, map[string]string{"event": event}, true, nil
			})
		}); err != nil {
			t.Fatal(err)
		}
	}
	notify(EventResultReady, client.ID) // no subscription yet: nothing queued
	h, err := q.Create(ctx, client.ID, "https://example.org/hook", []string{EventResultReady})
	if err != nil || len(h.Secret) < 30 || !h.Active {
		t.Fatalf("create: %+v %v", h, err)
	}
	notify(EventResultReady, client.ID)
	notify(EventBatchCompleted, client.ID) // not subscribed to
	notify(EventResultReady, "someone-else")
	if _, err := q.Ping(ctx, h.ID); err != nil {
		t.Fatal(err)
	}
	due, err := q.Due(ctx, 10)
	if err != nil || len(due) != 2 || due[0].Event != EventResultReady || due[1].Event != EventPing {
		t.Fatalf("due: %+v %v; want the result and the ping", due, err)
	}
	if err := q.Note(ctx, due[0].ID, 200, "", true, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if err := q.Note(ctx, due[1].ID, 500, "the target answered 500", false, st.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if due, _ := q.Due(ctx, 10); len(due) != 0 {
		t.Fatalf("due after the attempts: %+v", due)
	}
	if err := q.Disable(ctx, h.ID); err != nil {
		t.Fatal(err)
	}
	ds, err := q.Deliveries(ctx, h.ID, 10)
	if err != nil || len(ds) != 2 || ds[0].State != "failed" || ds[1].State != "delivered" || ds[1].DeliveredAt == nil {
		t.Fatalf("deliveries: %+v %v; want the ping failed (removed), the result delivered", ds, err)
	}
	got, secret, err := q.Get(ctx, h.ID)
	if err != nil || got.Active || secret != h.Secret {
		t.Fatalf("get: %+v %q %v", got, secret, err)
	}
	if _, _, err := q.Get(ctx, "01900000-0000-7000-8000-000000000000"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("get unknown: %v", err)
	}
	if hs, err := q.List(ctx, client.ID); err != nil || len(hs) != 1 || hs[0].Secret != "" {
		t.Fatalf("list: %+v %v", hs, err)
	}
}
