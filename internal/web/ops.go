package web

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"time"

	"banyan/internal/auth"
	"banyan/internal/ledger"
	"banyan/internal/report"
)

// The hub staff's page: the clients, the village centers (last contact,
// backlog), the batches due soon against their deadlines, and the work and
// its quality over the last two weeks as charts.

func isHubStaff(role string) bool { return role == "hub_admin" || role == "ops" }

// boardHorizon is how far ahead the SLA board looks.
const boardHorizon = 72 * time.Hour

// chartDays is how many days the charts cover.
const chartDays = 14

func (wb *Web) opsPage(w http.ResponseWriter, r *http.Request, s *session) error {
	if wb.API == nil {
		return errPage(http.StatusNotFound, "error.notfound")
	}
	if !isHubStaff(s.User.Role) {
		return errPage(http.StatusForbidden, "error.forbidden")
	}
	t := s.t
	now := time.Now()

	var clients struct {
		Items []struct {
			ID, Name string
		} `json:"items"`
	}
	rep := wb.call(r.Context(), s, "GET", "GET /api/v1/clients", "", url.Values{"limit": {"200"}}, nil, "")
	if rep.status != http.StatusOK || json.Unmarshal(rep.body, &clients) != nil {
		return fmt.Errorf("clients: %d %s", rep.status, rep.problemDetail())
	}
	var centers struct {
		Items []struct {
			ID          string     `json:"id"`
			Name        string     `json:"name"`
			Version     string     `json:"version"`
			LastContact *time.Time `json:"last_contact"`
			Backlog     int        `json:"backlog"`
			LeasedTasks int        `json:"leased_tasks"`
			Answers     int        `json:"answers"`
		} `json:"items"`
	}
	rep = wb.call(r.Context(), s, "GET", "GET /api/v1/centers", "", url.Values{"limit": {"200"}}, nil, "")
	if rep.status != http.StatusOK || json.Unmarshal(rep.body, &centers) != nil {
		return fmt.Errorf("centers: %d %s", rep.status, rep.problemDetail())
	}
	type centerView struct {
		Name, Version, Contact, Backlog, Leased, Answers string
		Silent                                           bool
	}
	var cv []centerView
	for _, c := range centers.Items {
		if c.ID == auth.BuiltinCenterOrgID {
			continue // the hub's own workers: no link to watch
		}
		v := centerView{Name: c.Name, Version: c.Version, Contact: t.Get("office.never"), Backlog: t.Number(c.Backlog),
			Leased: t.Number(c.LeasedTasks), Answers: t.Number(c.Answers), Silent: true}
		if c.LastContact != nil {
			v.Contact, v.Silent = t.Date(*c.LastContact), now.Sub(*c.LastContact) > 2*time.Hour
		}
		cv = append(cv, v)
	}

	due, err := report.DueBatches(r.Context(), wb.Store, now.Add(boardHorizon), 100)
	if err != nil {
		return err
	}
	type dueView struct {
		Name, Project, Client, Progress, Deadline, State, Class string
	}
	var dv []dueView
	for _, b := range due {
		left := b.Tasks - b.Done
		hours := b.Deadline.Sub(now).Hours()
		state, class := "ops.ontrack", "ok"
		switch {
		case hours <= 0:
			state, class = "ops.late", "bad"
		case float64(b.LastHour)*hours < float64(left):
			state, class = "ops.atrisk", "bad"
		}
		dv = append(dv, dueView{Name: b.Name, Project: b.ProjectName, Client: b.ClientName,
			Progress: t.Get("client.done", t.Number(b.Done), t.Number(b.Tasks)), Deadline: t.Date(b.Deadline),
			State: t.Get(state), Class: class})
	}

	type underpaidView struct{ Name, Org, Earned, Active, Rate string }
	var under []underpaidView
	if wb.MinimumWage > 0 {
		low, err := ledger.BelowMinimum(r.Context(), wb.Store, now.AddDate(0, 0, -6), now, wb.MinimumWage)
		if err != nil {
			return err
		}
		for _, u := range low {
			under = append(under, underpaidView{u.Name, u.Org, t.Rupees(u.Earned), t.Get("earn.hours", fmt.Sprintf("%.1f", float64(u.ActiveMS)/3.6e6)), t.Rupees(u.HourlyRate)})
		}
	}
	start := startOfDay(now).AddDate(0, 0, -(chartDays - 1))
	days, err := report.Days(r.Context(), wb.Store, start.UTC())
	if err != nil {
		return err
	}
	byDay := map[string]int{}
	for i, d := range days {
		byDay[d.Day] = i
	}
	var labels []string
	var answers, gold []float64
	type dayRow struct{ Day, Answers, Gold string }
	var table []dayRow
	for i := range chartDays {
		day := start.AddDate(0, 0, i).UTC().Format("2006-01-02")
		labels = append(labels, day[8:])
		a, g := 0.0, -1.0
		row := dayRow{Day: day, Answers: t.Number(0), Gold: "—"}
		if j, ok := byDay[day]; ok {
			a = float64(days[j].Answers)
			row.Answers = t.Number(days[j].Answers)
			if days[j].GoldScored > 0 {
				g = days[j].GoldMean
				row.Gold = t.Get("ops.goldday", t.Percent(g), t.Number(days[j].GoldScored))
			}
		}
		answers, gold = append(answers, a), append(gold, g)
		table = append(table, row)
	}
	whole := func(v float64) string { return t.Number(int(math.Round(v))) }
	wb.render(w, r, s, http.StatusOK, "ops", map[string]any{
		"Title": t.Get("ops.title"), "Clients": clients.Items, "Centers": cv, "Due": dv,
		"Throughput": bars("throughput", t.Get("ops.throughput"), t.Get("ops.throughput.desc", chartDays), labels, answers, whole),
		"Quality":    line("quality", t.Get("ops.quality"), t.Get("ops.quality.desc", chartDays), labels, gold, 1, t.Percent),
		"Days":       table,
		"Underpaid":  under, "MinWage": t.Rupees(wb.MinimumWage), "WageCheck": wb.MinimumWage > 0,
	})
	return nil
}
