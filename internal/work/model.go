package work

import (
	"encoding/json"
	"time"
)

// Project is a client's stream of work of one kind under one schema.
type Project struct {
	ID           string  `json:"id"`
	ClientID     string  `json:"client_id"`
	Name         string  `json:"name"`
	Kind         Kind    `json:"kind"`
	Schema       *Schema `json:"schema"`
	Instructions string  `json:"instructions"`
	Overlap      int     `json:"overlap"`
	MaxOverlap   int     `json:"max_overlap"`
	// AssignmentSeconds is how long a worker may hold a task before it goes
	// back to the pool.
	AssignmentSeconds int       `json:"assignment_seconds"`
	CreatedAt         time.Time `json:"created_at"`
}

// Project limits and defaults.
const (
	DefaultOverlap           = 3
	DefaultAssignmentSeconds = 600
	MaxOverlapLimit          = 15
)

// Batch is one upload of tasks into a project.
type Batch struct {
	ID          string     `json:"id"`
	ProjectID   string     `json:"project_id"`
	ClientID    string     `json:"client_id"`
	Name        string     `json:"name"`
	Tasks       int        `json:"tasks"`
	TasksDone   int        `json:"tasks_done"`
	CreatedAt   time.Time  `json:"created_at"`
	CompletedAt *time.Time `json:"completed_at,omitempty"`
}

// Task is one item of work. Payload holds the input fields as uploaded.
type Task struct {
	ID         string          `json:"id"`
	ProjectID  string          `json:"project_id"`
	BatchID    string          `json:"batch_id"`
	ExternalID string          `json:"external_id,omitempty"`
	Payload    json.RawMessage `json:"payload"`
	State      TaskState       `json:"state"`
	Answers    int             `json:"answers"`
	Wanted     int             `json:"wanted"`
	CreatedAt  time.Time       `json:"created_at"`
	UpdatedAt  time.Time       `json:"updated_at"`
}

// Assignment is one worker holding one task for a few minutes, and then the
// answer they gave.
type Assignment struct {
	ID          string     `json:"id"`
	TaskID      string     `json:"task_id"`
	ProjectID   string     `json:"project_id"`
	WorkerID    string     `json:"worker_id"`
	State       string     `json:"state"`
	Answer      *Answer    `json:"answer,omitempty"`
	CreatedAt   time.Time  `json:"created_at"`
	ExpiresAt   time.Time  `json:"expires_at"`
	SubmittedAt *time.Time `json:"submitted_at,omitempty"`
	DurationMS  int64      `json:"duration_ms,omitempty"`
}

// Assignment states.
const (
	AssignmentActive    = "active"
	AssignmentSubmitted = "submitted"
	AssignmentExpired   = "expired"
)

// Result is a task's final answer as delivered to the client.
type Result struct {
	TaskID     string    `json:"task_id"`
	ExternalID string    `json:"external_id,omitempty"`
	ProjectID  string    `json:"project_id"`
	BatchID    string    `json:"batch_id"`
	Answer     Answer    `json:"answer"`
	Confidence float64   `json:"confidence"`
	Answers    int       `json:"answers"`
	Source     string    `json:"source"`
	CreatedAt  time.Time `json:"created_at"`
}

// Result sources.
const (
	SourceAgreement = "agreement" // workers agreed
	SourceReview    = "review"    // a reviewer decided
)
