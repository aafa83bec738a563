package audit_test

import (
	"context"
	"strings"
	"testing"

	"banyan/internal/audit"
	"banyan/internal/auth"
	"banyan/internal/store"
	"banyan/internal/store/storetest"
)

// The chain verifies; an edited event and a deleted one are each named.
func TestChain(t *testing.T) {
	t.Parallel()
	st := storetest.Open(t, store.Options{})
	ctx := context.Background()
	for i := range 5 {
		if _, err := audit.Log(ctx, st, auth.HubOrgID, audit.Record{Actor: "u1", Action: "POST /api/v1/clients", Subject: string(rune('a' + i))}); err != nil {
			t.Fatal(err)
		}
	}
	rep, err := audit.Verify(ctx, st)
	if err != nil || rep.Problem != "" || rep.Events != 5 || rep.Head == store.GenesisHash {
		t.Fatalf("verify: %+v %v", rep, err)
	}
	evs, err := audit.List(ctx, st, auth.HubOrgID, store.Page{Limit: 10})
	if err != nil || len(evs) != 5 || evs[0].Actor != "u1" || evs[0].At.IsZero() {
		t.Fatalf("list: %+v %v", evs, err)
	}
	for _, tc := range []struct{ sql, want string }{
		{`UPDATE audit_log SET subject = 'z' WHERE seq = 3`, "event 3"},
		{`DELETE FROM audit_log WHERE seq = 2`, "event 2 is missing"},
	} {
		if err := st.Write(ctx, func(tx *store.Tx) error { _, err := tx.ExecContext(ctx, tc.sql); return err }); err != nil {
			t.Fatal(err)
		}
		rep, err := audit.Verify(ctx, st)
		if err != nil || !strings.Contains(rep.Problem, tc.want) {
			t.Fatalf("after %q: %+v %v; want %q", tc.sql, rep, err, tc.want)
		}
	}
}
