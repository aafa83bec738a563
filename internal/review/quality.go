package review

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"sort"

	"banyan/internal/quality"
	"banyan/internal/store"
	"banyan/internal/work"
)

// Interval is an estimate with its 95 % interval and the sample behind it.
type Interval struct {
	Value  float64 `json:"value"`
	Low    float64 `json:"low"`
	High   float64 `json:"high"`
	Sample int     `json:"sample"`
}

// WorkerQuality is one worker's part in a batch.
type WorkerQuality struct {
	WorkerID string `json:"worker_id"`
	Name     string `json:"name"`
	Answers  int    `json:"answers"`
	// Agreement is the share of the worker's counted answers in the batch
	// that match the delivered result.
	Agreement float64 `json:"agreement"`
	// GoldAnswers and GoldAccuracy cover the worker's gold answers in the
	// project.
	GoldAnswers  int     `json:"gold_answers"`
	GoldAccuracy float64 `json:"gold_accuracy"`
	// Skill is the worker's current estimated accuracy at the project's
	// skill (gold and review verdicts combined).
	Skill float64 `json:"skill"`
}

// QualityReport is what a client and the hub read about a batch's quality.
type QualityReport struct {
	BatchID string `json:"batch_id"`
	Tasks   int    `json:"tasks"`
	Done    int    `json:"done"`
	// EstimatedAccuracy is the share of right results among those the
	// workers' answers settled, measured on the random review sample,
	// allowing for each reviewer's own error rate (see
	// quality.AuditAccuracy), with a 95 % interval. It is nil until the
	// batch has audited tasks (set the project's review_rate). For a
	// project reviewed by rubric it is the pass rate of the replies
	// sampled at the review rate (Rubric.Sampled).
	EstimatedAccuracy *Interval `json:"estimated_accuracy"`
	// AuditAgreement is the plain share of audits whose blind verdict
	// matched the result, which counts a reviewer's slip as an error of
	// the result; 0 with no audits.
	AuditAgreement float64 `json:"audit_agreement"`
	// Rubric is, for a project reviewed by rubric, its reviewers' scores.
	Rubric *RubricQuality `json:"rubric,omitempty"`
	// AgreementRate is the share of counted answers that match their
	// task's delivered result.
	AgreementRate float64 `json:"agreement_rate"`
	// GoldPassRate is the share of gold answers in the project, by this
	// batch's workers, that were fully right, with its interval.
	GoldPassRate   *Interval       `json:"gold_pass_rate"`
	ReviewedTasks  int             `json:"reviewed_tasks"`
	FlaggedAnswers int             `json:"flagged_answers"`
	Workers        []WorkerQuality `json:"workers"`
}

// BatchQuality builds the batch's quality report.
func BatchQuality(ctx context.Context, st *store.Store, b work.Batch, p work.Project) (QualityReport, error) {
	rep := QualityReport{BatchID: b.ID, Tasks: b.Tasks, Done: b.TasksDone, Workers: []WorkerQuality{}}
	fail := func(err error) (QualityReport, error) {
		return QualityReport{}, fmt.Errorf("review: quality of batch %s: %w", b.ID, err)
	}
	if err := auditEstimate(ctx, st, b, p, &rep); err != nil {
		return fail(err)
	}
	if p.Rubric != nil {
		rq, err := rubricQuality(ctx, st, b.ID, *p.Rubric)
		if err != nil {
			return fail(err)
		}
		rep.Rubric = rq
		if rq.Sampled != nil {
			rep.EstimatedAccuracy = &rq.Sampled.PassRate
		}
	}
	if err := st.Read(ctx).QueryRowContext(ctx, `SELECT count(*) FROM results WHERE batch_id = ? AND source = 'review'`, b.ID).
		Scan(&rep.ReviewedTasks); err != nil {
		return fail(err)
	}
	if err := st.Read(ctx).QueryRowContext(ctx, `SELECT count(*) FROM assignments a JOIN tasks t ON t.id = a.task_id
		WHERE t.batch_id = ? AND a.flag IS NOT NULL`, b.ID).Scan(&rep.FlaggedAnswers); err != nil {
		return fail(err)
	}

	workers := map[string]*WorkerQuality{}
	get := func(id string) *WorkerQuality {
		w, ok := workers[id]
		if !ok {
			w = &WorkerQuality{WorkerID: id}
			workers[id] = w
		}
		return w
	}
	rows, err := st.Read(ctx).QueryContext(ctx, `SELECT a.worker_id, a.answer, r.answer FROM assignments a
		JOIN results r ON r.task_id = a.task_id
		WHERE r.batch_id = ? AND a.state = 'submitted' AND a.flag IS NULL`, b.ID)
	if err != nil {
		return fail(err)
	}
	total, matching := 0, 0
	err = store.EachRow(rows, func(r store.Scanner) error {
		var worker, given, result string
		if err := r.Scan(&worker, &given, &result); err != nil {
			return err
		}
		var g, res work.Answer
		if err := json.Unmarshal([]byte(given), &g); err != nil {
			return err
		}
		if err := json.Unmarshal([]byte(result), &res); err != nil {
			return err
		}
		w := get(worker)
		w.Answers++
		total++
		if work.Score(p.Kind, p.Schema, p.MaxTextError, res, g) == 1 {
			w.Agreement++
			matching++
		}
		return nil
	})
	if err != nil {
		return fail(err)
	}
	if total > 0 {
		rep.AgreementRate = float64(matching) / float64(total)
	}

	rows, err = st.Read(ctx).QueryContext(ctx, `SELECT a.worker_id, a.score FROM assignments a JOIN tasks t ON t.id = a.task_id
		WHERE t.project_id = ? AND t.gold = 1 AND a.state = 'submitted' AND a.score IS NOT NULL
		  AND a.worker_id IN (SELECT a2.worker_id FROM assignments a2 JOIN tasks t2 ON t2.id = a2.task_id WHERE t2.batch_id = ?)`,
		p.ID, b.ID)
	if err != nil {
		return fail(err)
	}
	golds, passed := 0, 0
	err = store.EachRow(rows, func(r store.Scanner) error {
		var worker string
		var score float64
		if err := r.Scan(&worker, &score); err != nil {
			return err
		}
		w := get(worker)
		w.GoldAnswers++
		w.GoldAccuracy += score
		golds++
		if score == 1 {
			passed++
		}
		return nil
	})
	if err != nil {
		return fail(err)
	}
	if golds > 0 {
		lo, hi := quality.Wilson(float64(passed), float64(golds), 1.96)
		rep.GoldPassRate = &Interval{Value: float64(passed) / float64(golds), Low: lo, High: hi, Sample: golds}
	}

	for id, w := range workers {
		if w.Answers > 0 {
			w.Agreement /= float64(w.Answers)
		}
		if w.GoldAnswers > 0 {
			w.GoldAccuracy /= float64(w.GoldAnswers)
		}
		var name string
		var alpha, beta sql.NullFloat64
		err := st.Read(ctx).QueryRowContext(ctx, `SELECT u.name, k.alpha, k.beta FROM users u
			LEFT JOIN worker_skills k ON k.worker_id = u.id AND k.kind = ? AND k.language = ?
			WHERE u.id = ?`, string(p.Kind), p.Language, id).Scan(&name, &alpha, &beta)
		if err != nil {
			return fail(err)
		}
		w.Name = name
		sk := quality.SkillPrior
		if alpha.Valid {
			sk = quality.Skill{Alpha: alpha.Float64, Beta: beta.Float64}
		}
		w.Skill = sk.Mean()
		rep.Workers = append(rep.Workers, *w)
	}
	sort.Slice(rep.Workers, func(i, j int) bool { return rep.Workers[i].Name < rep.Workers[j].Name })
	return rep, nil
}

// auditEstimate sets the report's estimated accuracy from the batch's
// audits, grouped by reviewer, each reviewer weighed by their own record
// at the project's skill (their gold answers and the review verdicts on
// their answers; the prior where they have none).
func auditEstimate(ctx context.Context, st *store.Store, b work.Batch, p work.Project, rep *QualityReport) error {
	rows, err := st.Read(ctx).QueryContext(ctx, `SELECT a.reviewer_id, sum(a.agreed), count(*), k.alpha, k.beta, k.scored
		FROM audits a LEFT JOIN worker_skills k ON k.worker_id = a.reviewer_id AND k.kind = ? AND k.language = ?
		WHERE a.batch_id = ? GROUP BY a.reviewer_id, k.alpha, k.beta, k.scored ORDER BY a.reviewer_id`,
		string(p.Kind), p.Language, b.ID)
	if err != nil {
		return err
	}
	var groups []quality.AuditGroup
	err = store.EachRow(rows, func(r store.Scanner) error {
		var reviewer sql.NullString
		var agreed, n int
		var alpha, beta sql.NullFloat64
		var scored sql.NullInt64
		if err := r.Scan(&reviewer, &agreed, &n, &alpha, &beta, &scored); err != nil {
			return err
		}
		g := quality.AuditGroup{Agreed: agreed, Disagreed: n - agreed, Reviewer: quality.SkillPrior}
		if alpha.Valid {
			g.Reviewer = quality.Skill{Alpha: alpha.Float64, Beta: beta.Float64, N: int(scored.Int64)}
		}
		groups = append(groups, g)
		return nil
	})
	if err != nil {
		return err
	}
	// The audits were drawn from the results the workers' answers
	// settled: those delivered as settled, and the audited themselves.
	var settled int
	if err := st.Read(ctx).QueryRowContext(ctx, `SELECT (SELECT count(*) FROM results WHERE batch_id = ? AND source = ?) +
		(SELECT count(*) FROM audits WHERE batch_id = ?)`, b.ID, work.SourceAgreement, b.ID).Scan(&settled); err != nil {
		return err
	}
	est, ok := quality.AuditAccuracy(groups, chanceAgreement(p), settled)
	if !ok {
		return nil
	}
	rep.EstimatedAccuracy = &Interval{Value: est.Value, Low: est.Low, High: est.High, Sample: est.Audits}
	rep.AuditAgreement = est.Raw
	return nil
}

// chanceAgreement is how likely a wrong verdict is to match a wrong result
// of project p: for one label of K, 1/(K−1) if wrong answers are spread
// evenly over the other labels; for forms, free text and multi-label
// answers, where everything must match, about none.
func chanceAgreement(p work.Project) float64 {
	if p.Kind == work.Classify && !p.Schema.Multi && len(p.Schema.Labels) > 1 {
		return 1 / float64(len(p.Schema.Labels)-1)
	}
	return 0
}
