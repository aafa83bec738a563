package center_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"banyan/internal/center"
	"banyan/internal/dispatch"
	"banyan/internal/report"
	"banyan/internal/store"
)

// proc is one banyan process the test can SIGKILL and start again.
type proc struct {
	t    *testing.T
	bin  string
	args []string
	url  string
	log  *os.File
	cmd  *exec.Cmd
}

func (p *proc) start() {
	p.t.Helper()
	p.cmd = exec.Command(p.bin, p.args...)
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	if err := p.cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(p.url + "/healthz")
		if err == nil {
			resp.Body.Close()
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	p.t.Fatalf("%s did not come up; see %s", p.args[0], p.log.Name())
}

func (p *proc) kill() {
	p.cmd.Process.Signal(syscall.SIGKILL)
	p.cmd.Wait()
}

func (p *proc) stop() {
	p.cmd.Process.Signal(syscall.SIGTERM)
	p.cmd.Wait()
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func run(t *testing.T, bin string, args ...string) string {
	t.Helper()
	var out, errb bytes.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("banyan %s: %v\n%s", strings.Join(args, " "), err, errb.String())
	}
	return strings.TrimSpace(out.String())
}

func post(t *testing.T, url, token, ctype string, body []byte, out any) {
	t.Helper()
	req, _ := http.NewRequest("POST", url, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", ctype)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		t.Fatalf("POST %s: %d", url, resp.StatusCode)
	}
	if out != nil {
		json.NewDecoder(resp.Body).Decode(out)
	}
}

// TestKillNineLoop runs the real binaries, a hub and a center, and kills
// one or the other with SIGKILL twenty times (seeded) while workers answer
// at the center. Afterwards every answer a worker was told was saved is on
// the hub exactly once, and the hub holds no answer the center did not
// save. Set BANYAN_KILLS for a longer run.
func TestKillNineLoop(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the real binary; skipped with -short")
	}
	kills := 20
	if n := os.Getenv("BANYAN_KILLS"); n != "" {
		fmt.Sscanf(n, "%d", &kills)
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "banyan")
	build := exec.Command("go", "build", "-o", bin, "banyan/cmd/banyan")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	logf, _ := os.Create(filepath.Join(dir, "processes.log"))
	defer logf.Close()
	hubData, centerData := filepath.Join(dir, "hub"), filepath.Join(dir, "center")
	hubAddr, centerAddr := freeAddr(t), freeAddr(t)
	hubURL, centerURL := "http://"+hubAddr, "http://"+centerAddr
	hub := &proc{t: t, bin: bin, args: []string{"serve", "--data", hubData, "--addr", hubAddr, "--refit-interval", "0"}, url: hubURL, log: logf}
	hub.start()
	admin := run(t, bin, "admin", "init", "--data", hubData)
	var client, project struct{ ID string }
	post(t, hubURL+"/api/v1/clients", admin, "application/json", []byte(`{"name":"acme"}`), &client)
	post(t, hubURL+"/api/v1/projects", admin, "application/json",
		[]byte(`{"client_id":"`+client.ID+`","name":"mod","kind":"classify","schema":{"inputs":["text"],"labels":["ok","spam"]},"overlap":2,"max_overlap":2}`), &project)
	var csv strings.Builder
	csv.WriteString("text\n")
	// Enough work that the workers are still busy when the last kill
	// comes.
	for i := range 3000 {
		fmt.Fprintf(&csv, "post %d\n", i)
	}
	post(t, hubURL+"/api/v1/projects/"+project.ID+"/batches", admin, "text/csv", []byte(csv.String()), nil)
	centerToken := run(t, bin, "admin", "center", "add", "Kottur", "--data", hubData)
	centerArgs := []string{"--hub", hubURL, "--token", centerToken, "--data", centerData}
	var tokens []string
	for i := range 4 {
		tokens = append(tokens, run(t, bin, append([]string{"center", "worker", "add", fmt.Sprintf("w%d", i)}, centerArgs...)...))
	}
	centerProc := &proc{t: t, bin: bin, url: centerURL, log: logf,
		args: append([]string{"center", "--addr", centerAddr, "--sync-interval", "100ms", "--ahead", "30"}, centerArgs...)}
	centerProc.start()

	// Workers answer at the center, retrying through kills; an answer goes
	// in the oracle once the center has said it is saved.
	var mu sync.Mutex
	oracle := map[string]bool{}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	httpc := &http.Client{Timeout: 3 * time.Second}
	call := func(token, path string, body []byte) (int, map[string]any, error) {
		req, _ := http.NewRequestWithContext(ctx, "POST", centerURL+path, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := httpc.Do(req)
		if err != nil {
			return 0, nil, err
		}
		defer resp.Body.Close()
		var out map[string]any
		json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out, nil
	}
	for _, tok := range tokens {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				status, off, err := call(tok, "/api/v1/work/next", nil)
				if err != nil || status != 200 {
					time.Sleep(30 * time.Millisecond)
					continue
				}
				id := off["assignment_id"].(string)
				for ctx.Err() == nil {
					status, out, err := call(tok, "/api/v1/assignments/"+id+"/answer", []byte(`{"answer":{"label":"ok"},"duration_ms":2000}`))
					if err == nil && status == 200 && (out["status"] == "accepted" || out["status"] == "duplicate") {
						mu.Lock()
						oracle[id] = true
						mu.Unlock()
						break
					}
					if err == nil && status != 200 && status < 500 {
						break // refused for good (the task has all its answers)
					}
					time.Sleep(30 * time.Millisecond)
				}
			}
		}()
	}

	rng := rand.New(rand.NewPCG(20261123, 9))
	for i := range kills {
		time.Sleep(time.Duration(100+rng.IntN(300)) * time.Millisecond)
		victim := hub
		if rng.IntN(2) == 0 {
			victim = centerProc
		}
		victim.kill()
		time.Sleep(time.Duration(rng.IntN(200)) * time.Millisecond)
		victim.start()
		mu.Lock()
		n := len(oracle)
		mu.Unlock()
		t.Logf("kill %d: %s (%d answers saved so far)", i+1, victim.args[0], n)
	}
	cancel()
	wg.Wait()

	// Let the center drain its outbox, then stop both and read their books.
	deadline := time.Now().Add(30 * time.Second)
	for {
		req, _ := http.NewRequest("GET", centerURL+"/api/v1/center/status", nil)
		req.Header.Set("Authorization", "Bearer "+tokens[0])
		var st struct {
			Queue struct {
				Pending int `json:"outbox_pending"`
			} `json:"queue"`
		}
		if resp, err := http.DefaultClient.Do(req); err == nil {
			json.NewDecoder(resp.Body).Decode(&st)
			resp.Body.Close()
			if st.Queue.Pending == 0 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the center's outbox did not drain")
		}
		time.Sleep(100 * time.Millisecond)
	}
	centerProc.stop()
	hub.stop()
	if len(oracle) == 0 {
		t.Fatalf("no answer was saved during the run")
	}
	bg := context.Background()
	hs, err := store.Open(bg, filepath.Join(hubData, "banyan.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer hs.Close()
	cs, err := store.Open(bg, filepath.Join(centerData, "center.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	ids := make([]string, 0, len(oracle))
	for id := range oracle {
		ids = append(ids, id)
	}
	found, err := dispatch.AnswersPresent(bg, hs, ids)
	if err != nil {
		t.Fatal(err)
	}
	if found != len(ids) {
		t.Fatalf("%d of the %d answers workers were told were saved are on the hub", found, len(ids))
	}
	saved, err := (&center.Local{Store: cs}).Saved(bg)
	if err != nil {
		t.Fatal(err)
	}
	onHub, err := dispatch.AnswersPresent(bg, hs, saved)
	if err != nil {
		t.Fatal(err)
	}
	links, _ := report.CenterLinks(bg, hs, store.Page{Limit: 10})
	var fromCenter int
	for _, l := range links {
		if l.Name == "Kottur" {
			fromCenter, _ = dispatch.AnswersFromOrg(bg, hs, l.ID)
		}
	}
	if onHub != len(saved) || fromCenter != len(saved) {
		t.Fatalf("the center saved %d answers; the hub holds %d of them and %d from the center in all", len(saved), onHub, fromCenter)
	}
	t.Logf("%d kills; %d answers told saved, %d saved at the center, all on the hub once", kills, len(ids), len(saved))
}
