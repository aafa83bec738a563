package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"banyan/internal/auth"
	"banyan/internal/dispatch"
	"banyan/internal/problem"
	"banyan/internal/project"
	"banyan/internal/work"
)

// OfferFile is one attachment of an offered task.
type OfferFile struct {
	Field     string `json:"field"`
	Name      string `json:"name"`
	MediaType string `json:"media_type"`
	Size      int64  `json:"size"`
	URL       string `json:"url"`
}

// offerFiles lists a task's attachments as a worker sees them, each at
// its URL under the assignment.
func offerFiles(assignmentID string, files []project.TaskFile) []OfferFile {
	out := make([]OfferFile, len(files))
	for i, f := range files {
		out[i] = OfferFile{Field: f.Field, Name: f.Name, MediaType: f.MediaType, Size: f.Size,
			URL: "/api/v1/assignments/" + assignmentID + "/files/" + f.Field}
	}
	return out
}

// Offer is what a worker is shown for a task, a dispatch.Offer in JSON:
// its input and how to answer, and nothing that tells one task from
// another (no task id; see dispatch.Offer). The assignment id (at a
// village center, the center's own work id) is the worker's handle.
type Offer struct {
	AssignmentID string    `json:"assignment_id"`
	ExpiresAt    time.Time `json:"expires_at"`
	Task         struct {
		Payload json.RawMessage `json:"payload"`
		// Files are the task's attachments, each fetched from its URL
		// while the assignment is held.
		Files []OfferFile `json:"files,omitempty"`
	} `json:"task"`
	Project TaskProject `json:"project"`
	// ReworkNote is, on a task whose earlier reply failed review by its
	// project's rubric, the reviewer's note: what to do better.
	ReworkNote string `json:"rework_note,omitempty"`
}

// TaskProject is what a worker or a reviewer is shown of a task's project:
// how to answer it.
type TaskProject struct {
	ID           string       `json:"id"`
	Kind         work.Kind    `json:"kind"`
	Instructions string       `json:"instructions"`
	Schema       *work.Schema `json:"schema"`
}

// nextTaskIn is the request body of nextTask.
type nextTaskIn struct {
	ProjectID string `json:"project_id"`
}

func (a *API) nextTask(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if p.Role != auth.Worker {
		return problem.New(http.StatusForbidden, "only workers take tasks")
	}
	var in nextTaskIn
	if r.ContentLength != 0 {
		if err := decodeJSON(w, r, &in); err != nil {
			return err
		}
	}
	if in.ProjectID != "" && !work.ValidID(in.ProjectID) {
		return errNotVisible("project")
	}
	o, err := a.Desk.Next(r.Context(), p.UserID, in.ProjectID)
	if errors.Is(err, dispatch.ErrNoWork) {
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	if err != nil {
		return err
	}
	out := Offer{AssignmentID: o.WorkID, ExpiresAt: o.ExpiresAt, ReworkNote: o.ReworkNote}
	out.Task.Payload = o.Payload
	if len(o.Files) > 0 {
		out.Task.Files = offerFiles(o.WorkID, o.Files)
	}
	out.Project = TaskProject{ID: o.ProjectID, Kind: o.Kind, Instructions: o.Instructions, Schema: o.Schema}
	return writeJSON(w, http.StatusOK, out)
}

// AnswerIn is the request body of submitAnswer.
type AnswerIn struct {
	Answer     json.RawMessage `json:"answer"`
	DurationMS int64           `json:"duration_ms"`
}

func (a *API) submitAnswer(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if p.Role != auth.Worker {
		return problem.New(http.StatusForbidden, "only workers answer tasks")
	}
	id, err := pathID(r, "assignment")
	if err != nil {
		return err
	}
	var in AnswerIn
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	if len(in.Answer) == 0 {
		return problem.New(http.StatusUnprocessableEntity, "answer: required")
	}
	status, err := a.Desk.Answer(r.Context(), dispatch.Submission{WorkID: id, WorkerID: p.UserID, Answer: in.Answer, ReportedMS: in.DurationMS})
	if err != nil {
		return hidden(err, "assignment")
	}
	return writeJSON(w, http.StatusOK, AnswerReply{AssignmentID: id, Status: string(status)})
}
