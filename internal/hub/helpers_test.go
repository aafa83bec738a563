package hub

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"banyan/internal/project"
	"banyan/internal/store"
	"banyan/internal/work"
)

// openTestHub opens a quiet hub in a fresh directory, with edit (when not
// nil) applied to the default configuration, and closes it when the test
// ends.
func openTestHub(t *testing.T, edit func(*Config)) *Hub {
	t.Helper()
	cfg := DefaultConfig()
	cfg.DataDir = t.TempDir()
	if edit != nil {
		edit(&cfg)
	}
	h, err := Open(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

// classifyProject creates a client's ok-or-spam project over one text
// input: one answer per task, settled by majority vote.
func classifyProject(t *testing.T, st *store.Store, clientID, name string) work.Project {
	t.Helper()
	schema, err := work.DecodeSchema(work.Classify, []byte(`{"inputs":["text"],"labels":["ok","spam"]}`))
	if err != nil {
		t.Fatal(err)
	}
	p, err := project.CreateProject(context.Background(), st, work.Project{ClientID: clientID, Name: name, Kind: work.Classify, Schema: schema,
		Overlap: 1, MaxOverlap: 1, AssignmentSeconds: 600, Quality: work.Quality{Language: "en", Method: work.MethodMV}})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// send calls the hub at base: with token when it is not empty, body as
// ctype when ctype is not empty. It returns the status and the reply.
func send(t *testing.T, base, token, method, path, ctype, body string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	reply, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, reply
}

// sendJSON is send with a JSON object for reply.
func sendJSON(t *testing.T, base, token, method, path, ctype, body string) (int, map[string]any) {
	t.Helper()
	code, reply := send(t, base, token, method, path, ctype, body)
	var out map[string]any
	json.Unmarshal(reply, &out)
	return code, out
}

// testClock is a settable clock for a hub's store.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }
