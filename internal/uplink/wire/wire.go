// Package wire is the vocabulary of the hub↔center protocol: its version,
// every message a center and the hub exchange under /uplink/v1, every kind
// of record a center uploads with the body it carries, and the statuses
// the hub answers each record with. Each is declared here once, with its
// JSON names; what the code on either side keeps of a record is its own
// type.
//
// It imports nothing of ours but work, so that the domains, which write
// these bodies at a center and receive them on the hub, can use it
// without importing uplink, which imports them.
package wire

import (
	"encoding/json"
	"time"

	"banyan/internal/work"
)

// Protocol is the uplink protocol version this build speaks; MinProtocol
// is the oldest it still accepts from a center.
//
// Version 2: an answer's duration_ms is the center's own measure of the
// working time (a version-1 center sent what the worker's device said),
// with started_at and reported_ms beside it; an upload states the center's
// clock; a training span carries its course session. A version-1 center is
// refused with 426 and keeps working offline until it is upgraded, so no
// device-reported time reaches the hub as a measure.
const (
	Protocol    = 2
	MinProtocol = 2
)

// ProtocolHeader carries the protocol version on every request and reply.
const ProtocolHeader = "Banyan-Protocol"

// Hello opens a session: the center says who it is and how much it has
// waiting to upload.
type Hello struct {
	Version string `json:"version"`
	Backlog int    `json:"backlog"`
}

// HelloReply tells the center about the hub.
type HelloReply struct {
	Protocol        int       `json:"protocol"`
	HubVersion      string    `json:"hub_version"`
	CenterID        string    `json:"center_id"`
	CenterName      string    `json:"center_name"`
	HubTime         time.Time `json:"hub_time"`
	LeaseTTLSeconds int       `json:"lease_ttl_seconds"`
}

// Skill is a kind of task in a language.
type Skill struct {
	Kind     string `json:"kind"`
	Language string `json:"language"`
}

// LeaseRequest asks for Want answers' worth of tasks the center's workers
// can do (a task brings as many slots as it still wants answers): of the
// Skills listed (any, if none), and of none of those in Exclude.
type LeaseRequest struct {
	Want    int     `json:"want"`
	Skills  []Skill `json:"skills,omitempty"`
	Exclude []Skill `json:"exclude,omitempty"`
}

// Project is what a center needs to know of a project to offer its tasks.
type Project struct {
	ID           string       `json:"id"`
	Kind         work.Kind    `json:"kind"`
	Language     string       `json:"language"`
	Instructions string       `json:"instructions"`
	Schema       *work.Schema `json:"schema"`
	MinAnswerMS  int64        `json:"min_answer_ms"`
}

// Grant is one leased task. LeaseID is the only name the center gets for
// it.
type Grant struct {
	LeaseID string `json:"lease_id"`
	// TaskKey is the same for every lease of one task to this center, and
	// tells the center nothing else.
	TaskKey   string          `json:"task_key"`
	Epoch     int             `json:"epoch"`
	Slots     int             `json:"slots"`
	ExpiresAt time.Time       `json:"expires_at"`
	Payload   json.RawMessage `json:"payload"`
	Project   Project         `json:"project"`
	// Exclude names the center's workers who answered this task under an
	// earlier lease; the center must not offer it to them.
	Exclude []string `json:"exclude,omitempty"`
	// Files are the task's attachments; the center fetches each from
	// /uplink/v1/files/{sha256} and offers the task only once all are
	// present and verified.
	Files []File `json:"files,omitempty"`
	// Deadline is the SLA deadline of the task's batch, by the hub's
	// clock; DueInSeconds is the time left to it when the grant was made,
	// which is what a center with a wrong clock can trust.
	Deadline     *time.Time `json:"deadline,omitempty"`
	DueInSeconds int64      `json:"due_in_seconds,omitempty"`
	// ReworkNote is, on a task whose earlier reply failed review by its
	// project's rubric, the reviewer's note for the writer who takes it
	// next.
	ReworkNote string `json:"rework_note,omitempty"`
}

// File is one attachment of a leased task: its input field, its name in
// the upload, its SHA-256, size and media type.
type File struct {
	Field     string `json:"field"`
	Name      string `json:"name"`
	SHA256    string `json:"sha256"`
	Size      int64  `json:"size"`
	MediaType string `json:"media_type"`
}

// LeaseReply carries the grants.
type LeaseReply struct {
	Grants []Grant `json:"grants"`
}

// Heartbeat renews the center's leases while the link is up.
type Heartbeat struct {
	LeaseIDs []string `json:"lease_ids"`
	Backlog  int      `json:"backlog"`
}

// HeartbeatReply lists the leases renewed and, for the others, why they
// are gone; the center stops starting work on those.
type HeartbeatReply struct {
	Renewed   []string          `json:"renewed"`
	Gone      map[string]string `json:"gone"`
	ExpiresAt time.Time         `json:"expires_at"`
}

// FeedRequest asks for the center's down feed after Cursor (0 the first
// time).
type FeedRequest struct {
	Cursor int64 `json:"cursor"`
}

// FeedEvent is one entry of a center's down feed. Seq is 0 in a snapshot.
// Its kinds and their bodies are the domains' (see package feed).
type FeedEvent struct {
	Seq  int64           `json:"seq"`
	Kind string          `json:"kind"`
	Body json.RawMessage `json:"body"`
}

// FeedReply carries feed events in order and the cursor to ask with next.
// Reset means the cursor was not one the hub gave: the events are a full
// snapshot and the center must forget what it had.
type FeedReply struct {
	Events []FeedEvent `json:"events"`
	Next   int64       `json:"next"`
	Reset  bool        `json:"reset,omitempty"`
}

// Kinds of record a center uploads; each item's body is the type of the
// same name below.
const (
	KindAnswer        = "answer"
	KindEnrolment     = "enrolment"
	KindActivity      = "activity"
	KindDeclaration   = "declaration"
	KindWithdrawal    = "withdrawal"
	KindReview        = "review"
	KindAudit         = "audit"
	KindAttemptAnswer = "attempt_answer"
	KindAuditVerdict  = "audit_verdict"
)

// Item is one record born at the center, with the id it was given there
// and its place in the center's sequence.
type Item struct {
	ID   string          `json:"id"`
	Seq  int64           `json:"seq"`
	Kind string          `json:"kind"`
	Body json.RawMessage `json:"body"`
}

// Answer is a worker's answer given at the center. DurationMS is the
// working time the center measured (from its offer, or its restart after
// it, to the save, by its own clock); StartedAt is when that measure began,
// by the center's clock; ReportedMS is what the worker's client said, kept
// as information only.
type Answer struct {
	LeaseID    string          `json:"lease_id"`
	Epoch      int             `json:"epoch"`
	WorkerID   string          `json:"worker_id"`
	Answer     json.RawMessage `json:"answer"`
	DurationMS int64           `json:"duration_ms"`
	StartedAt  time.Time       `json:"started_at,omitzero"`
	ReportedMS int64           `json:"reported_ms,omitempty"`
}

// Enrolment is a person enrolled at the center: a worker unless Role says
// reviewer or center_manager.
type Enrolment struct {
	WorkerID string `json:"worker_id"`
	Name     string `json:"name"`
	Role     string `json:"role,omitempty"`
}

// Activity is a span of a worker's declared time recorded at the center,
// with the course session it lies in as the center recorded it, so the
// hub learns of the session with the span.
type Activity struct {
	WorkerID string `json:"worker_id"`
	work.Activity
	Session *CourseSession `json:"session,omitempty"`
}

// CourseSession is a worker's session of a course at the center, as it
// travels up in a span it holds.
type CourseSession struct {
	ID         string     `json:"id"`
	WorkerID   string     `json:"worker_id"`
	CourseID   string     `json:"course_id"`
	StartedAt  time.Time  `json:"started_at"`
	LastSeenAt time.Time  `json:"last_seen_at"`
	ClosedAt   *time.Time `json:"closed_at,omitempty"`
}

// Declaration is a worker's self-declaration made at the center.
type Declaration struct {
	WorkerID   string    `json:"worker_id"`
	DeclaredAt time.Time `json:"declared_at"`
	work.Declaration
}

// Withdrawal is a worker's withdrawal, at the center, of consent to their
// self-declarations: the hub erases its copies too.
type Withdrawal struct {
	WorkerID string `json:"worker_id"`
}

// Review is a center reviewer's check of one of the center's answers,
// with the answer the reviewer would have given, if any.
type Review struct {
	AssignmentID string          `json:"assignment_id"`
	ReviewerID   string          `json:"reviewer_id"`
	Verdict      string          `json:"verdict"`
	Answer       json.RawMessage `json:"answer,omitempty"`
	Note         string          `json:"note"`
}

// AuditVerdict is a center reviewer's verdict on a task the hub sent the
// center to audit blind (the feed's audit_task): the answer the reviewer
// finds right, given without seeing the workers' answers.
type AuditVerdict struct {
	AuditID    string          `json:"audit_id"`
	ReviewerID string          `json:"reviewer_id"`
	Answer     json.RawMessage `json:"answer"`
}

// Audit is an audit event born at the center.
type Audit struct {
	Actor   string    `json:"actor"`
	Action  string    `json:"action"`
	Subject string    `json:"subject"`
	Detail  string    `json:"detail"`
	At      time.Time `json:"at"`
}

// AttemptAnswer is a worker's answer to one course item, given at the
// center.
type AttemptAnswer struct {
	AttemptID string          `json:"attempt_id"`
	CourseID  string          `json:"course_id"`
	WorkerID  string          `json:"worker_id"`
	ItemID    string          `json:"item_id"`
	Answer    json.RawMessage `json:"answer"`
}

// Upload carries records in sequence order. Clock is the center's wall
// clock when it sent the upload: the hub puts the times the records carry
// on its own clock by the difference, since a center's clock may be days
// off. Zero (a center that does not say) means no difference.
type Upload struct {
	Items   []Item    `json:"items"`
	Backlog int       `json:"backlog"`
	Clock   time.Time `json:"clock,omitzero"`
}

// Upload statuses: accepted, duplicate, superseded and rejected are final;
// retry stored nothing and asks the center to send the item again later
// (its worker's enrolment has not arrived, say).
const (
	StatusAccepted   = "accepted"
	StatusDuplicate  = "duplicate"
	StatusSuperseded = "superseded"
	StatusRejected   = "rejected"
	StatusRetry      = "retry"
)

// Verdict is the hub's answer to one uploaded record: its status and, for
// every status but accepted, why.
type Verdict struct {
	Status string
	Reason string
}

// UploadReply answers every item of an upload. Statuses holds one status
// per item, in the order the items were sent (ids are not echoed: on a
// 64 kbit/s link they would cost more than the answers); Reasons explains,
// by item index, every status but accepted.
type UploadReply struct {
	Statuses []string       `json:"statuses"`
	Reasons  map[int]string `json:"reasons,omitempty"`
}
