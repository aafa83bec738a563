package web

import (
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
)

// impactPage is the funders' report, for the hub's staff: the figures,
// two charts, and what each figure means.
func (wb *Web) impactPage(w http.ResponseWriter, r *http.Request, s *session) error {
	if wb.API == nil {
		return errPage(http.StatusNotFound, "error.notfound")
	}
	if !isHubStaff(s.User.Role) {
		return errPage(http.StatusForbidden, "error.forbidden")
	}
	q := url.Values{}
	for _, k := range []string{"from", "to"} {
		if v := r.URL.Query().Get(k); v != "" {
			q.Set(k, v)
		}
	}
	rep := wb.call(r.Context(), s, "GET", "GET /api/v1/impact", "", q, nil, "")
	if rep.status != http.StatusOK {
		if rep.status == http.StatusBadRequest {
			return errPage(http.StatusBadRequest, "error.body")
		}
		return fmt.Errorf("impact: %d %s", rep.status, rep.problemDetail())
	}
	type share struct {
		Count      *int     `json:"count"`
		Of         int      `json:"of"`
		Share      *float64 `json:"share"`
		Suppressed bool     `json:"suppressed"`
	}
	var im struct {
		From, To      string
		ActiveWorkers int     `json:"active_workers"`
		Jobs          int     `json:"jobs"`
		HoursWorked   float64 `json:"hours_worked"`
		Earnings      struct {
			People           int
			Total            int64
			P10, Median, P90 *int64
			Suppressed       bool
		}
		Women, Disability, Minority *share
		FirstJob                    *share `json:"first_job"`
		Declared                    int
		Retention30                 *share `json:"retention_30"`
		Retention90                 *share `json:"retention_90"`
		Villages                    int
		HubWorkers                  int `json:"hub_workers"`
		CenterWorkers               int `json:"center_workers"`
	}
	if err := json.Unmarshal(rep.body, &im); err != nil {
		return err
	}
	t := s.t
	show := func(sh *share) string {
		if sh == nil || sh.Suppressed || sh.Share == nil {
			return t.Get("impact.suppressed")
		}
		return t.Get("impact.share", t.Percent(*sh.Share), t.Number(*sh.Count), t.Number(sh.Of))
	}
	var shareLabels []string
	var shareValues []float64
	for _, f := range []struct {
		key string
		sh  *share
	}{{"impact.women", im.Women}, {"impact.disability", im.Disability}, {"impact.minority", im.Minority}, {"impact.firstjob", im.FirstJob}} {
		shareLabels = append(shareLabels, t.Get(f.key))
		v := 0.0
		if f.sh != nil && f.sh.Share != nil {
			v = *f.sh.Share
		}
		shareValues = append(shareValues, v)
	}
	var payChart template.HTML
	if e := im.Earnings; !e.Suppressed && e.P10 != nil {
		payChart = bars("pay", t.Get("impact.earnings"), t.Get("impact.earnings.desc"),
			[]string{"p10", t.Get("impact.median"), "p90"}, []float64{float64(*e.P10), float64(*e.Median), float64(*e.P90)},
			func(v float64) string { return t.Rupees(int64(v)) })
	}
	pct := func(v float64) string { return t.Percent(v) }
	names := []string{"active_workers", "jobs", "hours_worked", "earnings", "women", "disability", "minority", "first_job",
		"declared", "retention_30", "retention_90", "villages", "suppressed"}
	var defs []struct{ Name, Text string }
	for _, n := range names {
		defs = append(defs, struct{ Name, Text string }{t.Get("impact.name." + n), t.Get("impact.def." + n)})
	}
	wb.render(w, r, s, http.StatusOK, "impact", map[string]any{
		"Title": t.Get("impact.title"), "From": im.From, "To": im.To,
		"Active": t.Number(im.ActiveWorkers), "Jobs": t.Number(im.Jobs), "Hours": t.Number(int(im.HoursWorked + 0.5)),
		"Villages": t.Number(im.Villages), "Declared": t.Number(im.Declared),
		"Women": show(im.Women), "Disability": show(im.Disability), "Minority": show(im.Minority), "FirstJob": show(im.FirstJob),
		"R30": show(im.Retention30), "R90": show(im.Retention90),
		"PayTotal": t.Rupees(im.Earnings.Total), "PayChart": payChart,
		"ShareChart": bars("shares", t.Get("impact.shares"), t.Get("impact.shares.desc"), shareLabels, shareValues, pct),
		"Defs":       defs,
	})
	return nil
}
