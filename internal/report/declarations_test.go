package report_test

import (
	"context"
	"errors"
	"testing"

	"banyan/internal/auth"
	"banyan/internal/report"
	"banyan/internal/store"
	"banyan/internal/store/storetest"
	"banyan/internal/uplink"
	"banyan/internal/uplink/wire"
	"banyan/internal/work"
)

// At a village center a withdrawal erases the worker's declarations and
// their copies in the outbox (dropped while unsent, blanked once sent),
// and goes up itself.
func TestWithdrawAtCenter(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.Open(t, store.Options{Outbox: uplink.AppendOutbox})
	outbox := &uplink.Outbox{Store: st}
	center := work.NewID()
	if err := (&auth.Service{Store: st}).EnsureCenterOrg(ctx, center, "Melur"); err != nil {
		t.Fatal(err)
	}
	u, err := (&auth.Service{Store: st}).CreateUser(ctx, center, "sunita", "worker")
	if err != nil {
		t.Fatal(err)
	}
	other, err := (&auth.Service{Store: st}).CreateUser(ctx, center, "ravi", "worker")
	if err != nil {
		t.Fatal(err)
	}
	declare := func(workerID string, d work.Declaration) string {
		t.Helper()
		id, err := report.RecordDeclaration(ctx, st, report.DeclarationRecord{WorkerID: workerID, Declaration: d})
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	sent := declare(u.ID, work.Declaration{Gender: "woman", Disability: "yes"})
	if err := outbox.Ack(ctx, map[string][2]string{sent: {wire.StatusAccepted, ""}}); err != nil {
		t.Fatal(err)
	}
	declare(u.ID, work.Declaration{Gender: "woman", Disability: "yes", Minority: "no"})
	declare(other.ID, work.Declaration{Gender: "man"})

	n, err := report.WithdrawDeclarations(ctx, st, u.ID)
	if err != nil || n != 2 {
		t.Fatalf("withdraw: %d, %v; want 2 erased", n, err)
	}
	if _, _, err := report.LatestDeclaration(ctx, st, u.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the worker's declaration is still there: %v", err)
	}
	if _, _, err := report.LatestDeclaration(ctx, st, other.ID); err != nil {
		t.Errorf("another worker's declaration went too: %v", err)
	}
	if n, err := outbox.CountWith(ctx, "disability"); err != nil || n != 0 {
		t.Errorf("%d outbox records still hold what was declared (%v)", n, err)
	}
	pending, err := outbox.Pending(ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, o := range pending {
		kinds = append(kinds, o.Kind)
	}
	// Left to go up: the other worker's declaration and the withdrawal.
	if len(pending) != 2 || pending[0].Kind != wire.KindDeclaration || pending[1].Kind != wire.KindWithdrawal ||
		string(pending[1].Body) != `{"worker_id":"`+u.ID+`"}` {
		t.Fatalf("outbox after the withdrawal: %v", kinds)
	}
}

// On the hub a withdrawal from a center erases its worker's declarations;
// it waits for a worker not enrolled yet and is refused for another
// organisation's. (That it is stored once is uplink's: see its
// TestReceiversStoreOnce.)
func TestReceiveWithdrawal(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.Open(t, store.Options{})
	center, err := (&auth.Service{Store: st}).CreateOrg(ctx, auth.OrgCenter, "Melur")
	if err != nil {
		t.Fatal(err)
	}
	elsewhere, err := (&auth.Service{Store: st}).CreateOrg(ctx, auth.OrgCenter, "Kottur")
	if err != nil {
		t.Fatal(err)
	}
	u, _ := (&auth.Service{Store: st}).CreateUser(ctx, center.ID, "sunita", "worker")
	stranger, _ := (&auth.Service{Store: st}).CreateUser(ctx, elsewhere.ID, "ravi", "worker")
	for _, id := range []string{u.ID, stranger.ID} {
		if _, err := report.RecordDeclaration(ctx, st, report.DeclarationRecord{WorkerID: id, Declaration: work.Declaration{Gender: "woman"}}); err != nil {
			t.Fatal(err)
		}
	}
	receive := func(worker string) (wire.Verdict, error) {
		var v wire.Verdict
		err := st.Write(ctx, func(tx *store.Tx) (err error) {
			v, err = report.ReceiveWithdrawal(ctx, tx, center.ID, wire.Withdrawal{WorkerID: worker})
			return err
		})
		return v, err
	}
	for _, c := range []struct {
		name   string
		worker string
		want   string
	}{
		{"not enrolled yet", work.NewID(), wire.StatusRetry},
		{"another organisation's worker", stranger.ID, wire.StatusRejected},
	} {
		v, err := receive(c.worker)
		if err != nil || v.Status != c.want {
			t.Errorf("%s: %+v, %v; want %s", c.name, v, err, c.want)
		}
	}
	if _, _, err := report.LatestDeclaration(ctx, st, stranger.ID); err != nil {
		t.Errorf("another organisation's worker lost their declaration: %v", err)
	}
	if v, err := receive(u.ID); err != nil || v.Status != wire.StatusAccepted {
		t.Fatalf("withdrawal: %+v, %v; want %s", v, err, wire.StatusAccepted)
	}
	if _, _, err := report.LatestDeclaration(ctx, st, u.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the hub still has the declaration: %v", err)
	}
}
