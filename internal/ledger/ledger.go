// Package ledger owns Banyan's money: turning what happened (a result
// delivered to a client, a worker's answer approved) into a double-entry
// journal that nobody can quietly edit, and reading it back.
//
// Accounts: client_receivable (what a client owes, per client),
// worker_payable (what the BPO owes a worker), center_share (what it owes a
// village center) and hub_revenue (what the hub keeps). A delivered result
// debits the client's receivable and credits hub revenue with its price; an
// approved answer debits hub revenue and credits the worker (and, for an
// answer given at a village center, the center) with their pay. Every
// batch of entries sums to zero, so the four totals, each summed from its
// own entries, reconcile to the paisa.
//
// Entries are appended in numbered posting batches. Each batch's hash is
// the SHA-256 of the previous batch's hash, its number, its time and each
// of its entries, so editing, deleting, adding or reordering any entry
// breaks that batch's hash and every later one. Nothing is updated in
// place; a correction is a new entry. Amounts are integers of the
// currency's minor unit (paise), never floats.
//
// The package holds its rules and its SQL: rate cards, approvals and
// rejections, bonuses, paid training time, payees and payouts, earnings
// and the minimum-wage warnings (and a village center's copy of them),
// invoices and statements, and the chain's tables. The money events of a
// settling task (charge, pay, gold bonus) are written inside the settle
// path's transaction, which is still the store's (store/money.go), until
// the settle path moves to dispatch.
package ledger

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"

	"banyan/internal/auth"
	"banyan/internal/store"
)

// The accounts.
const (
	ClientReceivable = "client_receivable"
	WorkerPayable    = "worker_payable"
	CenterShare      = "center_share"
	HubRevenue       = "hub_revenue"
)

// batchSize bounds one posting batch.
const batchSize = 1000

// Post appends every waiting money event to the ledger, in batches, and
// returns how many it posted.
func Post(ctx context.Context, st *store.Store) (int, error) {
	total := 0
	for {
		n, err := appendBatch(ctx, st, batchSize, build)
		total += n
		if err != nil || n < batchSize {
			return total, err
		}
	}
}

// build turns events into balanced entries and the batch's hash.
func build(seq int64, prev, now string, events []MoneyEvent) ([]Entry, string, error) {
	var entries []Entry
	add := func(ev MoneyEvent, account, party string, amount int64) {
		if amount == 0 {
			return
		}
		entries = append(entries, Entry{ID: fmt.Sprintf("L%012d-%06d", seq, len(entries)), Account: account,
			Party: party, Amount: amount, Currency: ev.Currency, EventID: ev.ID, CreatedAt: now})
	}
	for _, ev := range events {
		switch ev.Kind {
		case "delivery":
			add(ev, ClientReceivable, ev.ClientID, ev.ClientPrice)
			add(ev, HubRevenue, auth.HubOrgID, -ev.ClientPrice)
		case "credit":
			add(ev, ClientReceivable, ev.ClientID, -ev.ClientPrice)
			add(ev, HubRevenue, auth.HubOrgID, ev.ClientPrice)
		case "bonus", "training":
			add(ev, HubRevenue, auth.HubOrgID, ev.WorkerPay)
			add(ev, WorkerPayable, ev.WorkerID, -ev.WorkerPay)
		case "pay":
			add(ev, HubRevenue, auth.HubOrgID, ev.WorkerPay+ev.CenterShare)
			add(ev, WorkerPayable, ev.WorkerID, -ev.WorkerPay)
			if ev.CenterID != "" {
				add(ev, CenterShare, ev.CenterID, -ev.CenterShare)
			}
		default:
			return nil, "", fmt.Errorf("ledger: money event %s of unknown kind %q", ev.ID, ev.Kind)
		}
	}
	return entries, Hash(seq, prev, now, entries), nil
}

// Hash is a batch's hash: SHA-256 over the previous batch's hash, the
// batch's number and time, and each entry's fields, one line each.
func Hash(seq int64, prev, createdAt string, entries []Entry) string {
	h := sha256.New()
	fmt.Fprintf(h, "banyan ledger v1\n%s\n%d\n%s\n", prev, seq, createdAt)
	for _, e := range entries {
		fmt.Fprintf(h, "%s|%s|%s|%s|%s|%s|%s\n", e.ID, e.Account, e.Party, strconv.FormatInt(e.Amount, 10), e.Currency, e.EventID, e.CreatedAt)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Report is what Verify found.
type Report struct {
	Batches int    `json:"batches"`
	Entries int    `json:"entries"`
	Head    string `json:"head"` // the last batch's hash
	// Problem names the first batch that does not check, "" when all do.
	Problem string `json:"problem,omitempty"`
}

// Verify recomputes the chain from the first batch and reports the first
// that was edited, deleted, added to or reordered.
func Verify(ctx context.Context, st *store.Store) (Report, error) {
	var rep Report
	prev, want := store.GenesisHash, int64(1)
	errStop := fmt.Errorf("stop")
	err := walk(ctx, st, func(b Batch, entries []Entry) error {
		switch {
		case b.Seq != want:
			rep.Problem = fmt.Sprintf("batch %d is missing (the next batch found is %d)", want, b.Seq)
		case b.PrevHash != prev:
			rep.Problem = fmt.Sprintf("batch %d does not follow batch %d: its previous hash %s is not %s", b.Seq, b.Seq-1, short(b.PrevHash), short(prev))
		case len(entries) != b.Entries:
			rep.Problem = fmt.Sprintf("batch %d holds %d entries, but was posted with %d (entries were deleted or added)", b.Seq, len(entries), b.Entries)
		case Hash(b.Seq, b.PrevHash, b.CreatedAt, entries) != b.Hash:
			rep.Problem = fmt.Sprintf("batch %d: its entries do not match its hash (an entry was edited or reordered)", b.Seq)
		case sum(entries) != 0:
			rep.Problem = fmt.Sprintf("batch %d does not balance: its entries sum to %d", b.Seq, sum(entries))
		}
		if rep.Problem != "" {
			return errStop
		}
		rep.Batches++
		rep.Entries += len(entries)
		prev, want, rep.Head = b.Hash, want+1, b.Hash
		return nil
	})
	if err != nil && err != errStop {
		return rep, err
	}
	if rep.Head == "" {
		rep.Head = store.GenesisHash
	}
	return rep, nil
}

func sum(entries []Entry) int64 {
	var s int64
	for _, e := range entries {
		s += e.Amount
	}
	return s
}

func short(h string) string {
	if len(h) > 12 {
		return h[:12] + "…"
	}
	return h
}

// Money is the ledger's totals, each summed from its own account's
// entries: what clients owe, what is owed to workers and to centers, and
// what the hub keeps. Reconciled says the first equals the sum of the
// other three.
type Money struct {
	ClientReceivable int64 `json:"client_receivable_paise"`
	WorkerPayable    int64 `json:"worker_payable_paise"`
	CenterShare      int64 `json:"center_share_paise"`
	HubRevenue       int64 `json:"hub_revenue_paise"`
	Reconciled       bool  `json:"reconciled"`
}

// Totals reads the totals.
func Totals(ctx context.Context, st *store.Store) (Money, error) {
	t, err := totals(ctx, st)
	if err != nil {
		return Money{}, err
	}
	m := Money{ClientReceivable: t[ClientReceivable], WorkerPayable: -t[WorkerPayable], CenterShare: -t[CenterShare],
		HubRevenue: -t[HubRevenue]}
	m.Reconciled = m.ClientReceivable == m.WorkerPayable+m.CenterShare+m.HubRevenue
	return m, nil
}
