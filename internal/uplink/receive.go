package uplink

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"banyan/internal/audit"
	"banyan/internal/auth"
	"banyan/internal/dispatch"
	"banyan/internal/report"
	"banyan/internal/review"
	"banyan/internal/store"
	"banyan/internal/training"
	"banyan/internal/uplink/wire"
	"banyan/internal/work"
)

// receiver stores one uploaded record of its kind: it decodes the body
// strictly and checks it, refusing what is malformed with reject, and
// hands the record to its domain inside once. offset is how far the
// center's clock is ahead of the hub's.
type receiver func(h *Hub, ctx context.Context, center auth.Org, it wire.Item, offset time.Duration) (wire.Verdict, error)

// receivers holds the hub's receiver of each kind of record a center
// uploads.
var receivers = map[string]receiver{
	wire.KindAnswer:        (*Hub).receiveAnswer,
	wire.KindEnrolment:     (*Hub).receiveEnrolment,
	wire.KindActivity:      (*Hub).receiveActivity,
	wire.KindDeclaration:   (*Hub).receiveDeclaration,
	wire.KindWithdrawal:    (*Hub).receiveWithdrawal,
	wire.KindReview:        (*Hub).receiveReview,
	wire.KindAudit:         (*Hub).receiveAudit,
	wire.KindAttemptAnswer: (*Hub).receiveAttemptAnswer,
	wire.KindAuditVerdict:  (*Hub).receiveAuditVerdict,
}

// Kinds lists every kind of record this hub takes, sorted.
var Kinds = slices.Sorted(maps.Keys(receivers))

// item stores one uploaded record: refused if its id is not one the
// center made, answered duplicate if it came before, else handed to the
// receiver of its kind. offset is how far the center's clock is ahead of
// the hub's.
func (h *Hub) item(ctx context.Context, center auth.Org, it wire.Item, offset time.Duration) (wire.Verdict, error) {
	if !work.ValidID(it.ID) {
		return h.reject(ctx, center.ID, it, "id %q is not a UUID made at the center", it.ID)
	}
	status, ok, err := seen(ctx, h.Store.Read(ctx), it.ID)
	if err != nil {
		return wire.Verdict{}, fmt.Errorf("reading uplink_items: %w", err)
	}
	if ok {
		return duplicate(status), nil
	}
	receive, ok := receivers[it.Kind]
	if !ok {
		return h.reject(ctx, center.ID, it, "unknown kind %q (this hub takes %s)", it.Kind, strings.Join(Kinds, ", "))
	}
	return receive(h, ctx, center, it, offset)
}

// strict decodes an item's body into v, refusing fields v does not have.
func strict(body json.RawMessage, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

func (h *Hub) receiveEnrolment(ctx context.Context, center auth.Org, it wire.Item, _ time.Duration) (wire.Verdict, error) {
	var b wire.Enrolment
	if err := strict(it.Body, &b); err != nil || !work.ValidID(b.WorkerID) || strings.TrimSpace(b.Name) == "" {
		return h.reject(ctx, center.ID, it, "an enrolment needs worker_id (a UUID) and name")
	}
	switch b.Role {
	case "":
		b.Role = string(auth.Worker)
	case string(auth.Worker), string(auth.Reviewer), string(auth.CenterManager):
	default:
		return h.reject(ctx, center.ID, it, "an enrolment's role is worker, reviewer or center_manager, not %q", b.Role)
	}
	b.Name = strings.TrimSpace(b.Name)
	return h.once(ctx, center.ID, it, func(tx *store.Tx) (wire.Verdict, error) {
		return h.Auth.ReceiveEnrolment(ctx, tx, center.ID, b)
	})
}

func (h *Hub) receiveAnswer(ctx context.Context, center auth.Org, it wire.Item, offset time.Duration) (wire.Verdict, error) {
	var b wire.Answer
	if err := strict(it.Body, &b); err != nil || !work.ValidID(b.LeaseID) || !work.ValidID(b.WorkerID) {
		return h.reject(ctx, center.ID, it, "an answer needs lease_id, epoch, worker_id, answer and duration_ms")
	}
	var started time.Time
	if !b.StartedAt.IsZero() {
		started = b.StartedAt.Add(-offset)
	}
	in := dispatch.CenterAnswer{Submission: dispatch.Submission{WorkID: it.ID, WorkerID: b.WorkerID, Answer: b.Answer, ReportedMS: b.ReportedMS},
		CenterID: center.ID, LeaseID: b.LeaseID, Epoch: b.Epoch, DurationMS: max(0, b.DurationMS), StartedAt: started, SampleDraw: rand.Float64()}
	return h.once(ctx, center.ID, it, func(tx *store.Tx) (wire.Verdict, error) {
		v, _, err := h.Dispatch.ReceiveAnswer(ctx, tx, in, nil)
		return v, err
	})
}

// centerSpanSlack is how much a center's span may overlap other time on
// the hub: each upload's clock reading reaches the hub a link's latency
// late, so spans that touched at the center can seem to overlap by that.
const centerSpanSlack = 5 * time.Second

func (h *Hub) receiveActivity(ctx context.Context, center auth.Org, it wire.Item, offset time.Duration) (wire.Verdict, error) {
	var b wire.Activity
	if err := strict(it.Body, &b); err != nil || !work.ValidID(b.WorkerID) {
		return h.reject(ctx, center.ID, it, "activity needs worker_id, started_at, active_ms and what")
	}
	if err := b.Activity.Validate(); err != nil {
		return h.reject(ctx, center.ID, it, "activity: %v", err)
	}
	// On the hub's clock, with the session it lies in, then checked as any
	// span (allowing the slack of the link's latency); training time is
	// paid once per span, whichever hub stores it.
	from, _ := b.Span()
	b.StartedAt = from.Add(-offset).UTC().Format(time.RFC3339Nano)
	if s := b.Session; s != nil {
		s.StartedAt, s.LastSeenAt = s.StartedAt.Add(-offset), s.LastSeenAt.Add(-offset)
		if s.ClosedAt != nil {
			closed := s.ClosedAt.Add(-offset)
			s.ClosedAt = &closed
		}
	}
	lim := h.Spans
	lim.Slack = centerSpanSlack
	return h.once(ctx, center.ID, it, func(tx *store.Tx) (wire.Verdict, error) {
		return training.ReceiveSpan(ctx, h.Store, tx, center.ID, it.ID, b, lim, h.TrainingRate)
	})
}

func (h *Hub) receiveDeclaration(ctx context.Context, center auth.Org, it wire.Item, _ time.Duration) (wire.Verdict, error) {
	var b wire.Declaration
	if err := strict(it.Body, &b); err != nil || !work.ValidID(b.WorkerID) || b.DeclaredAt.IsZero() {
		return h.reject(ctx, center.ID, it, "a declaration needs worker_id, declared_at and its answers")
	}
	if err := b.Declaration.Validate(time.Now().Year()); err != nil {
		return h.reject(ctx, center.ID, it, "declaration: %v", err)
	}
	return h.once(ctx, center.ID, it, func(tx *store.Tx) (wire.Verdict, error) {
		return report.ReceiveDeclaration(ctx, h.Store, tx, center.ID, it.ID, b)
	})
}

func (h *Hub) receiveWithdrawal(ctx context.Context, center auth.Org, it wire.Item, _ time.Duration) (wire.Verdict, error) {
	var b wire.Withdrawal
	if err := strict(it.Body, &b); err != nil || !work.ValidID(b.WorkerID) {
		return h.reject(ctx, center.ID, it, "a withdrawal needs worker_id")
	}
	return h.once(ctx, center.ID, it, func(tx *store.Tx) (wire.Verdict, error) {
		return report.ReceiveWithdrawal(ctx, tx, center.ID, b)
	})
}

func (h *Hub) receiveReview(ctx context.Context, center auth.Org, it wire.Item, _ time.Duration) (wire.Verdict, error) {
	var b wire.Review
	if err := strict(it.Body, &b); err != nil || !work.ValidID(b.AssignmentID) || !work.ValidID(b.ReviewerID) {
		return h.reject(ctx, center.ID, it, "a review needs assignment_id, reviewer_id, verdict and note")
	}
	if err := work.CheckReview(b.Verdict, b.Note); err != nil {
		return h.reject(ctx, center.ID, it, "review: %v", err)
	}
	r := review.ReviewRecord{AssignmentID: b.AssignmentID, ReviewerID: b.ReviewerID, Verdict: b.Verdict, Note: b.Note}
	if len(b.Answer) > 0 && string(b.Answer) != "null" {
		a, err := h.Dispatch.Assignment(ctx, b.AssignmentID)
		if errors.Is(err, store.ErrNotFound) {
			return wire.Verdict{Status: wire.StatusRetry, Reason: "the answer under review has not arrived yet"}, nil
		}
		if err != nil {
			return wire.Verdict{}, err
		}
		p, err := h.Dispatch.Project(ctx, a.ProjectID)
		if err != nil {
			return wire.Verdict{}, err
		}
		ans, err := work.ParseAnswer(p.Kind, p.Schema, b.Answer)
		if err != nil {
			return h.reject(ctx, center.ID, it, "review: answer: %v", err)
		}
		r.Answer = &ans
	}
	return h.once(ctx, center.ID, it, func(tx *store.Tx) (wire.Verdict, error) {
		return review.ReceiveReview(ctx, h.Dispatch, tx, center.ID, it.ID, r)
	})
}

func (h *Hub) receiveAudit(ctx context.Context, center auth.Org, it wire.Item, _ time.Duration) (wire.Verdict, error) {
	var b wire.Audit
	if err := strict(it.Body, &b); err != nil || b.Action == "" || len(b.Action) > 100 || len(b.Actor) > 200 ||
		len(b.Subject) > 200 || len(b.Detail) > 2000 || b.At.IsZero() {
		return h.reject(ctx, center.ID, it, "an audit event needs actor, action (at most 100 bytes), subject, detail and at")
	}
	return h.once(ctx, center.ID, it, func(tx *store.Tx) (wire.Verdict, error) {
		return wire.Verdict{Status: wire.StatusAccepted}, audit.Append(ctx, tx, it.ID, center.ID, audit.Record(b), h.Store.Now())
	})
}

func (h *Hub) receiveAttemptAnswer(ctx context.Context, center auth.Org, it wire.Item, _ time.Duration) (wire.Verdict, error) {
	var b wire.AttemptAnswer
	if err := strict(it.Body, &b); err != nil || !work.ValidID(b.AttemptID) || !work.ValidID(b.CourseID) || !work.ValidID(b.WorkerID) || !work.ValidID(b.ItemID) {
		return h.reject(ctx, center.ID, it, "a course answer needs attempt_id, course_id, worker_id, item_id and answer")
	}
	c, err := training.Course(ctx, h.Store, b.CourseID)
	if errors.Is(err, store.ErrNotFound) {
		return h.reject(ctx, center.ID, it, "course %s is not on this hub", b.CourseID)
	}
	if err != nil {
		return wire.Verdict{}, err
	}
	answer, err := work.ParseAnswer(c.Kind, c.Schema, b.Answer)
	if err != nil {
		return h.reject(ctx, center.ID, it, "course answer: %v", err)
	}
	return h.once(ctx, center.ID, it, func(tx *store.Tx) (wire.Verdict, error) {
		return training.ReceiveAttemptAnswer(ctx, h.Store, tx, center.ID, b, answer)
	})
}

func (h *Hub) receiveAuditVerdict(ctx context.Context, center auth.Org, it wire.Item, _ time.Duration) (wire.Verdict, error) {
	var b wire.AuditVerdict
	if err := strict(it.Body, &b); err != nil || !work.ValidID(b.AuditID) || !work.ValidID(b.ReviewerID) || len(b.Answer) == 0 {
		return h.reject(ctx, center.ID, it, "an audit verdict needs audit_id, reviewer_id and answer")
	}
	in := dispatch.CenterAuditVerdict{ID: it.ID, CenterID: center.ID, AuditID: b.AuditID, ReviewerID: b.ReviewerID, Answer: b.Answer}
	return h.once(ctx, center.ID, it, func(tx *store.Tx) (wire.Verdict, error) {
		return h.Dispatch.ReceiveAuditVerdict(ctx, tx, in)
	})
}
