package store

import (
	"context"
	"strings"
	"testing"
)

func TestAuditChain(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	for i := range 5 {
		if _, err := s.RecordAudit(ctx, HubOrgID, AuditRecord{Actor: "u1", Action: "POST /api/v1/clients", Subject: string(rune('a' + i))}); err != nil {
			t.Fatal(err)
		}
	}
	rep, err := s.VerifyAudit(ctx)
	if err != nil || rep.Problem != "" || rep.Events != 5 {
		t.Fatalf("verify: %+v %v", rep, err)
	}
	for _, tc := range []struct{ sql, want string }{
		{`UPDATE audit_log SET subject = 'z' WHERE seq = 3`, "event 3"},
		{`DELETE FROM audit_log WHERE seq = 2`, "event 2 is missing"},
	} {
		if _, err := s.w.ExecContext(ctx, tc.sql); err != nil {
			t.Fatal(err)
		}
		rep, err := s.VerifyAudit(ctx)
		if err != nil || !strings.Contains(rep.Problem, tc.want) {
			t.Fatalf("after %q: %+v %v; want %q", tc.sql, rep, err, tc.want)
		}
	}
}
