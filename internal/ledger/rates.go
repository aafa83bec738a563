package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"banyan/internal/store"
)

// RateCard is what a project's work costs and pays, in minor units.
type RateCard struct {
	ProjectID   string `json:"project_id"`
	Currency    string `json:"currency"`
	ClientPrice int64  `json:"client_price"`
	WorkerPay   int64  `json:"worker_pay"`
	CenterShare int64  `json:"center_share"`
	GSTBps      int    `json:"gst_bps"`
	// GoldBonus is paid for each gold answer that is fully right.
	GoldBonus int64 `json:"gold_bonus"`
	// ApproveAfterSeconds is how long after its task settles an answer
	// is approved and paid unless rejected first (0: at once); a
	// rejection may be overturned for OverturnSeconds.
	ApproveAfterSeconds int       `json:"approve_after_seconds"`
	OverturnSeconds     int       `json:"overturn_seconds"`
	UpdatedAt           time.Time `json:"updated_at"`
}

// SetRateCard stores a project's rate card; it applies to what is
// delivered and approved from then on.
func SetRateCard(ctx context.Context, st *store.Store, rc RateCard) (RateCard, error) {
	rc.UpdatedAt = st.Now()
	if rc.Currency == "" {
		rc.Currency = "INR"
	}
	_, err := st.Exec(ctx, `INSERT INTO rate_cards (project_id, currency, client_price, worker_pay, center_share, gst_bps,
			approve_after_seconds, overturn_seconds, gold_bonus, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (project_id) DO UPDATE SET currency = excluded.currency, client_price = excluded.client_price,
			worker_pay = excluded.worker_pay, center_share = excluded.center_share, gst_bps = excluded.gst_bps,
			approve_after_seconds = excluded.approve_after_seconds, overturn_seconds = excluded.overturn_seconds,
			gold_bonus = excluded.gold_bonus, updated_at = excluded.updated_at`,
		rc.ProjectID, rc.Currency, rc.ClientPrice, rc.WorkerPay, rc.CenterShare, rc.GSTBps, rc.ApproveAfterSeconds, rc.OverturnSeconds,
		rc.GoldBonus, store.TimeText(rc.UpdatedAt))
	if err != nil {
		return RateCard{}, fmt.Errorf("ledger: rate card of %s: %w", rc.ProjectID, err)
	}
	return rc, nil
}

// ProjectRateCard returns a project's rate card; store.ErrNotFound when it has none
// (its work then moves no money).
func ProjectRateCard(ctx context.Context, st *store.Store, projectID string) (RateCard, error) {
	rc := RateCard{ProjectID: projectID}
	var updated string
	err := st.Read(ctx).QueryRowContext(ctx, `SELECT currency, client_price, worker_pay, center_share, gst_bps, approve_after_seconds, overturn_seconds,
			gold_bonus, updated_at
		FROM rate_cards WHERE project_id = ?`,
		projectID).Scan(&rc.Currency, &rc.ClientPrice, &rc.WorkerPay, &rc.CenterShare, &rc.GSTBps, &rc.ApproveAfterSeconds, &rc.OverturnSeconds,
		&rc.GoldBonus, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return RateCard{}, fmt.Errorf("ledger: rate card of %s: %w", projectID, store.ErrNotFound)
	}
	if err != nil {
		return RateCard{}, fmt.Errorf("ledger: rate card of %s: %w", projectID, err)
	}
	rc.UpdatedAt = store.ParseTimeText(updated)
	return rc, nil
}
