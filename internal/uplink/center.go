package uplink

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/klauspost/compress/zstd"

	"banyan/internal/blob"
	"banyan/internal/dispatch"
	"banyan/internal/project"
	"banyan/internal/uplink/wire"
)

// Client calls a hub's uplink as a center.
type Client struct {
	BaseURL string
	Token   string
	Version string
	HTTP    *http.Client
	// gzipOnly is set once the hub has refused a zstd body.
	gzipOnly atomic.Bool
}

// HubError is a hub's refusal of a call (a problem response).
type HubError struct {
	Status int
	Detail string
}

func (e *HubError) Error() string { return fmt.Sprintf("hub answered %d: %s", e.Status, e.Detail) }

// ErrUpgrade means the hub does not speak this center's protocol.
var ErrUpgrade = errors.New("the hub needs a newer center")

func (c *Client) post(ctx context.Context, path string, in, out any) error {
	raw, err := json.Marshal(in)
	if err != nil {
		return err
	}
	enc := "zstd"
	if c.gzipOnly.Load() {
		enc = "gzip"
	}
	err = c.send(ctx, path, raw, enc, out)
	var he *HubError
	if enc == "zstd" && errors.As(err, &he) && he.Status == http.StatusUnsupportedMediaType {
		// A hub (or a proxy before it) that does not take zstd: gzip from
		// now on.
		c.gzipOnly.Store(true)
		err = c.send(ctx, path, raw, "gzip", out)
	}
	return err
}

// compress encodes raw with enc (zstd or gzip).
func compress(raw []byte, enc string) ([]byte, error) {
	var buf bytes.Buffer
	var zw io.WriteCloser
	if enc == "gzip" {
		zw = gzip.NewWriter(&buf)
	} else {
		w, err := zstd.NewWriter(&buf, zstd.WithEncoderLevel(zstd.SpeedDefault))
		if err != nil {
			return nil, err
		}
		zw = w
	}
	if _, err := zw.Write(raw); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func (c *Client) send(ctx context.Context, path string, raw []byte, enc string, out any) error {
	body, err := compress(raw, enc)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, "POST", c.BaseURL+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Content-Encoding", enc)
	req.Header.Set("Accept-Encoding", "zstd")
	c.sign(req)
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var rd io.Reader = resp.Body
	if resp.Header.Get("Content-Encoding") == "zstd" {
		zr, err := zstd.NewReader(resp.Body)
		if err != nil {
			return err
		}
		defer zr.Close()
		rd = zr
	}
	data, err := io.ReadAll(io.LimitReader(rd, maxDecompressed))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		var p struct {
			Detail string `json:"detail"`
		}
		json.Unmarshal(data, &p)
		he := &HubError{Status: resp.StatusCode, Detail: p.Detail}
		if resp.StatusCode == http.StatusUpgradeRequired {
			return fmt.Errorf("%w: %v", ErrUpgrade, he)
		}
		return he
	}
	return json.Unmarshal(data, out)
}

// sign names the protocol and the center on a request.
func (c *Client) sign(req *http.Request) {
	req.Header.Set(wire.ProtocolHeader, strconv.Itoa(wire.Protocol))
	req.Header.Set("Authorization", "Bearer "+c.Token)
}

// Hello opens a session with the hub.
func (c *Client) Hello(ctx context.Context, backlog int) (wire.HelloReply, error) {
	var out wire.HelloReply
	return out, c.post(ctx, "/uplink/v1/hello", wire.Hello{Version: c.Version, Backlog: backlog}, &out)
}

// DefaultChunk is how many records go up in one request: about 40 KB of
// compressed answers, five seconds at 64 kbit/s, so a cut costs at most
// that, while the round trip per request is spread over many records.
const DefaultChunk = 1000

// Local is what the syncer needs of a village center's local store
// (center.Local): its counts, its leased tasks and their files, its down
// feed and its clock.
type Local interface {
	// Now is the center's clock.
	Now() time.Time
	// Queue counts the center's workers, leased work, outbox and cached
	// files.
	Queue(ctx context.Context) (CenterStatus, error)
	// ActiveGrants lists the lease ids the center still works on.
	ActiveGrants(ctx context.Context) ([]string, error)
	// DropGrants stops work on leases the hub says are gone, and on
	// leases that are done.
	DropGrants(ctx context.Context, ids []string) error
	// SaveGrants keeps granted tasks and their projects; each lease runs
	// out ttl after its receipt, by the center's clock.
	SaveGrants(ctx context.Context, ttl time.Duration, grants []wire.Grant) error
	// MissingFiles lists up to limit attachments that active grants need
	// and the center has not fetched, those of the earliest grants first.
	MissingFiles(ctx context.Context, limit int) ([]project.TaskFile, error)
	// AddBlob records a fetched, verified file.
	AddBlob(ctx context.Context, sum string, size int64) error
	// EvictableBlobs lists up to limit files no active grant needs, least
	// recently used first.
	EvictableBlobs(ctx context.Context, limit int) ([]CachedFile, error)
	// DropBlob forgets a file before it is deleted from disk.
	DropBlob(ctx context.Context, sum string) error
	// FeedCursor is where the center's down feed continues from.
	FeedCursor(ctx context.Context) (int64, error)
	// ApplyFeed keeps the feed's events and the cursor to continue from;
	// reset means the events are a full snapshot.
	ApplyFeed(ctx context.Context, events []wire.FeedEvent, next int64, reset bool) error
}

// CenterStatus counts a center's workers, leased work, outbox and cached
// files: what its syncer sizes its requests by, and its LAN API shows.
type CenterStatus struct {
	Workers      int `json:"workers"`
	ActiveGrants int `json:"active_grants"`
	FreeSlots    int `json:"free_slots"`
	Pending      int `json:"outbox_pending"`
	Sent         int `json:"outbox_acknowledged"`
	// FilesMissing counts attachments active grants need that are not
	// fetched yet; their tasks wait for them.
	FilesMissing int `json:"files_missing"`
	// CacheBytes is the size of the attachments on disk.
	CacheBytes int64 `json:"cache_bytes"`
}

// CachedFile is an attachment in a center's cache.
type CachedFile struct {
	SHA256 string
	Size   int64
}

// Syncer moves a center's records up and its leases down. Every step is
// idempotent, so a cut at any point costs at most a repeat of one chunk.
type Syncer struct {
	// Local is the center's local store; Outbox is the queue of records
	// that go up.
	Local  Local
	Outbox *Outbox
	Client *Client
	Log    *slog.Logger
	// Want says how many tasks the center should hold leased in all, and
	// which skills none of its workers may do.
	Want func(ctx context.Context) (Demand, error)
	// Chunk is how many records go up in one request; 0 means
	// DefaultChunk.
	Chunk int
	// Blobs keeps the attachments of leased tasks; CacheBytes caps their
	// total size (0: no cap).
	Blobs      *blob.Store
	CacheBytes int64

	mu       sync.Mutex
	lastSync time.Time
	lastErr  error
	ttl      time.Duration
}

// SyncState is what the center shows of its uplink.
type SyncState struct {
	LastSync  time.Time `json:"last_sync,omitempty"`
	LastError string    `json:"last_error,omitempty"`
	Online    bool      `json:"online"`
}

// State reports the last sync and its error, if any.
func (s *Syncer) State() SyncState {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := SyncState{LastSync: s.lastSync, Online: s.lastErr == nil && !s.lastSync.IsZero()}
	if s.lastErr != nil {
		st.LastError = s.lastErr.Error()
	}
	return st
}

// Once runs one round: upload the outbox, renew leases and drop the ones
// the hub says are gone, and lease more work if the center is short.
func (s *Syncer) Once(ctx context.Context) error {
	err := s.round(ctx)
	s.mu.Lock()
	s.lastErr = err
	if err == nil {
		s.lastSync = time.Now().UTC()
	}
	s.mu.Unlock()
	return err
}

func (s *Syncer) round(ctx context.Context) error {
	q, err := s.Local.Queue(ctx)
	if err != nil {
		return err
	}
	hello, err := s.Client.Hello(ctx, q.Pending)
	if err != nil {
		return fmt.Errorf("hello: %w", err)
	}
	s.mu.Lock()
	s.ttl = time.Duration(hello.LeaseTTLSeconds) * time.Second
	s.mu.Unlock()
	if err := s.Upload(ctx); err != nil {
		return err
	}
	ids, err := s.Local.ActiveGrants(ctx)
	if err != nil {
		return err
	}
	// The heartbeat names every lease the center holds, even none: the hub
	// takes back grants that never arrived.
	var hb wire.HeartbeatReply
	if err := s.Client.post(ctx, "/uplink/v1/heartbeat", wire.Heartbeat{LeaseIDs: ids}, &hb); err != nil {
		return fmt.Errorf("heartbeat: %w", err)
	}
	gone := make([]string, 0, len(hb.Gone))
	for id := range hb.Gone {
		gone = append(gone, id)
	}
	if err := s.Local.DropGrants(ctx, gone); err != nil {
		return err
	}
	if err := s.pullFeed(ctx); err != nil {
		return err
	}
	if err := s.lease(ctx); err != nil {
		return err
	}
	return s.fetchFiles(ctx)
}

// pullFeed reads the down feed from the center's cursor and applies it.
func (s *Syncer) pullFeed(ctx context.Context) error {
	for {
		cursor, err := s.Local.FeedCursor(ctx)
		if err != nil {
			return err
		}
		var fr wire.FeedReply
		if err := s.Client.post(ctx, "/uplink/v1/feed", wire.FeedRequest{Cursor: cursor}, &fr); err != nil {
			return fmt.Errorf("feed: %w", err)
		}
		if err := s.Local.ApplyFeed(ctx, fr.Events, fr.Next, fr.Reset); err != nil {
			return err
		}
		if len(fr.Events) < maxFeed || fr.Reset {
			return nil
		}
	}
}

// Upload sends the outbox up in chunks, in order, two chunks in flight so
// the link is busy while the hub answers, and marks each record
// acknowledged only once the hub has answered for it. A record the hub
// asks to retry stays in the outbox for the next round.
func (s *Syncer) Upload(ctx context.Context) error {
	chunk := s.Chunk
	if chunk <= 0 {
		chunk = DefaultChunk
	}
	const window = 2
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	slots := make(chan struct{}, window)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	fail := func(err error) {
		mu.Lock()
		if firstErr == nil {
			firstErr = err
			cancel()
		}
		mu.Unlock()
	}
	var after int64
	// The first chunk is half size. Two chunks sent together share the
	// link and end together, and then the link idles while both wait for
	// the hub; offset by half a chunk, one is always on the wire while the
	// other waits.
	size := max(1, chunk/2)
	for {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		rows, err := s.Outbox.PendingAfter(ctx, after, size)
		if err != nil {
			<-slots
			fail(err)
			break
		}
		if len(rows) == 0 {
			<-slots
			break
		}
		after = rows[len(rows)-1].Seq
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			if err := s.send(ctx, rows); err != nil {
				fail(err)
			}
		}()
		if len(rows) < size {
			break
		}
		size = chunk
	}
	wg.Wait()
	return firstErr
}

// send uploads one chunk and records the hub's answers.
func (s *Syncer) send(ctx context.Context, rows []OutboxRow) error {
	up := wire.Upload{Items: make([]wire.Item, len(rows)), Clock: s.Local.Now()}
	for i, r := range rows {
		up.Items[i] = wire.Item{ID: r.ID, Seq: r.Seq, Kind: r.Kind, Body: r.Body}
	}
	var reply wire.UploadReply
	if err := s.Client.post(ctx, "/uplink/v1/upload", up, &reply); err != nil {
		return fmt.Errorf("upload: %w", err)
	}
	if len(reply.Statuses) != len(rows) {
		return fmt.Errorf("upload: the hub answered %d statuses for %d records", len(reply.Statuses), len(rows))
	}
	acks := make(map[string][2]string, len(rows))
	for i, status := range reply.Statuses {
		reason := reply.Reasons[i]
		switch status {
		case wire.StatusRetry:
			// Not stored yet: keep it and send it again next round.
			continue
		case wire.StatusRejected:
			// The reason may quote the answer; it is kept in the outbox row,
			// not written to the log.
			s.Log.Warn("hub rejected a record", "id", rows[i].ID, "kind", rows[i].Kind)
		}
		acks[rows[i].ID] = [2]string{status, reason}
	}
	return s.Outbox.Ack(ctx, acks)
}

// lease asks for work when the center holds fewer free slots than it
// wants.
func (s *Syncer) lease(ctx context.Context) error {
	d, err := s.Want(ctx)
	if err != nil {
		return err
	}
	// Bounded, so a round always ends; the next round asks again.
	for range 100 {
		q, err := s.Local.Queue(ctx)
		if err != nil {
			return err
		}
		if q.FreeSlots >= d.Tasks {
			return nil
		}
		// A request at a time asks for at most LeaseChunk answers' worth,
		// so a cut link costs at most one reply.
		var lr wire.LeaseReply
		if err := s.Client.post(ctx, "/uplink/v1/leases", wire.LeaseRequest{Want: min(LeaseChunk, d.Tasks-q.FreeSlots), Exclude: wireSkills(d.Exclude)}, &lr); err != nil {
			return fmt.Errorf("leases: %w", err)
		}
		if len(lr.Grants) == 0 {
			return nil
		}
		if err := s.saveGrants(ctx, lr.Grants); err != nil {
			return err
		}
	}
	return nil
}

// LeaseChunk is the most answers' worth of tasks one lease request asks
// for: about a minute of reply at 64 kbit/s.
const LeaseChunk = 1000

// saveGrants keeps granted tasks and their projects at the center. The
// leases run out by the center's own clock: hub and center clocks may
// disagree by days, so only the span is trusted.
func (s *Syncer) saveGrants(ctx context.Context, in []wire.Grant) error {
	for _, g := range in {
		for _, f := range g.Files {
			if !blob.ValidSum(f.SHA256) {
				return fmt.Errorf("leases: grant %s names a file with a malformed hash", g.LeaseID)
			}
		}
	}
	return s.Local.SaveGrants(ctx, s.ttl, in)
}

// Demand is how much work a center wants.
type Demand struct {
	// Tasks is how many answers' worth of work to hold leased.
	Tasks int
	// Exclude lists skills none of the center's workers may do.
	Exclude []dispatch.Skill
}

// wireSkills are skills as a lease request names them.
func wireSkills(in []dispatch.Skill) []wire.Skill {
	var out []wire.Skill
	for _, k := range in {
		out = append(out, wire.Skill(k))
	}
	return out
}

// Run syncs every interval until ctx ends, backing off (up to ten times
// the interval) while the hub is unreachable, and waking early on nudge.
func (s *Syncer) Run(ctx context.Context, interval time.Duration, nudge <-chan struct{}) {
	wait := interval
	maxWait := 10 * interval
	for {
		if err := s.Once(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			if errors.Is(err, ErrUpgrade) {
				s.Log.Error("uplink: the hub needs a newer center; upgrade this center (see the README)", "err", err)
			} else {
				s.Log.Debug("uplink: sync failed; working offline", "err", err)
			}
			wait = min(2*wait, maxWait)
		} else {
			wait = interval
		}
		select {
		case <-ctx.Done():
			return
		case <-nudge:
		case <-time.After(wait):
		}
	}
}

// Fetch downloads the attachment sum into blobs, resuming a download an
// earlier cut left half done (HTTP Range), and verifies the whole file
// against its hash before it is kept.
func (c *Client) Fetch(ctx context.Context, blobs *blob.Store, sum string) error {
	p, err := blobs.Resume(sum)
	if err != nil {
		return err
	}
	defer p.Close()
	req, err := http.NewRequestWithContext(ctx, "GET", c.BaseURL+"/uplink/v1/files/"+sum, nil)
	if err != nil {
		return err
	}
	c.sign(req)
	if p.Have() > 0 {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-", p.Have()))
		req.Header.Set("If-Range", `"`+sum+`"`)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return fmt.Errorf("file %s: %w", sum, err)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusPartialContent:
	case http.StatusOK:
		if err := p.Restart(); err != nil {
			return err
		}
	case http.StatusRequestedRangeNotSatisfiable:
		// Everything is here already; the hash check below decides.
		return p.Commit()
	default:
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		var prob struct {
			Detail string `json:"detail"`
		}
		json.Unmarshal(data, &prob)
		return fmt.Errorf("file %s: %w", sum, &HubError{Status: resp.StatusCode, Detail: prob.Detail})
	}
	if _, err := io.Copy(p, resp.Body); err != nil {
		return fmt.Errorf("file %s: %w", sum, err)
	}
	return p.Commit()
}

// errCacheFull stops fetching: the files on disk are all needed by tasks
// still leased.
var errCacheFull = errors.New("the attachment cache is full of files that leased tasks need")

// fetchFiles fetches the attachments the center's grants need, those of
// the tasks due soonest first, making room in the cache by evicting files
// of finished tasks, least recently used first.
func (s *Syncer) fetchFiles(ctx context.Context) error {
	if s.Blobs == nil {
		return nil
	}
	// The cache's size is read once; after that this loop keeps count.
	q, err := s.Local.Queue(ctx)
	if err != nil {
		return err
	}
	used := q.CacheBytes
	for {
		missing, err := s.Local.MissingFiles(ctx, 50)
		if err != nil || len(missing) == 0 {
			return err
		}
		for _, f := range missing {
			if used, err = s.makeRoom(ctx, used, f.Size); errors.Is(err, errCacheFull) {
				s.Log.Warn("uplink: attachment cache full; raise --cache-mb or let leased tasks finish", "need_bytes", f.Size)
				return nil
			} else if err != nil {
				return err
			}
			if err := s.Client.Fetch(ctx, s.Blobs, f.SHA256); err != nil {
				return err
			}
			if err := s.Local.AddBlob(ctx, f.SHA256, f.Size); err != nil {
				return err
			}
			used += f.Size
		}
	}
}

// makeRoom evicts unneeded files until need more bytes fit beside the
// used ones, and returns the bytes used after.
func (s *Syncer) makeRoom(ctx context.Context, used, need int64) (int64, error) {
	if s.CacheBytes <= 0 {
		return used, nil
	}
	for used+need > s.CacheBytes {
		victims, err := s.Local.EvictableBlobs(ctx, 20)
		if err != nil {
			return used, err
		}
		if len(victims) == 0 {
			return used, errCacheFull
		}
		for _, v := range victims {
			if used+need <= s.CacheBytes {
				break
			}
			if err := s.Local.DropBlob(ctx, v.SHA256); err != nil {
				return used, err
			}
			if err := s.Blobs.Remove(v.SHA256); err != nil {
				return used, err
			}
			used -= v.Size
		}
	}
	return used, nil
}
