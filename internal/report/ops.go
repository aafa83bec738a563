package report

import (
	"banyan/internal/store"
	"context"
	"database/sql"
	"fmt"
	"time"
)

// The ops board's figures, what the hub's staff watch: batches against
// their deadlines, the work and its quality day by day, and the centers'
// links; and the counts the hub's metrics gauges read.

// DueBatch is an unfinished batch with a deadline, with what is left of it
// and how fast it went over the last hour.
type DueBatch struct {
	ID, Name, ProjectID, ProjectName, ClientName string
	Tasks, Done                                  int
	Deadline                                     time.Time
	// LastHour counts its tasks settled in the hour before the reading.
	LastHour int
}

// DueBatches lists unfinished batches whose deadline falls before a time,
// soonest first.
func DueBatches(ctx context.Context, st *store.Store, before time.Time, limit int) ([]DueBatch, error) {
	now := st.Now()
	rows, err := st.Read(ctx).QueryContext(ctx, `SELECT b.id, b.name, p.id, p.name, o.name, b.tasks,
			(SELECT count(*) FROM tasks t WHERE t.batch_id = b.id AND t.state IN ('done', 'failed')),
			b.deadline,
			(SELECT count(*) FROM results r WHERE r.batch_id = b.id AND r.created_at >= ?)
		FROM batches b JOIN projects p ON p.id = b.project_id JOIN orgs o ON o.id = b.client_id
		WHERE b.completed_at IS NULL AND b.deadline IS NOT NULL AND b.deadline < ? AND b.purpose = 'work'
		ORDER BY b.deadline, b.id LIMIT ?`, store.TimeText(now.Add(-time.Hour)), store.TimeText(before), limit)
	if err != nil {
		return nil, fmt.Errorf("report: batches due: %w", err)
	}
	out, err := store.Collect(rows, func(r store.Scanner) (DueBatch, error) {
		var b DueBatch
		var deadline string
		err := r.Scan(&b.ID, &b.Name, &b.ProjectID, &b.ProjectName, &b.ClientName, &b.Tasks, &b.Done, &deadline, &b.LastHour)
		b.Deadline = store.ParseTimeText(deadline)
		return b, err
	})
	if err != nil {
		return nil, fmt.Errorf("report: batches due: %w", err)
	}
	// Finished batches not yet noted as such drop out.
	kept := out[:0]
	for _, b := range out {
		if b.Done < b.Tasks {
			kept = append(kept, b)
		}
	}
	return kept, nil
}

// DayStat is one day's work on the hub: answers received (from its own
// workers and from centers), and the gold answers among them with their
// mean score.
type DayStat struct {
	Day        string // YYYY-MM-DD, UTC
	Answers    int
	GoldScored int
	GoldMean   float64
}

// Days returns the days since a time that had answers, oldest first.
func Days(ctx context.Context, st *store.Store, since time.Time) ([]DayStat, error) {
	rows, err := st.Read(ctx).QueryContext(ctx, `SELECT substr(submitted_at, 1, 10) AS day, count(*),
			sum(CASE WHEN score IS NULL THEN 0 ELSE 1 END), avg(score)
		FROM assignments WHERE state = 'submitted' AND submitted_at >= ?
		GROUP BY substr(submitted_at, 1, 10) ORDER BY day`, store.TimeText(since))
	if err != nil {
		return nil, fmt.Errorf("report: days: %w", err)
	}
	days, err := store.Collect(rows, func(r store.Scanner) (DayStat, error) {
		var d DayStat
		var mean sql.NullFloat64
		err := r.Scan(&d.Day, &d.Answers, &d.GoldScored, &mean)
		d.GoldMean = mean.Float64
		return d, err
	})
	if err != nil {
		return nil, fmt.Errorf("report: days: %w", err)
	}
	return days, nil
}

// QueueDepths counts each project's tasks still wanting answers.
func QueueDepths(ctx context.Context, st *store.Store) (map[string]int, error) {
	rows, err := st.Read(ctx).QueryContext(ctx, `SELECT project_id, count(*) FROM tasks WHERE state IN ('open', 'in_progress') GROUP BY project_id`)
	if err != nil {
		return nil, fmt.Errorf("report: queue depths: %w", err)
	}
	type depth struct {
		project string
		n       int
	}
	list, err := store.Collect(rows, func(r store.Scanner) (depth, error) {
		var d depth
		return d, r.Scan(&d.project, &d.n)
	})
	if err != nil {
		return nil, fmt.Errorf("report: queue depths: %w", err)
	}
	out := map[string]int{}
	for _, d := range list {
		out[d.project] = d.n
	}
	return out, nil
}

// CountAnswers counts every answer stored (hub workers' and centers').
func CountAnswers(ctx context.Context, st *store.Store) (int64, error) {
	var n int64
	if err := st.Read(ctx).QueryRowContext(ctx, `SELECT count(*) FROM assignments WHERE state = 'submitted'`).Scan(&n); err != nil {
		return 0, fmt.Errorf("report: count answers: %w", err)
	}
	return n, nil
}

// CenterLink is what the hub knows of one center and its link.
type CenterLink struct {
	ID          string     `json:"id"`
	Kind        string     `json:"kind"`
	Name        string     `json:"name"`
	CreatedAt   time.Time  `json:"created_at"`
	Protocol    int        `json:"protocol,omitempty"`
	Version     string     `json:"version,omitempty"`
	LastContact *time.Time `json:"last_contact,omitempty"`
	// Backlog is how many records the center said were waiting to upload,
	// at its last contact.
	Backlog int `json:"backlog"`
	// LeasedTasks counts the center's active leases.
	LeasedTasks int `json:"leased_tasks"`
	// Answers counts the answers received from the center's workers.
	Answers int `json:"answers"`
}

// CenterLinks lists centers with their link state, by id.
func CenterLinks(ctx context.Context, st *store.Store, p store.Page) ([]CenterLink, error) {
	rows, err := st.Read(ctx).QueryContext(ctx, `SELECT o.id, o.kind, o.name, o.created_at,
			coalesce(c.protocol, 0), coalesce(c.version, ''), c.last_contact, coalesce(c.backlog, 0),
			(SELECT count(*) FROM leases l WHERE l.center_id = o.id AND l.state = 'active'),
			(SELECT count(*) FROM uplink_items i WHERE i.center_id = o.id AND i.kind = 'answer' AND i.status IN ('accepted', 'superseded'))
		FROM orgs o LEFT JOIN center_links c ON c.center_id = o.id
		WHERE o.kind = 'center' AND o.id > ? ORDER BY o.id LIMIT ?`, p.After, p.Limit)
	if err != nil {
		return nil, fmt.Errorf("report: list centers: %w", err)
	}
	return store.Collect(rows, func(r store.Scanner) (CenterLink, error) {
		var c CenterLink
		var created string
		var contact sql.NullString
		err := r.Scan(&c.ID, &c.Kind, &c.Name, &created, &c.Protocol, &c.Version, &contact, &c.Backlog, &c.LeasedTasks, &c.Answers)
		c.CreatedAt = store.ParseTimeText(created)
		c.LastContact = store.ParseNullTimeText(contact)
		return c, err
	})
}
