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
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/klauspost/compress/zstd"

	"banyan/internal/auth"
	"banyan/internal/blob"
	"banyan/internal/dispatch"
	"banyan/internal/feed"
	"banyan/internal/problem"
	"banyan/internal/project"
	"banyan/internal/store"
	"banyan/internal/uplink/wire"
	"banyan/internal/work"
)

// Limits on what a center may send in one request.
const (
	maxBody         = 8 << 20  // bytes on the wire
	maxDecompressed = 64 << 20 // bytes after decompression
	maxItems        = 5000     // records in one upload
	maxWant         = 5000     // tasks in one lease request
)

// Hub serves /uplink/v1 to centers. Its fields are its dependencies.
type Hub struct {
	Store    *store.Store
	Auth     *auth.Service
	Dispatch *dispatch.Service
	Log      *slog.Logger
	// Version is the hub's build version, told to centers.
	Version string
	// LeaseTTL is how long a grant lasts without a heartbeat.
	LeaseTTL time.Duration
	// Blobs keeps the files tasks name.
	Blobs *blob.Store
	// TrainingRate pays centers' workers' accepted training time, in
	// paise per hour (0: unpaid).
	TrainingRate int64
	// Spans are the limits a center's spans are checked against on
	// arrival: the daily cap, and the clock skew allowed a center once its
	// times are put on the hub's clock.
	Spans work.SpanLimits
	// FeedKinds are the down feed's kinds, with what a snapshot of each
	// holds for a center starting its feed afresh.
	FeedKinds feed.Kinds
}

type handlerFunc func(w http.ResponseWriter, r *http.Request, center auth.Org) error

// Routes is the route table of /uplink/v1.
func (h *Hub) Routes() map[string]handlerFunc {
	return map[string]handlerFunc{
		"POST /uplink/v1/hello":         h.hello,
		"POST /uplink/v1/leases":        h.leases,
		"POST /uplink/v1/heartbeat":     h.heartbeat,
		"POST /uplink/v1/upload":        h.upload,
		"POST /uplink/v1/feed":          h.feed,
		"GET /uplink/v1/files/{sha256}": h.file,
	}
}

// Register adds the uplink routes to mux.
func (h *Hub) Register(mux *http.ServeMux) {
	for pattern, fn := range h.Routes() {
		mux.Handle(pattern, h.wrap(fn))
	}
}

// wrap checks the protocol version and the center's token before the
// handler runs.
func (h *Hub) wrap(fn handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(wire.ProtocolHeader, strconv.Itoa(wire.Protocol))
		fail := func(err error) { problem.Write(w, h.Log, r, err) }
		v, err := strconv.Atoi(r.Header.Get(wire.ProtocolHeader))
		if err != nil || v < wire.MinProtocol || v > wire.Protocol {
			fail(problem.New(http.StatusUpgradeRequired,
				"this hub speaks uplink protocol %d to %d and the center sent %q; upgrade the center (see the README)", wire.MinProtocol, wire.Protocol, r.Header.Get(wire.ProtocolHeader)))
			return
		}
		secret, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok {
			fail(auth.ErrUnauthenticated)
			return
		}
		p, err := h.Auth.Authenticate(r.Context(), strings.TrimSpace(secret))
		if err != nil {
			fail(err)
			return
		}
		if p.Role != auth.CenterNode {
			fail(problem.New(http.StatusForbidden, "the uplink takes center tokens only (banyan admin center add)"))
			return
		}
		center, err := h.Auth.Org(r.Context(), p.OrgID)
		if err != nil {
			fail(err)
			return
		}
		if err := fn(w, r, center); err != nil {
			fail(err)
		}
	})
}

// decode reads a JSON body, zstd- or gzip-compressed or plain.
func decode(w http.ResponseWriter, r *http.Request, v any) error {
	var body io.Reader = http.MaxBytesReader(w, r.Body, maxBody)
	switch enc := r.Header.Get("Content-Encoding"); enc {
	case "", "identity":
	case "zstd":
		zr, err := zstd.NewReader(body, zstd.WithDecoderMaxMemory(maxDecompressed))
		if err != nil {
			return problem.New(http.StatusBadRequest, "zstd body: %v", err)
		}
		defer zr.Close()
		body = zr
	case "gzip":
		zr, err := gzip.NewReader(body)
		if err != nil {
			return problem.New(http.StatusBadRequest, "gzip body: %v", err)
		}
		defer zr.Close()
		body = zr
	default:
		return problem.New(http.StatusUnsupportedMediaType, "Content-Encoding %q: send zstd, gzip or nothing", enc)
	}
	raw, err := io.ReadAll(io.LimitReader(body, maxDecompressed+1))
	if err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			return err
		}
		return problem.New(http.StatusBadRequest, "reading the body: %v", err)
	}
	if len(raw) > maxDecompressed {
		return problem.New(http.StatusRequestEntityTooLarge, "the body is over %d bytes once decompressed; split it", maxDecompressed)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return problem.New(http.StatusBadRequest, "the body is not valid JSON for this call: %v", err)
	}
	return nil
}

// reply writes v as JSON, zstd-compressed when the center accepts it.
func reply(w http.ResponseWriter, r *http.Request, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	if strings.Contains(r.Header.Get("Accept-Encoding"), "zstd") {
		w.Header().Set("Content-Encoding", "zstd")
		zw, err := zstd.NewWriter(w, zstd.WithEncoderLevel(zstd.SpeedDefault))
		if err != nil {
			return err
		}
		if _, err := zw.Write(raw); err != nil {
			return err
		}
		return zw.Close()
	}
	_, err = w.Write(raw)
	return err
}

func (h *Hub) hello(w http.ResponseWriter, r *http.Request, center auth.Org) error {
	var in wire.Hello
	if err := decode(w, r, &in); err != nil {
		return err
	}
	v, _ := strconv.Atoi(r.Header.Get(wire.ProtocolHeader))
	if err := h.touchCenter(r.Context(), center.ID, v, in.Version, in.Backlog); err != nil {
		return err
	}
	return reply(w, r, wire.HelloReply{Protocol: wire.Protocol, HubVersion: h.Version, CenterID: center.ID, CenterName: center.Name,
		HubTime: time.Now().UTC(), LeaseTTLSeconds: int(h.LeaseTTL / time.Second)})
}

func (h *Hub) leases(w http.ResponseWriter, r *http.Request, center auth.Org) error {
	var in wire.LeaseRequest
	if err := decode(w, r, &in); err != nil {
		return err
	}
	if in.Want < 1 || in.Want > maxWant {
		return problem.New(http.StatusUnprocessableEntity, "want: ask for 1 to %d tasks", maxWant)
	}
	if len(in.Skills) > 1000 || len(in.Exclude) > 1000 {
		return problem.New(http.StatusUnprocessableEntity, "skills, exclude: at most 1000 each")
	}
	leases, err := h.Dispatch.GrantLeases(r.Context(), dispatch.LeaseRequest{CenterID: center.ID, Want: in.Want, Skills: dispatchSkills(in.Skills),
		Exclude: dispatchSkills(in.Exclude), TTL: h.LeaseTTL, GoldDraw: rand.Float64})
	if err != nil {
		return err
	}
	projects := map[string]wire.Project{}
	// rubric says which projects' replies are reviewed by rubric: their
	// tasks carry the note of a failed review, if any.
	rubric := map[string]bool{}
	out := wire.LeaseReply{Grants: make([]wire.Grant, 0, len(leases))}
	for _, l := range leases {
		p, ok := projects[l.ProjectID]
		if !ok {
			pr, err := h.Dispatch.Project(r.Context(), l.ProjectID)
			if err != nil {
				return err
			}
			p = wire.Project{ID: pr.ID, Kind: pr.Kind, Language: pr.Language, Instructions: pr.Instructions, Schema: pr.Schema, MinAnswerMS: pr.MinAnswerMS}
			projects[l.ProjectID] = p
			rubric[l.ProjectID] = pr.Rubric != nil
		}
		g := wire.Grant{LeaseID: l.ID, TaskKey: l.TaskKey, Epoch: l.Epoch, Slots: l.Slots, ExpiresAt: l.ExpiresAt, Payload: l.Payload,
			Project: p, Exclude: l.Exclude, Deadline: l.Deadline}
		for _, f := range l.Files {
			g.Files = append(g.Files, wire.File(f))
		}
		if l.Deadline != nil {
			g.DueInSeconds = max(1, int64(time.Until(*l.Deadline)/time.Second))
		}
		if rubric[l.ProjectID] {
			if g.ReworkNote, err = h.Dispatch.ReworkNote(r.Context(), l.TaskID); err != nil {
				return err
			}
		}
		out.Grants = append(out.Grants, g)
	}
	return reply(w, r, out)
}

// dispatchSkills are the skills a center named, as dispatch takes them.
func dispatchSkills(in []wire.Skill) []dispatch.Skill {
	var out []dispatch.Skill
	for _, s := range in {
		out = append(out, dispatch.Skill(s))
	}
	return out
}

func (h *Hub) heartbeat(w http.ResponseWriter, r *http.Request, center auth.Org) error {
	var in wire.Heartbeat
	if err := decode(w, r, &in); err != nil {
		return err
	}
	if len(in.LeaseIDs) > maxWant*4 {
		return problem.New(http.StatusUnprocessableEntity, "lease_ids: at most %d in one heartbeat", maxWant*4)
	}
	renewed, gone, err := h.Dispatch.RenewLeases(r.Context(), center.ID, in.LeaseIDs, h.LeaseTTL)
	if err != nil {
		return err
	}
	v, _ := strconv.Atoi(r.Header.Get(wire.ProtocolHeader))
	if err := h.touchCenter(r.Context(), center.ID, v, "", in.Backlog); err != nil {
		return err
	}
	if renewed == nil {
		renewed = []string{}
	}
	return reply(w, r, wire.HeartbeatReply{Renewed: renewed, Gone: gone, ExpiresAt: time.Now().UTC().Add(h.LeaseTTL)})
}

// upload takes a center's records in order and answers each: accepted,
// duplicate, superseded or rejected with the reason. An item that cannot
// be read is rejected on its own; it does not fail the others.
func (h *Hub) upload(w http.ResponseWriter, r *http.Request, center auth.Org) error {
	// The center stamps its clock as it sends; the hub reads its own as
	// the request arrives, before the body (which can take long on a slow
	// link) is read.
	arrived := h.Store.Now()
	var in wire.Upload
	if err := decode(w, r, &in); err != nil {
		return err
	}
	if len(in.Items) > maxItems {
		return problem.New(http.StatusRequestEntityTooLarge, "items: at most %d in one upload; split it", maxItems)
	}
	out := wire.UploadReply{Statuses: make([]string, len(in.Items))}
	// How far the center's clock is ahead of this hub's: the times its
	// records carry are put on the hub's clock by it.
	var offset time.Duration
	if !in.Clock.IsZero() {
		offset = in.Clock.Sub(arrived)
	}
	// The whole chunk is stored in one transaction: one fsync for a
	// thousand answers, and a chunk that fails leaves nothing behind, so
	// the center's retry starts clean.
	err := h.Store.InOneTx(r.Context(), func(ctx context.Context) error {
		for i, it := range in.Items {
			v, err := h.item(ctx, center, it, offset)
			if err != nil {
				return fmt.Errorf("uplink: item %d (%s): %w", i, it.ID, err)
			}
			out.Statuses[i] = v.Status
			if v.Status != wire.StatusAccepted && v.Reason != "" {
				if out.Reasons == nil {
					out.Reasons = map[int]string{}
				}
				out.Reasons[i] = v.Reason
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	v, _ := strconv.Atoi(r.Header.Get(wire.ProtocolHeader))
	if err := h.touchCenter(r.Context(), center.ID, v, "", in.Backlog); err != nil {
		return err
	}
	return reply(w, r, out)
}

// file serves an attachment of a task the center holds a lease of, with
// Range support so a download cut by the link resumes where it stopped.
func (h *Hub) file(w http.ResponseWriter, r *http.Request, center auth.Org) error {
	sum := r.PathValue("sha256")
	if !blob.ValidSum(sum) {
		return problem.New(http.StatusNotFound, "no such file")
	}
	f, err := project.CenterFile(r.Context(), h.Store, center.ID, sum)
	if errors.Is(err, store.ErrNotFound) {
		return problem.New(http.StatusNotFound, "no such file among this center's leases")
	}
	if err != nil {
		return err
	}
	return h.Blobs.Serve(w, r, f.SHA256, f.MediaType)
}

// maxFeed is how many feed events one reply carries.
const maxFeed = 2000

func (h *Hub) feed(w http.ResponseWriter, r *http.Request, center auth.Org) error {
	var in wire.FeedRequest
	if err := decode(w, r, &in); err != nil {
		return err
	}
	events, next, reset, err := h.FeedKinds.Read(r.Context(), h.Store, center.ID, in.Cursor, maxFeed)
	if err != nil {
		return err
	}
	if events == nil {
		events = []wire.FeedEvent{}
	}
	return reply(w, r, wire.FeedReply{Events: events, Next: next, Reset: reset})
}
