package center_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"banyan/internal/auth"
	"banyan/internal/center"
	"banyan/internal/project"
	"banyan/internal/sim"
	"banyan/internal/work"
)

// filesProject makes a transcribe project whose tasks name a recording,
// with overlap 1, and a batch of one task per file.
func (g *rig) filesProject(files ...[]byte) {
	g.t.Helper()
	ctx := context.Background()
	if g.proj.ID == "" {
		c, _ := g.hub.Auth.CreateOrg(ctx, auth.OrgClient, "client")
		schema, _ := work.DecodeSchema(work.Transcribe, []byte(`{"inputs":["audio"],"files":["audio"]}`))
		p, err := project.CreateProject(ctx, g.hub.Store, work.Project{ClientID: c.ID, Name: "calls", Kind: work.Transcribe, Schema: schema,
			Overlap: 1, MaxOverlap: 1, AssignmentSeconds: 60, Quality: work.Quality{Language: "en", Method: work.MethodMV}})
		if err != nil {
			g.t.Fatal(err)
		}
		g.proj = p
	}
	var tasks []project.NewTask
	for i, data := range files {
		sum, size, _, err := g.hub.Blobs.Put(bytes.NewReader(data), 1<<30)
		if err != nil {
			g.t.Fatal(err)
		}
		name := "call" + string(rune('a'+i)) + ".ogg"
		tasks = append(tasks, project.NewTask{Payload: []byte(`{"audio":"` + name + `"}`),
			Files: []project.TaskFile{{Field: "audio", Name: name, SHA256: sum, Size: size, MediaType: "audio/ogg"}}})
	}
	_, err := project.CreateBatch(ctx, g.hub.Store, g.proj, project.BatchSpec{Name: "calls", Purpose: work.PurposeWork}, func(yield func(project.NewTask, error) bool) {
		for _, t := range tasks {
			if !yield(t, nil) {
				return
			}
		}
	})
	if err != nil {
		g.t.Fatal(err)
	}
}

func noise(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func (g *rig) get(token, path string) (int, []byte) {
	g.t.Helper()
	req, _ := http.NewRequest("GET", g.desk.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		g.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	g.checkReply("GET", path, resp, data)
	return resp.StatusCode, data
}

// A download cut part way resumes from where it stopped, the file is
// checked against its hash, and the task is offered only once its file is
// at the center; at a center with a database key, the file is encrypted
// on disk all along.
func TestAttachmentDownloadResumes(t *testing.T) {
	t.Run("plain", func(t *testing.T) { attachmentDownloadResumes(t, false) })
	t.Run("encrypted", func(t *testing.T) { attachmentDownloadResumes(t, true) })
}

func attachmentDownloadResumes(t *testing.T, encrypted bool) {
	g := startHub(t)
	recording := noise(300_000, 1) // incompressible, like real audio
	g.filesProject(recording)
	g.startCenter(0, func(c *center.Config) {
		if encrypted {
			c.Key = bytes.Repeat([]byte{9}, 32)
		}
	})
	ctx := context.Background()
	_, tok, err := g.center.EnrolWorker(ctx, "asha")
	if err != nil {
		t.Fatal(err)
	}
	// Every connection is cut after 100 kB: the file needs several.
	g.link.Set(sim.LinkConfig{CutAfter: 100_000})
	if err := g.center.Sync.Once(ctx); err == nil {
		t.Fatal("a 300 kB download crossed a link that cuts at 100 kB")
	}
	q, _ := g.center.Store.CenterQueue(ctx)
	if q.ActiveGrants != 1 || q.FilesMissing != 1 {
		t.Fatalf("after the cut: %+v", q)
	}
	partial := filepath.Join(g.center.Config.DataDir, "blobs", "partial")
	entries, _ := os.ReadDir(partial)
	if len(entries) != 1 {
		t.Fatalf("partial downloads: %d", len(entries))
	}
	fi, _ := entries[0].Info()
	if fi.Size() == 0 || fi.Size() >= int64(len(recording)) {
		t.Fatalf("partial download holds %d of %d bytes", fi.Size(), len(recording))
	}
	// The worker is not offered a task whose file is not here.
	if status, _ := g.call(tok, "POST", "/api/v1/work/next", nil); status != http.StatusNoContent {
		t.Fatalf("offered a task without its file: %d", status)
	}
	_, before := g.link.Bytes()
	rounds := 1
	for ; rounds < 10; rounds++ {
		if g.center.Sync.Once(ctx) == nil {
			break
		}
	}
	if rounds == 10 {
		t.Fatal("the download never finished")
	}
	_, after := g.link.Bytes()
	// Resumed, not restarted: what crossed after the first cut is the
	// rest of the file plus the calls' own small bytes.
	rest := int64(len(recording)) - fi.Size()
	if after-before > rest+int64(rounds)*20_000 {
		t.Fatalf("%d bytes came down after the cut for the %d left", after-before, rest)
	}
	q, _ = g.center.Store.CenterQueue(ctx)
	if q.FilesMissing != 0 || q.CacheBytes != int64(len(recording)) {
		t.Fatalf("after the download: %+v", q)
	}
	status, off := g.call(tok, "POST", "/api/v1/work/next", nil)
	if status != 200 {
		t.Fatalf("next: %d %v", status, off)
	}
	files := off["task"].(map[string]any)["files"].([]any)
	url := files[0].(map[string]any)["url"].(string)
	if status, data := g.get(tok, url); status != 200 || !bytes.Equal(data, recording) {
		t.Fatalf("the worker's copy: %d, %d bytes", status, len(data))
	}
	sum := sha256.Sum256(recording)
	hexSum := hex.EncodeToString(sum[:])
	raw, err := os.ReadFile(filepath.Join(g.center.Config.DataDir, "blobs", hexSum[:2], hexSum[2:]))
	if err != nil {
		t.Fatal(err)
	}
	if plain := bytes.Contains(raw, recording[1000:2000]); plain == encrypted {
		t.Fatalf("encrypted %v, but the file on disk holds the recording as it is: %v", encrypted, plain)
	}
}

// A full cache makes room by evicting files of finished tasks, least
// recently used first, and never a file a leased task still needs.
func TestAttachmentCacheEvictsFinishedFirst(t *testing.T) {
	g := startHub(t)
	first := noise(200_000, 2)
	g.filesProject(first)
	g.startCenter(0, nil)
	g.center.Sync.CacheBytes = 300_000
	ctx := context.Background()
	_, tok, _ := g.center.EnrolWorker(ctx, "ravi")
	if err := g.center.Sync.Once(ctx); err != nil {
		t.Fatal(err)
	}
	status, off := g.call(tok, "POST", "/api/v1/work/next", nil)
	if status != 200 {
		t.Fatalf("next: %d", status)
	}
	id := off["assignment_id"].(string)
	if status, _ := g.call(tok, "POST", "/api/v1/assignments/"+id+"/answer", map[string]any{"answer": map[string]string{"text": "hello"}, "duration_ms": 4000}); status != 200 {
		t.Fatalf("answer: %d", status)
	}
	if err := g.center.Sync.Once(ctx); err != nil { // the answer goes up; the grant is done
		t.Fatal(err)
	}
	second := noise(200_000, 3)
	g.filesProject(second)
	if err := g.center.Sync.Once(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := g.center.Blobs.Size(sha(first)); err == nil {
		t.Fatal("the finished task's file was kept past the cache limit")
	}
	if _, err := g.center.Blobs.Size(sha(second)); err != nil {
		t.Fatalf("the new task's file: %v", err)
	}
	// A third file does not fit beside the second, which its task still
	// needs: it waits, and the second stays.
	third := noise(200_000, 4)
	g.filesProject(third)
	if err := g.center.Sync.Once(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := g.center.Blobs.Size(sha(second)); err != nil {
		t.Fatalf("a needed file was evicted: %v", err)
	}
	q, _ := g.center.Store.CenterQueue(ctx)
	if q.FilesMissing != 1 {
		t.Fatalf("files missing: %+v", q)
	}
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// A file fetch whose request is lost, or whose reply is lost after the hub
// sent it, costs a retry and nothing else: the task is offered once the
// file is whole and verified.
func TestAttachmentFetchSurvivesFaults(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"request lost", "reply lost"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			g := startHub(t)
			scan := noise(50_000, 7)
			g.filesProject(scan)
			g.startCenter(0, nil)
			ctx := context.Background()
			_, tok, _ := g.center.EnrolWorker(ctx, "uma")
			g.center.Sync.Client.HTTP.Transport = &faulty{next: http.DefaultTransport, path: "/uplink/v1/files/", mode: mode}
			if err := g.center.Sync.Once(ctx); err == nil {
				t.Fatal("a faulty fetch reported success")
			}
			if status, _ := g.call(tok, "POST", "/api/v1/work/next", nil); status != http.StatusNoContent {
				t.Fatalf("offered a task without its file: %d", status)
			}
			if err := g.center.Sync.Once(ctx); err != nil {
				t.Fatal(err)
			}
			status, off := g.call(tok, "POST", "/api/v1/work/next", nil)
			if status != 200 {
				t.Fatalf("next: %d", status)
			}
			url := off["task"].(map[string]any)["files"].([]any)[0].(map[string]any)["url"].(string)
			if status, data := g.get(tok, url); status != 200 || !bytes.Equal(data, scan) {
				t.Fatalf("file: %d, %d bytes", status, len(data))
			}
		})
	}
}
