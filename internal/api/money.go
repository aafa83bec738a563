package api

import (
	"encoding/csv"
	"errors"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"banyan/internal/auth"
	"banyan/internal/ledger"
	"banyan/internal/problem"
	"banyan/internal/report"
	"banyan/internal/store"
)

// rateCardIn is a project's prices as the API takes them, in minor units
// (paise for INR).
type rateCardIn struct {
	Currency     string `json:"currency"`
	ApproveAfter int    `json:"approve_after_seconds"`
	Overturn     *int   `json:"overturn_seconds"`
	ClientPrice  *int64 `json:"client_price"`
	WorkerPay    *int64 `json:"worker_pay"`
	CenterShare  int64  `json:"center_share"`
	GoldBonus    int64  `json:"gold_bonus"`
	GSTBps       *int   `json:"gst_bps"`
}

func (a *API) putRates(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if !p.IsHubStaff() {
		return problem.New(http.StatusForbidden, "prices are set by the hub's staff")
	}
	pr, err := a.visibleProject(r, p)
	if err != nil {
		return err
	}
	var in rateCardIn
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	switch {
	case in.ClientPrice == nil || *in.ClientPrice < 0:
		return problem.New(http.StatusUnprocessableEntity, "client_price: required, the price of one delivered result in minor units (paise), 0 or more")
	case in.WorkerPay == nil || *in.WorkerPay < 0:
		return problem.New(http.StatusUnprocessableEntity, "worker_pay: required, the pay for one approved answer in minor units (paise), 0 or more")
	case in.GoldBonus < 0:
		return problem.New(http.StatusUnprocessableEntity, "gold_bonus: 0 or more (minor units per fully right gold answer)")
	case in.CenterShare < 0:
		return problem.New(http.StatusUnprocessableEntity, "center_share: 0 or more (minor units per approved answer given at a village center)")
	case in.Currency != "" && in.Currency != "INR":
		return problem.New(http.StatusUnprocessableEntity, "currency: only INR for now")
	case in.ApproveAfter < 0 || in.ApproveAfter > 90*86400:
		return problem.New(http.StatusUnprocessableEntity, "approve_after_seconds: 0 (approve when the task settles) to 7776000 (90 days)")
	case in.Overturn != nil && (*in.Overturn < 0 || *in.Overturn > 90*86400):
		return problem.New(http.StatusUnprocessableEntity, "overturn_seconds: 0 to 7776000 (90 days)")
	case in.GSTBps != nil && (*in.GSTBps < 0 || *in.GSTBps > 10000):
		return problem.New(http.StatusUnprocessableEntity, "gst_bps: GST in hundredths of a percent, 0 to 10000 (1800 is 18 %%)")
	}
	gst := 1800
	if in.GSTBps != nil {
		gst = *in.GSTBps
	}
	overturn := 7 * 86400
	if in.Overturn != nil {
		overturn = *in.Overturn
	}
	rc, err := ledger.SetRateCard(r.Context(), a.Store, ledger.RateCard{ProjectID: pr.ID, Currency: in.Currency, ClientPrice: *in.ClientPrice,
		WorkerPay: *in.WorkerPay, CenterShare: in.CenterShare, GSTBps: gst, ApproveAfterSeconds: in.ApproveAfter, OverturnSeconds: overturn,
		GoldBonus: in.GoldBonus})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, rc)
}

func (a *API) getRates(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	pr, err := a.visibleProject(r, p)
	if err != nil {
		return err
	}
	rc, err := ledger.ProjectRateCard(r.Context(), a.Store, pr.ID)
	if errors.Is(err, store.ErrNotFound) {
		return problem.New(http.StatusNotFound, "the project has no rate card yet")
	}
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, rc)
}

// ledgerState posts what waits, verifies the chain and reports the totals.
func (a *API) ledgerState(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if !p.IsHubStaff() {
		return errForbidden
	}
	if _, err := ledger.Post(r.Context(), a.Store); err != nil {
		return err
	}
	rep, err := ledger.Verify(r.Context(), a.Store)
	if err != nil {
		return err
	}
	m, err := ledger.Totals(r.Context(), a.Store)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, ledgerOut{Verify: rep, Money: m})
}

// invoice is a client's invoice for a period: ?from=YYYY-MM-DD&to=YYYY-MM-DD
// (inclusive, UTC days; default the current month), ?format=csv for CSV.
func (a *API) invoice(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := pathID(r, "client")
	if err != nil {
		return err
	}
	if !p.CanReadClient(id) {
		return errNotVisible("client")
	}
	org, err := a.Auth.Org(r.Context(), id)
	if err != nil || org.Kind != auth.OrgClient {
		return errNotVisible("client")
	}
	now := time.Now().UTC()
	from := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	to := from.AddDate(0, 1, -1)
	for name, dst := range map[string]*time.Time{"from": &from, "to": &to} {
		if v := r.URL.Query().Get(name); v != "" {
			t, err := time.Parse(time.DateOnly, v)
			if err != nil {
				return problem.New(http.StatusBadRequest, "%s: want a date as YYYY-MM-DD, got %q", name, v)
			}
			*dst = t
		}
	}
	if to.Before(from) {
		return problem.New(http.StatusBadRequest, "to (%s) is before from (%s)", to.Format(time.DateOnly), from.Format(time.DateOnly))
	}
	if to.Sub(from) > 366*24*time.Hour {
		return problem.New(http.StatusBadRequest, "an invoice covers at most a year")
	}
	inv, err := ledger.MakeInvoice(r.Context(), a.Store, org, from, to)
	if err != nil {
		return err
	}
	if r.URL.Query().Get("format") == "csv" {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="invoice-`+inv.From+`-`+inv.To+`.csv"`)
		return inv.WriteCSV(w)
	}
	return writeJSON(w, http.StatusOK, inv)
}

// period reads ?from= and ?to= (YYYY-MM-DD, inclusive UTC days), by
// default the given number of days up to today.
func period(r *http.Request, days int) (time.Time, time.Time, error) {
	to := time.Now().UTC().Truncate(24 * time.Hour)
	from := to.AddDate(0, 0, -(days - 1))
	for name, dst := range map[string]*time.Time{"from": &from, "to": &to} {
		if v := r.URL.Query().Get(name); v != "" {
			t, err := time.Parse(time.DateOnly, v)
			if err != nil {
				return from, to, problem.New(http.StatusBadRequest, "%s: want a date as YYYY-MM-DD, got %q", name, v)
			}
			*dst = t
		}
	}
	if to.Before(from) {
		return from, to, problem.New(http.StatusBadRequest, "to (%s) is before from (%s)", to.Format(time.DateOnly), from.Format(time.DateOnly))
	}
	if to.Sub(from) > 366*24*time.Hour {
		return from, to, problem.New(http.StatusBadRequest, "a period covers at most a year")
	}
	return from, to, nil
}

// myEarnings is the worker's own earnings statement (default: the last 28
// days).
func (a *API) myEarnings(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if p.Role != auth.Worker {
		return problem.New(http.StatusForbidden, "earnings statements are for workers; staff read GET /api/v1/users/{id}/earnings")
	}
	return a.earnings(w, r, p.UserID)
}

// userEarnings is a worker's statement for hub staff.
func (a *API) userEarnings(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if !p.IsHubStaff() {
		return errForbidden
	}
	u, err := a.workerInView(r, p)
	if err != nil {
		return err
	}
	return a.earnings(w, r, u.ID)
}

func (a *API) earnings(w http.ResponseWriter, r *http.Request, workerID string) error {
	from, to, err := period(r, 28)
	if err != nil {
		return err
	}
	s, err := ledger.MakeStatement(r.Context(), a.Store, workerID, from, to, a.MinimumWage)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, s)
}

// impactReport is the funders' report for ?from=&to= (default the last 30
// days).
func (a *API) impactReport(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if !p.IsHubStaff() {
		return errForbidden
	}
	from, to, err := period(r, 30)
	if err != nil {
		return err
	}
	rep, err := report.MakeImpact(r.Context(), a.Store, from, to)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, rep)
}

var upiPattern = regexp.MustCompile(`^[a-zA-Z0-9.\-_]{2,256}@[a-zA-Z]{2,64}$`)

// setPayeeIn is the request body of setPayee.
type setPayeeIn struct {
	UPI string `json:"upi_id"`
}

// setPayee records a worker's UPI address (the worker, their center
// manager, or hub staff) or a center's (hub staff).
func (a *API) setPayee(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	var party string
	if strings.HasPrefix(r.URL.Path, "/api/v1/centers/") {
		if !p.IsHubStaff() {
			return errForbidden
		}
		id, err := pathID(r, "center")
		if err != nil {
			return err
		}
		if o, err := a.Auth.Org(r.Context(), id); err != nil || o.Kind != auth.OrgCenter {
			return errNotVisible("center")
		}
		party = id
	} else {
		u, err := a.workerInView(r, p)
		if err != nil {
			return err
		}
		party = u.ID
	}
	var in setPayeeIn
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	if !upiPattern.MatchString(in.UPI) {
		return problem.New(http.StatusUnprocessableEntity, "upi_id: want a UPI address such as name@bank")
	}
	if err := ledger.SetPayee(r.Context(), a.Store, party, in.UPI); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, payeeOut{PartyID: party, UPIID: in.UPI})
}

// payout is a center's payout file for a period: a line per worker with
// their UPI address and pay, then the center's share. CSV for a bank or
// UPI bulk upload (the default), or ?format=json.
func (a *API) payout(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if !p.IsHubStaff() {
		return errForbidden
	}
	id, err := pathID(r, "center")
	if err != nil {
		return err
	}
	from, to, err := period(r, 30)
	if err != nil {
		return err
	}
	lines, share, err := ledger.CenterPayout(r.Context(), a.Store, id, from, to.Add(24*time.Hour))
	if errors.Is(err, store.ErrNotFound) {
		return errNotVisible("center")
	}
	if err != nil {
		return err
	}
	all := append(lines, share)
	missing := 0
	for _, l := range all {
		if l.UPI == "" && l.Amount > 0 {
			missing++
		}
	}
	remark := "Banyan pay " + from.Format(time.DateOnly) + " to " + to.Format(time.DateOnly)
	if r.URL.Query().Get("format") == "json" {
		return writeJSON(w, http.StatusOK, payoutOut{From: from.Format(time.DateOnly), To: to.Format(time.DateOnly),
			Workers: lines, Center: share, MissingUPI: missing})
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="payout-`+id+`-`+from.Format(time.DateOnly)+`.csv"`)
	cw := csv.NewWriter(w)
	cw.Write([]string{"beneficiary_name", "upi_id", "amount_inr", "answers", "party_id", "remarks"})
	for _, l := range all {
		if l.Amount <= 0 {
			continue
		}
		cw.Write([]string{l.Name, l.UPI, ledger.Paise(l.Amount), strconv.Itoa(l.Answers), l.PartyID, remark})
	}
	cw.Flush()
	return cw.Error()
}
