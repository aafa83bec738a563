package ledger

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"time"

	"banyan/internal/auth"
	"banyan/internal/store"
)

// Invoice is what a client owes for the results delivered in a period,
// batch by batch, with GST.
type Invoice struct {
	ClientID   string        `json:"client_id"`
	ClientName string        `json:"client_name"`
	From       string        `json:"from"` // first day, YYYY-MM-DD
	To         string        `json:"to"`   // last day, YYYY-MM-DD
	Currency   string        `json:"currency"`
	Lines      []InvoiceLine `json:"lines"`
	Results    int           `json:"results"`
	Subtotal   int64         `json:"subtotal"`
	GST        int64         `json:"gst"`
	Total      int64         `json:"total"`
	// LedgerBatch and LedgerHead are the ledger's last batch and its hash
	// when the invoice was made, after posting every waiting event:
	// compare them with 'banyan ledger verify' later to catch a rewritten
	// or cut-off ledger.
	LedgerBatch int64     `json:"ledger_batch"`
	LedgerHead  string    `json:"ledger_head"`
	IssuedAt    time.Time `json:"issued_at"`
}

// InvoiceLine is one batch's results at one GST rate.
type InvoiceLine struct {
	Project   string `json:"project"`
	Batch     string `json:"batch"`
	BatchID   string `json:"batch_id"`
	Results   int    `json:"results"`
	Amount    int64  `json:"amount"`
	PerResult int64  `json:"per_result"` // the amount over the results, rounded
	GSTBps    int    `json:"gst_bps"`
	GST       int64  `json:"gst"`
	// Credit marks a credit note: results the client rejected, credited.
	Credit bool `json:"credit,omitempty"`
}

// gstOf is GST on an amount at a rate in hundredths of a percent, rounded
// half away from zero to the paisa (a credit's GST is the charge's,
// negated).
func gstOf(amount int64, bps int) int64 {
	if amount < 0 {
		return -gstOf(-amount, bps)
	}
	return (amount*int64(bps) + 5000) / 10000
}

// divRound divides, rounding half away from zero.
func divRound(a, b int64) int64 {
	if a < 0 {
		return -divRound(-a, b)
	}
	return (a + b/2) / b
}

// MakeInvoice makes a client's invoice for the days from..to (inclusive,
// UTC), after posting every waiting money event.
func MakeInvoice(ctx context.Context, st *store.Store, client auth.Org, from, to time.Time) (Invoice, error) {
	from = from.UTC().Truncate(24 * time.Hour)
	to = to.UTC().Truncate(24 * time.Hour)
	if to.Before(from) {
		return Invoice{}, fmt.Errorf("ledger: invoice period ends (%s) before it starts (%s)", to.Format(time.DateOnly), from.Format(time.DateOnly))
	}
	if _, err := Post(ctx, st); err != nil {
		return Invoice{}, err
	}
	lines, err := ClientCharges(ctx, st, client.ID, from, to.Add(24*time.Hour))
	if err != nil {
		return Invoice{}, err
	}
	inv := Invoice{ClientID: client.ID, ClientName: client.Name, From: from.Format(time.DateOnly), To: to.Format(time.DateOnly),
		Currency: "INR", Lines: []InvoiceLine{}, IssuedAt: time.Now().UTC()}
	for _, l := range lines {
		il := InvoiceLine{Project: l.ProjectName, Batch: l.BatchName, BatchID: l.BatchID, Results: l.Results, Amount: l.Amount,
			GSTBps: l.GSTBps, GST: gstOf(l.Amount, l.GSTBps), Credit: l.Credit}
		if l.Results > 0 {
			il.PerResult = divRound(l.Amount, int64(l.Results))
		}
		inv.Lines = append(inv.Lines, il)
		if l.Credit {
			inv.Results -= l.Results
		} else {
			inv.Results += l.Results
		}
		inv.Subtotal += il.Amount
		inv.GST += il.GST
	}
	inv.Total = inv.Subtotal + inv.GST
	if inv.LedgerBatch, inv.LedgerHead, err = Head(ctx, st); err != nil {
		return Invoice{}, err
	}
	return inv, nil
}

// Paise writes an amount in paise as rupees: 123456 → "1234.56".
func Paise(v int64) string {
	sign := ""
	if v < 0 {
		sign, v = "-", -v
	}
	return fmt.Sprintf("%s%d.%02d", sign, v/100, v%100)
}

// WriteCSV writes the invoice as CSV: a line per batch, then the totals and
// the ledger's head.
func (inv Invoice) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"client", "from", "to", "project", "batch", "batch_id", "results", "amount_inr", "per_result_inr", "gst_percent", "gst_inr", "total_inr"})
	for _, l := range inv.Lines {
		batch := l.Batch
		if l.Credit {
			batch += " (credit note)"
		}
		cw.Write([]string{inv.ClientName, inv.From, inv.To, l.Project, batch, l.BatchID, strconv.Itoa(l.Results), Paise(l.Amount),
			Paise(l.PerResult), Paise(int64(l.GSTBps)), Paise(l.GST), Paise(l.Amount + l.GST)})
	}
	cw.Write([]string{inv.ClientName, inv.From, inv.To, "TOTAL", "", "", strconv.Itoa(inv.Results), Paise(inv.Subtotal), "", "",
		Paise(inv.GST), Paise(inv.Total)})
	cw.Write([]string{"ledger_head", strconv.FormatInt(inv.LedgerBatch, 10), inv.LedgerHead})
	cw.Flush()
	return cw.Error()
}

// ChargeLine is one batch's charges to its client over a period.
type ChargeLine struct {
	ProjectID, ProjectName, BatchID, BatchName, Currency string
	Results                                              int
	Amount                                               int64 // before GST; negative for a credit
	GSTBps                                               int
	// Credit marks results the client rejected: credited, not charged.
	Credit bool
}

// ClientCharges sums a client's delivered results by batch (and GST
// rate) over [from, to), in the order the batches were made.
func ClientCharges(ctx context.Context, st *store.Store, clientID string, from, to time.Time) ([]ChargeLine, error) {
	rows, err := st.Read(ctx).QueryContext(ctx, `SELECT p.id, p.name, b.id, b.name, e.currency, count(*),
			sum(CASE WHEN e.kind = 'credit' THEN -e.client_price ELSE e.client_price END), e.gst_bps, e.kind
		FROM money_events e JOIN tasks t ON t.id = e.task_id JOIN batches b ON b.id = t.batch_id JOIN projects p ON p.id = e.project_id
		WHERE e.kind IN ('delivery', 'credit') AND e.client_id = ? AND e.created_at >= ? AND e.created_at < ?
		GROUP BY p.id, p.name, b.id, b.name, e.currency, e.gst_bps, e.kind
		ORDER BY b.id, e.kind DESC, e.gst_bps`, clientID, store.TimeText(from), store.TimeText(to))
	if err != nil {
		return nil, fmt.Errorf("ledger: client charges: %w", err)
	}
	return store.Collect(rows, func(r store.Scanner) (ChargeLine, error) {
		var l ChargeLine
		var kind string
		err := r.Scan(&l.ProjectID, &l.ProjectName, &l.BatchID, &l.BatchName, &l.Currency, &l.Results, &l.Amount, &l.GSTBps, &kind)
		l.Credit = kind == "credit"
		return l, err
	})
}
