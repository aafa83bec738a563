package cli

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"
)

// The import and export verbs are clients of a hub's API: they stream a
// batch file up or a project's results down, with progress on the
// terminal (a bar) or in plain lines (anywhere else).

// transferClient bounds every step but the transfer itself, which may take
// long on a slow link: connecting, the TLS handshake, and the hub's reply
// once the body is sent (an import's file is checked whole before the
// hub answers).
var transferClient = &http.Client{Transport: &http.Transport{
	Proxy:                 http.ProxyFromEnvironment,
	DialContext:           (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
	TLSHandshakeTimeout:   30 * time.Second,
	ResponseHeaderTimeout: 30 * time.Minute,
	IdleConnTimeout:       90 * time.Second,
}}

func clientFlags(name, synopsis, about string, errOut io.Writer) (hub, token *string, fs *flag.FlagSet) {
	fs = newFlags(name, synopsis, about, errOut)
	hub = fs.String("hub", "http://127.0.0.1:8080", "the hub's URL")
	token = fs.String("token", "", "an API token (BANYAN_TOKEN_FILE reads it from a file)")
	return hub, token, fs
}

func importCmd(ctx context.Context, args []string, out, errOut io.Writer) error {
	var path string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		path, args = args[0], args[1:]
	}
	hub, token, fs := clientFlags("import", "import FILE --project ID [--name N] [--deadline T]",
		"Uploads a batch file (CSV or JSONL, by its name; .gz is sent compressed) to a\n"+
			"project and prints the batch. The hub checks the whole file before storing any\n"+
			"of it: a bad row names its line and field, and nothing is kept.", errOut)
	project := fs.String("project", "", "the project's id")
	name := fs.String("name", "", "the batch's name (default: the file's name)")
	deadline := fs.String("deadline", "", "the batch's SLA deadline, RFC 3339")
	gold := fs.Bool("gold", false, "upload a gold set (rows with known answers) rather than work")
	if err := parse(fs, args); err != nil {
		return err
	}
	if path == "" || *project == "" || *token == "" {
		return &usageError{"usage: banyan import FILE --hub URL --token T --project ID"}
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	base := filepath.Base(path)
	gz := strings.HasSuffix(base, ".gz")
	format := strings.TrimSuffix(base, ".gz")
	ctype := "text/csv"
	switch {
	case strings.HasSuffix(format, ".jsonl") || strings.HasSuffix(format, ".ndjson"):
		ctype = "application/jsonl"
	case strings.HasSuffix(format, ".csv"):
	default:
		return &usageError{"import: name the file .csv or .jsonl (optionally .gz)"}
	}
	q := url.Values{}
	q.Set("name", *name)
	if *name == "" {
		q.Set("name", strings.TrimSuffix(format, filepath.Ext(format)))
	}
	if *deadline != "" {
		q.Set("deadline", *deadline)
	}
	kind := "batches"
	if *gold {
		kind = "gold"
	}
	p := newProgress(errOut, "uploading "+base, fi.Size())
	body := &countingReader{r: f, n: &p.done}
	req, err := http.NewRequestWithContext(ctx, "POST", strings.TrimSuffix(*hub, "/")+"/api/v1/projects/"+url.PathEscape(*project)+"/"+kind+"?"+q.Encode(), body)
	if err != nil {
		return err
	}
	req.ContentLength = fi.Size()
	req.Header.Set("Content-Type", ctype)
	if gz {
		req.Header.Set("Content-Encoding", "gzip")
	}
	req.Header.Set("Authorization", "Bearer "+*token)
	stop := p.run()
	resp, err := transferClient.Do(req)
	stop()
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated {
		return fmt.Errorf("import: the hub answered %d: %s", resp.StatusCode, strings.TrimSpace(string(data)))
	}
	fmt.Fprintf(errOut, "stored in %.1f s\n", time.Since(p.start).Seconds())
	_, err = out.Write(data)
	return err
}

func exportCmd(ctx context.Context, args []string, out, errOut io.Writer) error {
	hub, token, fs := clientFlags("export", "export (--project ID | --batch ID) [--format csv|jsonl] [--out FILE]",
		"Streams a project's or a batch's results from the hub to a file (or stdout).", errOut)
	project := fs.String("project", "", "a project's id: all its results")
	batch := fs.String("batch", "", "a batch's id: its results only")
	format := fs.String("format", "jsonl", "csv or jsonl")
	outPath := fs.String("out", "", "file to write (default stdout; a name ending .gz is compressed)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if (*project == "") == (*batch == "") || *token == "" {
		return &usageError{"usage: banyan export --hub URL --token T (--project ID | --batch ID) [--out FILE]"}
	}
	if *format != "csv" && *format != "jsonl" {
		return &usageError{"--format: csv or jsonl"}
	}
	path := "/api/v1/projects/" + url.PathEscape(*project) + "/results"
	if *batch != "" {
		path = "/api/v1/batches/" + url.PathEscape(*batch) + "/results"
	}
	req, err := http.NewRequestWithContext(ctx, "GET", strings.TrimSuffix(*hub, "/")+path+"?format="+*format, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+*token)
	resp, err := transferClient.Do(req)
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		var prob struct {
			Detail string `json:"detail"`
		}
		json.Unmarshal(data, &prob)
		return fmt.Errorf("export: the hub answered %d: %s", resp.StatusCode, prob.Detail)
	}
	w := out
	var closers []io.Closer
	if *outPath != "" {
		// Written to a temporary name and renamed when whole, so a cut
		// download never looks like a finished one.
		f, err := os.CreateTemp(filepath.Dir(*outPath), ".export-*")
		if err != nil {
			return fmt.Errorf("export: %w", err)
		}
		defer os.Remove(f.Name())
		w = f
		closers = append(closers, f)
		if strings.HasSuffix(*outPath, ".gz") {
			zw := gzip.NewWriter(f)
			w = zw
			closers = append([]io.Closer{zw}, closers...)
		}
		p := newProgress(errOut, "downloading", -1)
		body := &countingReader{r: resp.Body, n: &p.done}
		stop := p.run()
		_, err = io.Copy(w, body)
		stop()
		for _, c := range closers {
			if cerr := c.Close(); err == nil {
				err = cerr
			}
		}
		if err != nil {
			return fmt.Errorf("export: %w", err)
		}
		if err := os.Rename(f.Name(), *outPath); err != nil {
			return fmt.Errorf("export: %w", err)
		}
		fmt.Fprintf(errOut, "wrote %s in %.1f s\n", *outPath, time.Since(p.start).Seconds())
		return nil
	}
	_, err = io.Copy(w, resp.Body)
	return err
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// progress reports a transfer: a redrawn bar on a terminal, a line every
// few seconds elsewhere.
type progress struct {
	w     io.Writer
	label string
	total int64 // -1 when unknown
	done  atomic.Int64
	start time.Time
	tty   bool
}

func newProgress(w io.Writer, label string, total int64) *progress {
	p := &progress{w: w, label: label, total: total, start: time.Now()}
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			p.tty = true
		}
	}
	return p
}

func (p *progress) line() string {
	done := p.done.Load()
	rate := float64(done) / max(time.Since(p.start).Seconds(), 0.001) / (1 << 20)
	if p.total <= 0 {
		return fmt.Sprintf("%s: %.1f MiB (%.1f MiB/s)", p.label, float64(done)/(1<<20), rate)
	}
	frac := float64(done) / float64(p.total)
	if done >= p.total {
		prefix := ""
		if p.tty {
			prefix = "\r"
		}
		return fmt.Sprintf("%s%s: sent %.1f MiB; the hub is checking and storing it (%.0f s)", prefix, p.label, float64(p.total)/(1<<20), time.Since(p.start).Seconds())
	}
	if !p.tty {
		return fmt.Sprintf("%s: %.0f%% of %.1f MiB (%.1f MiB/s)", p.label, 100*frac, float64(p.total)/(1<<20), rate)
	}
	const width = 30
	bar := strings.Repeat("#", int(frac*width)) + strings.Repeat(".", width-int(frac*width))
	return fmt.Sprintf("\r%s [%s] %3.0f%% %.1f MiB/s", p.label, bar, 100*frac, rate)
}

// run reports until the returned func is called.
func (p *progress) run() func() {
	every := 5 * time.Second
	if p.tty {
		every = 200 * time.Millisecond
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				if p.tty {
					fmt.Fprint(p.w, p.line())
				} else {
					fmt.Fprintln(p.w, p.line())
				}
			}
		}
	}()
	return func() {
		close(stop)
		<-done
		fmt.Fprintln(p.w, p.line())
	}
}
