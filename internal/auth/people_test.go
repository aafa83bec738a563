package auth_test

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"testing"

	"banyan/internal/auth"
	"banyan/internal/store"
	"banyan/internal/store/storetest"
	"banyan/internal/uplink"
	"banyan/internal/uplink/wire"
	"banyan/internal/work"
)

// An organisation's name is unique among its kind, a user's within their
// organisation; both read back as made, and list by id.
func TestOrgsAndUsers(t *testing.T) {
	t.Parallel()
	a, _ := newService(t)
	ctx := context.Background()
	acme, err := a.CreateOrg(ctx, auth.OrgClient, "Acme")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.CreateOrg(ctx, auth.OrgClient, "Acme"); !errors.Is(err, store.ErrConflict) {
		t.Errorf("a second client named Acme: %v, want a conflict", err)
	}
	if _, err := a.CreateOrg(ctx, auth.OrgCenter, "Acme"); err != nil {
		t.Errorf("a center named as a client: %v", err)
	}
	if got, err := a.Org(ctx, acme.ID); err != nil || got != acme {
		t.Errorf("Org: got %+v, %v; want %+v", got, err, acme)
	}
	if _, err := a.Org(ctx, "no-such-org"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("an unknown org: %v", err)
	}
	if clients, err := a.Orgs(ctx, auth.OrgClient, store.Page{Limit: 10}); err != nil || len(clients) != 1 || clients[0] != acme {
		t.Errorf("Orgs: got %+v, %v; want just Acme", clients, err)
	}

	admin := newUser(t, a, acme.ID, "Meera", "client_admin")
	if _, err := a.CreateUser(ctx, acme.ID, "Meera", "client_viewer"); !errors.Is(err, store.ErrConflict) {
		t.Errorf("a second Meera at Acme: %v, want a conflict", err)
	}
	viewer := newUser(t, a, acme.ID, "Arjun", "client_viewer")
	if got, err := a.User(ctx, admin.ID); err != nil || got != admin {
		t.Errorf("User: got %+v, %v; want %+v", got, err, admin)
	}
	if _, err := a.User(ctx, "no-such-user"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("an unknown user: %v", err)
	}
	users, err := a.Users(ctx, acme.ID, store.Page{Limit: 10})
	if err != nil || len(users) != 2 || users[0].ID > users[1].ID {
		t.Errorf("Users: got %+v, %v; want both, by id", users, err)
	}
	if page, _ := a.Users(ctx, acme.ID, store.Page{After: min(admin.ID, viewer.ID), Limit: 10}); len(page) != 1 || page[0].ID != max(admin.ID, viewer.ID) {
		t.Errorf("Users after the first: got %+v", page)
	}
	if n, err := a.CountUsers(ctx, acme.ID, "client_admin"); err != nil || n != 1 {
		t.Errorf("CountUsers: got %d, %v; want 1", n, err)
	}
}

// A user's village center is their organisation when it is a center
// other than the hub's built-in one; anyone else has none.
func TestVillageCenterOf(t *testing.T) {
	t.Parallel()
	a, _ := newService(t)
	ctx := context.Background()
	village, err := a.CreateOrg(ctx, auth.OrgCenter, "Village")
	if err != nil {
		t.Fatal(err)
	}
	client, err := a.CreateOrg(ctx, auth.OrgClient, "Acme")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		userID string
		want   string
		wantOK bool
	}{
		{"a village center's worker", newUser(t, a, village.ID, "Kavya", "worker").ID, village.ID, true},
		{"the built-in center's worker", newUser(t, a, auth.BuiltinCenterOrgID, "Ravi", "worker").ID, "", false},
		{"a client's user", newUser(t, a, client.ID, "Meera", "client_admin").ID, "", false},
		{"an unknown user", "no-such-user", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok, err := auth.VillageCenterOf(ctx, a.Store.Read(ctx), tc.userID)
			if err != nil || got != tc.want || ok != tc.wantOK {
				t.Fatalf("got %q, %v, %v; want %q, %v", got, ok, err, tc.want, tc.wantOK)
			}
		})
	}
}

// A center's own organisation, recorded in its database, keeps the hub's
// id; recording it again changes nothing.
func TestEnsureCenterOrg(t *testing.T) {
	t.Parallel()
	a, _ := newService(t)
	ctx := context.Background()
	const id = "01900000-0000-7000-8000-00000000c0de"
	for range 2 {
		if err := a.EnsureCenterOrg(ctx, id, "Melur"); err != nil {
			t.Fatal(err)
		}
	}
	if o, err := a.Org(ctx, id); err != nil || o.Kind != auth.OrgCenter || o.Name != "Melur" {
		t.Fatalf("the center's org: %+v, %v", o, err)
	}
}

// A person enrolled at a center is written with the record that tells the
// hub, naming their role unless they are a worker; a name enrolled already
// is a conflict and tells the hub nothing.
func TestEnrolAtCenter(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a := &auth.Service{Store: storetest.Open(t, store.Options{Outbox: uplink.AppendOutbox})}
	const center = "01900000-0000-7000-8000-00000000c0de"
	if err := a.EnsureCenterOrg(ctx, center, "Melur"); err != nil {
		t.Fatal(err)
	}
	asha, err := a.EnrolAtCenter(ctx, center, "Asha", "worker")
	if err != nil {
		t.Fatal(err)
	}
	manju, err := a.EnrolAtCenter(ctx, center, "Manju", "center_manager")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := a.User(ctx, asha.ID); err != nil || got != asha || got.OrgID != center {
		t.Fatalf("the enrolled worker: %+v, %v; want %+v", got, err, asha)
	}
	if _, err := a.EnrolAtCenter(ctx, center, "Asha", "worker"); !errors.Is(err, store.ErrConflict) {
		t.Errorf("a second Asha: %v, want a conflict", err)
	}
	rows, err := (&uplink.Outbox{Store: a.Store}).Pending(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	want := []map[string]string{{"worker_id": asha.ID, "name": "Asha"}, {"worker_id": manju.ID, "name": "Manju", "role": "center_manager"}}
	if len(rows) != len(want) {
		t.Fatalf("%d outbox rows, want %d", len(rows), len(want))
	}
	for i, r := range rows {
		var body map[string]string
		if err := json.Unmarshal(r.Body, &body); err != nil || r.Kind != "enrolment" || !maps.Equal(body, want[i]) || r.ID == body["worker_id"] {
			t.Errorf("outbox row %d: %s %s (%v); want an enrolment of its own id with %v", i, r.Kind, r.Body, err, want[i])
		}
	}
}

// The hub stores a center's enrolment under the id the center made; a
// second person of the same name at the center, or another center's claim
// on the id, is rejected. (That a replay is a duplicate is uplink's: see
// its TestReceiversStoreOnce.)
func TestReceiveEnrolmentClashes(t *testing.T) {
	t.Parallel()
	a, _ := newService(t)
	ctx := context.Background()
	c, err := a.CreateOrg(ctx, auth.OrgCenter, "c")
	if err != nil {
		t.Fatal(err)
	}
	receive := func(centerID, workerID, name string) (wire.Verdict, error) {
		var v wire.Verdict
		err := a.Store.Write(ctx, func(tx *store.Tx) (err error) {
			v, err = a.ReceiveEnrolment(ctx, tx, centerID, wire.Enrolment{WorkerID: workerID, Name: name, Role: "worker"})
			return err
		})
		return v, err
	}
	wid := work.NewID()
	if v, err := receive(c.ID, wid, "meena"); err != nil || v.Status != wire.StatusAccepted {
		t.Fatalf("enrol: %+v %v", v, err)
	}
	if v, _ := receive(c.ID, work.NewID(), "meena"); v.Status != wire.StatusRejected {
		t.Fatalf("a second meena: %+v", v)
	}
	if _, err := a.User(ctx, wid); err != nil {
		t.Fatal(err)
	}
	other, _ := a.CreateOrg(ctx, auth.OrgCenter, "other")
	if v, _ := receive(other.ID, wid, "meena"); v.Status != wire.StatusRejected {
		t.Fatalf("another center's claim on meena's id: %+v", v)
	}
}
