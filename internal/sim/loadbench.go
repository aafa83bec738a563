package sim

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// LoadOptions drives the dispatch load benchmark: simulated workers of the
// hub's built-in center taking and answering tasks over HTTP as fast as
// the hubs let them.
type LoadOptions struct {
	// URLs are the hubs; each worker's calls go to them in turn.
	URLs []string
	// Tokens are the workers' tokens, one goroutine each.
	Tokens   []string
	Duration time.Duration
	// Rate paces the workers to this many answers a second in all, each
	// worker starting its rounds on a fixed schedule (a round late to
	// start starts at once); 0 means every worker goes as fast as it can.
	// As fast as it can measures the most the hub does; paced measures how
	// long a worker waits for a task at a given load — with no pause
	// between rounds, 200 workers queue on the hub and each call's wait
	// is about 200 divided by the rate, whatever the hub does.
	Rate float64
}

// LoadResult is what the benchmark measured.
type LoadResult struct {
	Workers          int     `json:"workers"`
	OfferedRate      float64 `json:"offered_rate,omitempty"`
	Hubs             int     `json:"hubs"`
	Seconds          float64 `json:"seconds"`
	Answers          int64   `json:"answers"`
	AnswersPerSecond float64 `json:"answers_per_second"`
	NextP50MS        float64 `json:"next_p50_ms"`
	NextP99MS        float64 `json:"next_p99_ms"`
	AnswerP50MS      float64 `json:"answer_p50_ms"`
	AnswerP99MS      float64 `json:"answer_p99_ms"`
	Errors           int64   `json:"errors"`
}

// RunLoad runs the workers until the duration is up or the tasks run out.
func RunLoad(ctx context.Context, opt LoadOptions) (LoadResult, error) {
	if len(opt.URLs) == 0 || len(opt.Tokens) == 0 {
		return LoadResult{}, fmt.Errorf("load: no hubs or no workers")
	}
	tr := &http.Transport{MaxIdleConnsPerHost: len(opt.Tokens) + 8, MaxConnsPerHost: 0, IdleConnTimeout: time.Minute}
	client := &http.Client{Transport: tr, Timeout: time.Minute}
	defer tr.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(ctx, opt.Duration)
	defer cancel()
	var answers, errs atomic.Int64
	nexts := make([][]time.Duration, len(opt.Tokens))
	subs := make([][]time.Duration, len(opt.Tokens))
	post := func(url, token string, body []byte) (int, []byte, error) {
		req, err := http.NewRequestWithContext(ctx, "POST", url, bytes.NewReader(body))
		if err != nil {
			return 0, nil, err
		}
		req.Header.Set("Authorization", "Bearer "+token)
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0, nil, err
		}
		defer resp.Body.Close()
		data, err := io.ReadAll(resp.Body)
		return resp.StatusCode, data, err
	}
	answer := []byte(`{"answer":{"label":"ok"},"duration_ms":4000}`)
	start := time.Now()
	var wg sync.WaitGroup
	for i, tok := range opt.Tokens {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var every time.Duration
			if opt.Rate > 0 {
				every = time.Duration(float64(len(opt.Tokens)) / opt.Rate * float64(time.Second))
			}
			due := start.Add(every * time.Duration(i) / time.Duration(len(opt.Tokens)))
			for n := i; ctx.Err() == nil; n++ {
				if every > 0 {
					if wait := time.Until(due); wait > 0 {
						select {
						case <-time.After(wait):
						case <-ctx.Done():
							return
						}
					}
					due = due.Add(every)
				}
				url := opt.URLs[n%len(opt.URLs)]
				t0 := time.Now()
				status, data, err := post(url+"/api/v1/work/next", tok, nil)
				if ctx.Err() != nil {
					return
				}
				if err != nil || (status != 200 && status != http.StatusNoContent) {
					errs.Add(1)
					continue
				}
				nexts[i] = append(nexts[i], time.Since(t0))
				if status == http.StatusNoContent {
					return // the project is done
				}
				var off struct {
					AssignmentID string `json:"assignment_id"`
				}
				if err := json.Unmarshal(data, &off); err != nil {
					errs.Add(1)
					continue
				}
				t1 := time.Now()
				status, _, err = post(opt.URLs[(n+1)%len(opt.URLs)]+"/api/v1/assignments/"+off.AssignmentID+"/answer", tok, answer)
				if ctx.Err() != nil {
					return
				}
				if err != nil || status != 200 {
					errs.Add(1)
					continue
				}
				subs[i] = append(subs[i], time.Since(t1))
				answers.Add(1)
			}
		}()
	}
	wg.Wait()
	took := time.Since(start)
	res := LoadResult{Workers: len(opt.Tokens), OfferedRate: opt.Rate, Hubs: len(opt.URLs), Seconds: took.Seconds(), Answers: answers.Load(), Errors: errs.Load()}
	res.AnswersPerSecond = float64(res.Answers) / took.Seconds()
	res.NextP50MS, res.NextP99MS = percentiles(slices.Concat(nexts...))
	res.AnswerP50MS, res.AnswerP99MS = percentiles(slices.Concat(subs...))
	return res, nil
}

func percentiles(d []time.Duration) (p50, p99 float64) {
	if len(d) == 0 {
		return 0, 0
	}
	slices.Sort(d)
	at := func(q float64) float64 { return float64(d[min(len(d)-1, int(q*float64(len(d))))]) / 1e6 }
	return at(0.50), at(0.99)
}

// FsyncRate measures how many small write+fsync rounds a second the disk
// under dir takes, for about the given time: the ceiling of any store
// that makes each commit durable on its own.
func FsyncRate(dir string, d time.Duration) (float64, error) {
	f, err := os.CreateTemp(dir, "fsync-*")
	if err != nil {
		return 0, err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	buf := make([]byte, 4096)
	n := 0
	start := time.Now()
	for time.Since(start) < d {
		if _, err := f.WriteAt(buf, int64(n%256)*4096); err != nil {
			return 0, err
		}
		if err := f.Sync(); err != nil {
			return 0, err
		}
		n++
	}
	return float64(n) / time.Since(start).Seconds(), nil
}
