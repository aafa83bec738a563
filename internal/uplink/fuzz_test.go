package uplink

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"banyan/internal/auth"
	"banyan/internal/dispatch"
	"banyan/internal/store"
	"banyan/internal/uplink/wire"
	"banyan/internal/work"
)

// FuzzUpload feeds arbitrary upload bodies, compressed or not, to the
// hub's decoder and then every item to the handler of its kind: a bad
// body is refused with a problem, a bad item is rejected or fails, and
// nothing panics.
func FuzzUpload(f *testing.F) {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(f.TempDir(), "f.db"), store.Options{Migrate: true})
	if err != nil {
		f.Fatal(err)
	}
	defer st.Close()
	people := &auth.Service{Store: st}
	center, err := people.CreateOrg(ctx, auth.OrgCenter, "fuzz")
	if err != nil {
		f.Fatal(err)
	}
	worker, _ := people.CreateUser(ctx, center.ID, "w", "worker")
	h := &Hub{Store: st, Auth: people, Dispatch: &dispatch.Service{Store: st}, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), TrainingRate: 5000}
	seed := func(kind string, body any) []byte {
		b, _ := json.Marshal(body)
		up, _ := json.Marshal(wire.Upload{Items: []wire.Item{{ID: work.NewID(), Seq: 1, Kind: kind, Body: b}}})
		return up
	}
	f.Add(seed(wire.KindAnswer, wire.Answer{LeaseID: work.NewID(), Epoch: 1, WorkerID: worker.ID, Answer: json.RawMessage(`{"label":"ok"}`)}), "")
	f.Add(seed(wire.KindActivity, map[string]any{"worker_id": worker.ID, "started_at": "2026-11-23T09:00:00Z", "active_ms": 60000, "what": "training"}), "")
	f.Add(seed(wire.KindActivity, map[string]any{"worker_id": worker.ID, "started_at": "2026-11-23T09:05:00Z", "active_ms": 60000,
		"what": "training", "session": map[string]any{"id": work.NewID(), "worker_id": worker.ID, "course_id": work.NewID(),
			"started_at": "2026-11-23T09:00:00Z", "last_seen_at": "2026-11-23T09:20:00Z"}}), "")
	f.Add(seed(wire.KindDeclaration, map[string]any{"worker_id": worker.ID, "declared_at": "2026-11-23T09:00:00Z", "gender": "woman"}), "")
	f.Add(seed(wire.KindWithdrawal, map[string]any{"worker_id": worker.ID}), "")
	f.Add(seed(wire.KindReview, map[string]any{"assignment_id": work.NewID(), "reviewer_id": worker.ID, "verdict": "agree", "note": ""}), "")
	f.Add(seed(wire.KindAudit, map[string]any{"actor": "center", "action": "user.added", "subject": worker.ID}), "")
	f.Add([]byte(`{"items":[{"id":"x","kind":"nonsense","body":{}}]}`), "")
	f.Add([]byte{0x1f, 0x8b, 0, 0}, "gzip")
	f.Fuzz(func(t *testing.T, body []byte, encoding string) {
		req := httptest.NewRequest("POST", "/uplink/v1/upload", bytes.NewReader(body))
		if encoding != "" {
			req.Header.Set("Content-Encoding", encoding)
		}
		var in wire.Upload
		if err := decode(httptest.NewRecorder(), req, &in); err != nil {
			return
		}
		if len(in.Items) > 50 {
			in.Items = in.Items[:50]
		}
		for _, it := range in.Items {
			res, err := h.item(ctx, center, it, 0)
			if err == nil && res.Status == "" {
				t.Fatalf("item %+v: no status and no error", it)
			}
		}
	})
}
