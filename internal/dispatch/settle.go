package dispatch

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	"banyan/internal/ledger"
	"banyan/internal/problem"
	"banyan/internal/project"
	"banyan/internal/quality"
	"banyan/internal/store"
	"banyan/internal/work"
)

// Verdict is what the submit logic decides about a task once an answer is
// in: its next state, and its result when it is done.
type Verdict struct {
	State      work.TaskState
	Result     work.Answer
	Confidence float64
	// Wanted is how many answers the task should get in all.
	Wanted int
	// ReviewReason says why a task goes to review ("disagreement",
	// "low_confidence"); Result then holds the answers' best guess, if any.
	ReviewReason string
}

// Review reasons.
const (
	ReviewSample        = "sample"         // drawn at the project's review rate
	ReviewDisagreement  = "disagreement"   // no majority at max overlap
	ReviewLowConfidence = "low_confidence" // under the confidence target at max overlap
)

// Given is one counted answer to a task, with what is known of the worker.
type Given struct {
	WorkerID string
	Answer   work.Answer
	// Accuracy is the worker's estimated accuracy at the project's skill
	// (the prior mean for a worker never scored).
	Accuracy float64
}

// DecideFunc decides a task from all the answers it holds.
type DecideFunc func(given []Given) (Verdict, error)

// SubmitOutcome tells the caller what an answer did.
type SubmitOutcome struct {
	// Duplicate is true when this exact answer had already been submitted
	// for the assignment; nothing changed.
	Duplicate bool
	// Counted is false when the answer was kept but does not count: the
	// task's result was final already, or the answer was too fast.
	Counted bool
	// Flag is set when the answer was flagged ("too_fast", "late").
	Flag string
	// Gold is true when the task was a gold task; Score is then the share
	// of the answer that was right. Never tell the worker.
	Gold      bool
	Score     float64
	TaskState work.TaskState
}

// SubmitArgs is one answer to record.
type SubmitArgs struct {
	// Project is the assignment's project, as the caller loaded it to
	// validate the answer; Record does not read it again.
	Project                work.Project
	AssignmentID, WorkerID string
	Answer                 work.Answer
	// OfferedAt and ExpiresAt are the assignment's own times, as the
	// caller loaded it; Record measures the working time from them (and
	// reads the row itself when they do not match it).
	OfferedAt, ExpiresAt time.Time
	// ReportedMS is the time the worker's client says the answer took. It
	// is kept as information only: no check, pay or report reads it.
	ReportedMS int64
	// SampleDraw, uniform in [0, 1), sends a task that settles to review
	// when it falls under the project's review rate.
	SampleDraw float64
}

// Record records a worker's answer to their assignment, already validated
// (Submit validates it), and, in the same transaction, acts on it:
//   - an answer to a gold task is scored against the known answer and
//     updates the worker's skill, which may suspend them;
//   - an answer faster than the project's floor is kept, flagged, and the
//     task gets another answer in its place;
//   - otherwise the task is re-decided with decide: settled tasks get their
//     result (or, when sampled, go to review first), disagreeing tasks want
//     another answer or go to review.
//
// An answer on an assignment that has timed out is late: it is always
// kept, and counts only as an extra judgment that leaves every current
// holder's place alone (see applyLate). Submitting the same answer twice is
// harmless.
func (s *Service) Record(ctx context.Context, in SubmitArgs, decide DecideFunc) (SubmitOutcome, error) {
	var out SubmitOutcome
	raw, err := json.Marshal(in.Answer)
	if err != nil {
		return out, fmt.Errorf("dispatch: submit: %w", err)
	}
	err = s.Store.Write(ctx, func(tx *store.Tx) error {
		nowT := s.Store.Now()
		now := store.TimeText(nowT)
		// The working time is the server's: from the offer (the
		// assignment's own timestamp) to now, at most the assignment's
		// limit.
		worked := work.WorkedMS(in.OfferedAt, nowT, in.ExpiresAt.Sub(in.OfferedAt), s.WorkTimeScale)
		// The common case, an answer to a live assignment, is one
		// statement; anything else (a repeat, a timed-out assignment, a
		// stranger's or unknown id, times that are not the row's) is
		// sorted out below.
		var taskID string
		err := tx.QueryRowContext(ctx, `UPDATE assignments SET state = 'submitted', answer = ?, submitted_at = ?, duration_ms = ?, reported_ms = ?
			WHERE id = ? AND worker_id = ? AND project_id = ? AND state = 'active' AND created_at = ? AND expires_at = ? RETURNING task_id`,
			string(raw), now, worked, in.ReportedMS, in.AssignmentID, in.WorkerID, in.Project.ID, store.TimeText(in.OfferedAt), store.TimeText(in.ExpiresAt)).Scan(&taskID)
		if err == nil {
			out, err = s.applyAnswer(ctx, tx, applyArgs{assignmentID: in.AssignmentID, taskID: taskID, project: in.Project,
				workerID: in.WorkerID, answer: in.Answer, durationMS: worked, sampleDraw: in.SampleDraw, holders: 1}, decide)
			return err
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		// Locked, so the same answer sent twice at once (through two hubs)
		// is applied once.
		a, err := scanAssignment(tx.QueryRowContext(ctx, `SELECT `+assignmentCols+` FROM assignments WHERE id = ?`+tx.ForUpdate(), in.AssignmentID))
		if errors.Is(err, sql.ErrNoRows) || (err == nil && a.WorkerID != in.WorkerID) {
			return fmt.Errorf("assignment %s: %w", in.AssignmentID, store.ErrNotFound)
		}
		if err != nil {
			return err
		}
		if a.ProjectID != in.Project.ID {
			return fmt.Errorf("assignment %s is not of project %s", a.ID, in.Project.ID)
		}
		if a.State == work.AssignmentSubmitted {
			if a.Answer != nil && reflect.DeepEqual(*a.Answer, in.Answer) {
				out.Duplicate, out.Counted, out.Flag = true, a.Flag == "", a.Flag
				return nil
			}
			return problem.Public(store.ErrConflict, "assignment %s already has a different answer", in.AssignmentID)
		}
		// An assignment that timed out holds no place any more: its
		// answer is late, and applyAnswer decides whether there is room
		// for it.
		holders := 0
		if a.State == work.AssignmentActive {
			holders = 1
		}
		worked = work.WorkedMS(a.CreatedAt, nowT, a.ExpiresAt.Sub(a.CreatedAt), s.WorkTimeScale)
		if _, err := tx.ExecContext(ctx, `UPDATE assignments SET state = 'submitted', answer = ?, submitted_at = ?, duration_ms = ?, reported_ms = ?
			WHERE id = ?`, string(raw), now, worked, in.ReportedMS, a.ID); err != nil {
			return err
		}
		out, err = s.applyAnswer(ctx, tx, applyArgs{assignmentID: a.ID, taskID: a.TaskID, project: in.Project,
			workerID: in.WorkerID, answer: in.Answer, durationMS: worked, sampleDraw: in.SampleDraw, holders: holders}, decide)
		return err
	})
	if err != nil {
		return SubmitOutcome{}, fmt.Errorf("dispatch: submit assignment %s: %w", in.AssignmentID, err)
	}
	return out, nil
}

// applyArgs is one answer, already stored as a submitted assignment row,
// for applyAnswer to act on.
type applyArgs struct {
	assignmentID, taskID, workerID string
	project                        work.Project
	answer                         work.Answer
	// durationMS is the working time the server measured.
	durationMS int64
	sampleDraw float64
	// holders is how many places the answer frees in the task's count of
	// live holders (1 for a live assignment or a lease slot, else 0).
	holders int
}

// applyAnswer acts on a stored answer inside the caller's transaction: a
// gold answer is scored and feeds the worker's skill; a too-fast answer is
// flagged and its place goes back to the pool; otherwise the task is
// re-decided. It is shared by hub workers' answers and answers uploaded by
// centers.
func (s *Service) applyAnswer(ctx context.Context, tx *store.Tx, in applyArgs, decide DecideFunc) (SubmitOutcome, error) {
	var out SubmitOutcome
	now := store.TimeText(s.Store.Now())
	p := in.project
	var state string
	// holding is how many places others still hold on the task.
	var wanted, gold, holding int
	if in.holders == 0 {
		late, err := s.applyLate(ctx, tx, in, now)
		if err != nil || late.flagged {
			return late.out, err
		}
		state, wanted, gold, holding = late.state, late.wanted, late.gold, late.holders
	} else {
		// The task's counts change first, which locks its row: answers to
		// one task arriving at once (through several hubs) are decided one
		// after the other. An answer to a gold task always counts; any
		// other counts unless it came faster than the project's floor.
		tooFast := 0
		if in.durationMS < p.MinAnswerMS {
			tooFast = 1
		}
		if err := tx.QueryRowContext(ctx, `UPDATE tasks SET answers = answers + CASE WHEN gold = 1 OR ? = 0 THEN 1 ELSE 0 END,
				holders = holders - ?, updated_at = ? WHERE id = ? RETURNING state, wanted, gold, holders`,
			tooFast, in.holders, now, in.taskID).Scan(&state, &wanted, &gold, &holding); err != nil {
			return out, err
		}
	}
	out.TaskState, out.Gold = work.TaskState(state), gold == 1
	open := !out.TaskState.Final() && out.TaskState != work.TaskNeedsReview
	var flag, score any
	switch {
	case out.Gold:
		var truth work.Answer
		var rawGold string
		if err := tx.QueryRowContext(ctx, `SELECT answer FROM gold WHERE task_id = ?`, in.taskID).Scan(&rawGold); err != nil {
			return out, fmt.Errorf("gold answer of task %s: %w", in.taskID, err)
		}
		if err := json.Unmarshal([]byte(rawGold), &truth); err != nil {
			return out, err
		}
		out.Score = work.Score(p.Kind, p.Schema, p.MaxTextError, truth, in.answer)
		score = out.Score
	case in.durationMS < p.MinAnswerMS:
		out.Flag, flag = work.FlagTooFast, work.FlagTooFast
	}
	if flag != nil || score != nil {
		if _, err := tx.ExecContext(ctx, `UPDATE assignments SET flag = ?, score = ? WHERE id = ?`, flag, score, in.assignmentID); err != nil {
			return out, err
		}
	}
	switch {
	case out.Gold:
		out.Counted = true
		// A gold answer is work like any other (the worker cannot tell):
		// it is paid as it is scored.
		if err := ledger.PayAnswers(ctx, tx, in.taskID, in.assignmentID, now); err != nil {
			return out, fmt.Errorf("pay the answer: %w", err)
		}
		if out.Score >= 1 {
			if err := ledger.GoldBonus(ctx, tx, in.assignmentID, now); err != nil {
				return out, fmt.Errorf("gold bonus: %w", err)
			}
		}
		return out, s.scoreWorker(ctx, tx, in.workerID, p, out.Score, "gold", now)
	case out.Flag != "":
		if open && in.holders > 0 {
			// The flagged answer's place goes back to the pool.
			_, err := tx.ExecContext(ctx, `UPDATE tasks SET wanted = wanted + 1 WHERE id = ?`, in.taskID)
			return out, err
		}
		return out, nil
	case !open:
		// The result is final already: keep the work, change nothing.
		return out, nil
	}
	out.Counted = true
	if in.holders == 0 && holding > 0 {
		// A late answer counted beside live holders: their places stay
		// theirs, and the task is decided when they answer.
		return out, nil
	}
	// While others still hold places on the task, late extra answers wait:
	// the task is decided on the answers given in time, so it cannot settle
	// under those holders because of an answer that came late.
	given, err := s.taskAnswers(ctx, tx, in.taskID, p, holding == 0)
	if err != nil {
		return out, err
	}
	v, err := decide(given)
	if err != nil {
		return out, err
	}
	out.TaskState = v.State
	switch v.State {
	case work.TaskDone:
		reason, err := s.reviewReason(ctx, tx, p, in.workerID, in.sampleDraw)
		if err != nil {
			return out, err
		}
		if reason != "" {
			out.TaskState = work.TaskNeedsReview
			return out, s.toReview(ctx, tx, in.taskID, reason, &v.Result, now)
		}
		return out, s.finish(ctx, tx, in.taskID, v.Result, v.Confidence, len(given), work.SourceAgreement, "", now)
	case work.TaskNeedsReview:
		var proposed *work.Answer
		if v.Result.Label != "" || v.Result.Labels != nil || v.Result.Fields != nil || v.Result.Text != "" {
			proposed = &v.Result
		}
		return out, s.toReview(ctx, tx, in.taskID, v.ReviewReason, proposed, now)
	}
	_, err = tx.ExecContext(ctx, `UPDATE tasks SET wanted = ?, updated_at = ? WHERE id = ?`, max(v.Wanted, wanted), now, in.taskID)
	return out, err
}

// lateOutcome is what applyLate made of a late answer.
type lateOutcome struct {
	out SubmitOutcome
	// flagged is true when the answer was stored as too fast or late and
	// nothing more is to be done.
	flagged bool
	// The task's state, its wanted answers, whether it is gold and how
	// many places others hold, for applyAnswer to go on with.
	state                 string
	wanted, gold, holders int
}

// applyLate sorts out an answer from a worker who no longer holds a place
// on the task: their assignment timed out, or their center's lease ran
// out or had every slot used. Such an answer never takes the place of a
// current holder. It counts as an extra judgment only while the task is
// open and has room for it beside every live holder within the project's
// max_overlap; the holders' places stay theirs (wanted grows to cover
// them). Otherwise it is kept, flagged late, neither counted nor paid. An
// answer to a gold task is scored as always; a too-fast answer is flagged
// as always, and, holding no place, gives none back.
func (s *Service) applyLate(ctx context.Context, tx *store.Tx, in applyArgs, now string) (lateOutcome, error) {
	var l lateOutcome
	var answers int
	// Touching the row locks it, as the counted path's update does.
	if err := tx.QueryRowContext(ctx, `UPDATE tasks SET updated_at = ? WHERE id = ? RETURNING state, wanted, gold, answers, holders`,
		now, in.taskID).Scan(&l.state, &l.wanted, &l.gold, &answers, &l.holders); err != nil {
		return l, err
	}
	p := in.project
	st := work.TaskState(l.state)
	open := !st.Final() && st != work.TaskNeedsReview
	switch {
	case l.gold == 1:
		_, err := tx.ExecContext(ctx, `UPDATE tasks SET answers = answers + 1 WHERE id = ?`, in.taskID)
		return l, err
	case in.durationMS < p.MinAnswerMS:
		// Flagged too fast by applyAnswer's common path; no count changes.
		return l, nil
	case open && answers+l.holders < max(p.MaxOverlap, p.Overlap):
		l.wanted = max(l.wanted, answers+1+l.holders)
		if _, err := tx.ExecContext(ctx, `UPDATE tasks SET answers = answers + 1, wanted = ? WHERE id = ?`, l.wanted, in.taskID); err != nil {
			return l, err
		}
		_, err := tx.ExecContext(ctx, `UPDATE assignments SET extra = 1 WHERE id = ?`, in.assignmentID)
		return l, err
	}
	l.flagged = true
	l.out = SubmitOutcome{TaskState: st, Flag: work.FlagLate}
	_, err := tx.ExecContext(ctx, `UPDATE assignments SET flag = ? WHERE id = ?`, work.FlagLate, in.assignmentID)
	return l, err
}

// toReview sends a task to review, keeping the answers' best guess; a
// sampled task may go to a village center's reviewers (sendAudit).
func (s *Service) toReview(ctx context.Context, tx *store.Tx, taskID, reason string, proposed *work.Answer, now string) error {
	if err := releaseLeases(ctx, tx, taskID); err != nil {
		return err
	}
	var raw any
	if proposed != nil {
		b, err := json.Marshal(proposed)
		if err != nil {
			return err
		}
		raw = string(b)
	}
	_, err := tx.ExecContext(ctx, `UPDATE tasks SET state = 'needs_review', review_reason = ?, proposed = ?, updated_at = ? WHERE id = ?`,
		reason, raw, now, taskID)
	if err != nil || reason != ReviewSample {
		return err
	}
	return s.sendAudit(ctx, tx, taskID, now)
}

// scoreWorker adds one scored answer to the worker's skill for the
// project's kind and language, and suspends the worker from that skill when
// it falls under the project's minimum.
func (s *Service) scoreWorker(ctx context.Context, tx *store.Tx, workerID string, p work.Project, score float64, source, now string) error {
	sk := quality.SkillPrior
	status := SkillActive
	err := tx.QueryRowContext(ctx, `SELECT alpha, beta, scored, status FROM worker_skills WHERE worker_id = ? AND kind = ? AND language = ?`,
		workerID, string(p.Kind), p.Language).Scan(&sk.Alpha, &sk.Beta, &sk.N, &status)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	sk = sk.Update(score)
	reason := ""
	if status == SkillActive && sk.Below(p.MinAccuracy, p.MinGold) {
		status = SkillSuspended
		reason = fmt.Sprintf("estimated accuracy %.2f after %d scored answers (last from %s) is below project %q's minimum of %.2f; retrain before taking %s work in %q again",
			sk.Mean(), sk.N, source, p.Name, p.MinAccuracy, p.Kind, p.Language)
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO worker_skills (worker_id, kind, language, alpha, beta, scored, status, reason, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (worker_id, kind, language) DO UPDATE SET alpha = excluded.alpha, beta = excluded.beta,
			scored = excluded.scored, updated_at = excluded.updated_at,
			status = CASE WHEN excluded.status = 'suspended' THEN 'suspended' ELSE worker_skills.status END,
			reason = CASE WHEN excluded.status = 'suspended' THEN excluded.reason ELSE worker_skills.reason END`,
		workerID, string(p.Kind), p.Language, sk.Alpha, sk.Beta, sk.N, status, reason, now)
	if err != nil || reason == "" {
		return err
	}
	// Just suspended: a worker at a village center must hear of it too.
	return SkillChanged(ctx, tx, workerID, string(p.Kind), p.Language, SkillSuspended, reason, now)
}

// taskAnswers reads every counted answer to a task, oldest first, with
// each worker's estimated accuracy at the project's skill; withExtra false
// leaves out late answers counted as extra judgments.
func (s *Service) taskAnswers(ctx context.Context, tx *store.Tx, taskID string, p work.Project, withExtra bool) ([]Given, error) {
	extra := 0
	if withExtra {
		extra = 1
	}
	rows, err := tx.QueryContext(ctx, `SELECT a.worker_id, a.answer, coalesce(k.alpha, ?), coalesce(k.beta, ?),
			coalesce(k.ds_accuracy, 0), coalesce(k.ds_labels, 0)
		FROM assignments a
		LEFT JOIN worker_skills k ON k.worker_id = a.worker_id AND k.kind = ? AND k.language = ?
		WHERE a.task_id = ? AND a.state = 'submitted' AND a.flag IS NULL AND (? = 1 OR a.extra = 0)
		ORDER BY a.submitted_at, a.id`,
		quality.SkillPrior.Alpha, quality.SkillPrior.Beta, string(p.Kind), p.Language, taskID, extra)
	if err != nil {
		return nil, err
	}
	return store.Collect(rows, func(r store.Scanner) (Given, error) {
		var g Given
		var raw string
		var alpha, beta, dsAcc float64
		var dsLabels int
		if err := r.Scan(&g.WorkerID, &raw, &alpha, &beta, &dsAcc, &dsLabels); err != nil {
			return g, err
		}
		g.Accuracy = quality.Skill{Alpha: alpha, Beta: beta}.WithRefit(dsAcc, dsLabels).Mean()
		return g, json.Unmarshal([]byte(raw), &g.Answer)
	})
}

// TaskAnswers returns every answer submitted to a task, oldest first.
func (s *Service) TaskAnswers(ctx context.Context, taskID string) ([]work.Assignment, error) {
	rows, err := s.Store.Read(ctx).QueryContext(ctx, `SELECT `+assignmentCols+` FROM assignments
		WHERE task_id = ? AND state = 'submitted' ORDER BY submitted_at, id`, taskID)
	if err != nil {
		return nil, fmt.Errorf("dispatch: answers of task %s: %w", taskID, err)
	}
	return store.Collect(rows, scanAssignment)
}

// finish stores a task's result and marks the task and, when it was the
// last, its batch done.
func (s *Service) finish(ctx context.Context, tx *store.Tx, taskID string, result work.Answer, confidence float64, answers int, source, reviewerID, now string) error {
	raw, err := json.Marshal(result)
	if err != nil {
		return err
	}
	var reviewer any
	if reviewerID != "" {
		reviewer = reviewerID
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO results (task_id, project_id, batch_id, answer, confidence, answers, source, reviewer_id, created_at)
		SELECT id, project_id, batch_id, ?, ?, ?, ?, ?, ? FROM tasks WHERE id = ?`,
		string(raw), confidence, answers, source, reviewer, now, taskID); err != nil {
		return fmt.Errorf("store result: %w", err)
	}
	var batchID string
	if err := tx.QueryRowContext(ctx, `UPDATE tasks SET state = 'done', updated_at = ? WHERE id = ? RETURNING batch_id`, now, taskID).
		Scan(&batchID); err != nil {
		return err
	}
	// The result is delivered and its answers approved: the client is
	// charged and every counted answer paid, in this same transaction.
	if err := ledger.ChargeDelivery(ctx, tx, taskID, now); err != nil {
		return fmt.Errorf("charge the result: %w", err)
	}
	if err := project.ResultReady(ctx, s.Store, tx, taskID, result, confidence); err != nil {
		return fmt.Errorf("webhooks: %w", err)
	}
	if err := ledger.ApproveOrHold(ctx, tx, taskID, now); err != nil {
		return fmt.Errorf("approve the answers: %w", err)
	}
	// The batch's progress is counted when it is read (migration 0010);
	// its completion is stamped here, after the last result's event.
	if err := project.CompleteIfDone(ctx, s.Store, tx, batchID, now); err != nil {
		return fmt.Errorf("batch completion: %w", err)
	}
	return releaseLeases(ctx, tx, taskID)
}

// ResolveAnswer settles a task by a hub reviewer's answer, already
// validated (Resolve validates it). The task must be waiting for review
// (or at least not final, and not gold), and not out for a blind audit at
// a village center (see audits.go). The verdict counts toward the
// accuracy of every worker who answered the task, and when the task was
// sampled at random it is also recorded as an audit of what the workers'
// answers would have delivered. A reply waiting for scores on its
// project's rubric is not settled by an answer (ErrScoresRequired; see
// ResolveRubric).
func (s *Service) ResolveAnswer(ctx context.Context, taskID, reviewerID string, result work.Answer) error {
	err := s.Store.Write(ctx, func(tx *store.Tx) error {
		if err := auditOut(ctx, tx, taskID); err != nil {
			return err
		}
		return s.resolve(ctx, taskID, reviewerID, result)(tx)
	})
	if err != nil {
		return fmt.Errorf("dispatch: resolve task %s: %w", taskID, err)
	}
	return nil
}

// resolve is ResolveAnswer's work inside a transaction, which a center
// reviewer's verdict on a blind audit runs too (ReceiveAuditVerdict): one
// path for every review verdict that settles a task.
func (s *Service) resolve(ctx context.Context, taskID, reviewerID string, result work.Answer) func(tx *store.Tx) error {
	return func(tx *store.Tx) error {
		var state, batchID, projectID string
		var answers, gold int
		var reason, proposed sql.NullString
		err := tx.QueryRowContext(ctx, `SELECT state, batch_id, project_id, answers, gold, review_reason, proposed FROM tasks WHERE id = ?`, taskID).
			Scan(&state, &batchID, &projectID, &answers, &gold, &reason, &proposed)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("task %s: %w", taskID, store.ErrNotFound)
		}
		if err != nil {
			return err
		}
		if work.TaskState(state).Final() || gold == 1 {
			return problem.Public(store.ErrConflict, "task %s is already %s", taskID, state)
		}
		p, err := project.ScanProject(tx.QueryRowContext(ctx, `SELECT `+project.ProjectColumns+` FROM projects WHERE id = ?`, projectID))
		if err != nil {
			return err
		}
		if p.Rubric != nil && state == string(work.TaskNeedsReview) && reason.String != ReviewRewrite {
			return ErrScoresRequired
		}
		now := store.TimeText(s.Store.Now())
		given, err := s.taskAnswers(ctx, tx, taskID, p, true)
		if err != nil {
			return err
		}
		// Skills are written in worker order, as in every transaction
		// that writes several (see saveRefit).
		byWorker := slices.SortedFunc(slices.Values(given), func(a, b Given) int { return strings.Compare(a.WorkerID, b.WorkerID) })
		for _, g := range byWorker {
			if err := s.scoreWorker(ctx, tx, g.WorkerID, p, work.Score(p.Kind, p.Schema, p.MaxTextError, result, g.Answer), "review", now); err != nil {
				return err
			}
		}
		if reason.String == ReviewSample && proposed.Valid {
			var prop work.Answer
			if err := json.Unmarshal([]byte(proposed.String), &prop); err != nil {
				return err
			}
			agreed := 0
			if work.Score(p.Kind, p.Schema, p.MaxTextError, result, prop) == 1 {
				agreed = 1
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO audits (task_id, project_id, batch_id, reason, agreed, reviewer_id, created_at)
				VALUES (?, ?, ?, ?, ?, ?, ?)`, taskID, projectID, batchID, reason.String, agreed, reviewerID, now); err != nil {
				return err
			}
		}
		return s.finish(ctx, tx, taskID, result, 1, answers, work.SourceReview, reviewerID, now)
	}
}
