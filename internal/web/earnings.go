package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"time"
)

// earningsPage is the worker's statement: weeks and days, pay and active
// time, the effective hourly rate, and a warning under the minimum wage.
func (wb *Web) earningsPage(w http.ResponseWriter, r *http.Request, s *session) error {
	if err := wb.worker(s); err != nil {
		return err
	}
	if wb.API == nil {
		return errPage(http.StatusNotFound, "error.notfound")
	}
	rep := wb.call(r.Context(), s, "GET", "GET /api/v1/me/earnings", "", url.Values{}, nil, "")
	if rep.status != http.StatusOK {
		return fmt.Errorf("earnings: %d %s", rep.status, rep.problemDetail())
	}
	var st struct {
		From, To string
		Days     []struct {
			Day      string
			Answers  int
			Earned   int64
			ActiveMS int64 `json:"active_ms"`
		}
		Weeks []struct {
			Week       string
			Answers    int
			Earned     int64
			ActiveMS   int64 `json:"active_ms"`
			HourlyRate int64 `json:"hourly_rate"`
		}
		Earned       int64
		ActiveMS     int64 `json:"active_ms"`
		HourlyRate   int64 `json:"hourly_rate"`
		MinimumWage  int64 `json:"minimum_wage"`
		BelowMinimum bool  `json:"below_minimum"`
	}
	if err := json.Unmarshal(rep.body, &st); err != nil {
		return err
	}
	t := s.t
	hours := func(ms int64) string { return t.Get("earn.hours", fmt.Sprintf("%.1f", float64(ms)/3.6e6)) }
	type row struct{ Name, Answers, Earned, Active, Rate string }
	var weeks, days []row
	for i := len(st.Weeks) - 1; i >= 0; i-- {
		wk := st.Weeks[i]
		weeks = append(weeks, row{wk.Week, t.Number(wk.Answers), t.Rupees(wk.Earned), hours(wk.ActiveMS), t.Rupees(wk.HourlyRate)})
	}
	for i := len(st.Days) - 1; i >= 0; i-- {
		d := st.Days[i]
		name := d.Day
		if day, err := time.Parse(time.DateOnly, d.Day); err == nil {
			name = fmt.Sprintf("%d %s", day.Day(), t.Get(fmt.Sprintf("month.%d", int(day.Month()))))
		}
		days = append(days, row{Name: name, Answers: t.Number(d.Answers), Earned: t.Rupees(d.Earned), Active: hours(d.ActiveMS)})
	}
	data := map[string]any{"Title": t.Get("earn.title"), "Weeks": weeks, "Days": days, "Earned": t.Rupees(st.Earned),
		"Active": hours(st.ActiveMS), "Rate": t.Rupees(st.HourlyRate), "Period": t.Get("earn.period", st.From, st.To)}
	if st.BelowMinimum {
		data["Warning"] = t.Get("earn.below", t.Rupees(st.HourlyRate), t.Rupees(st.MinimumWage))
	}
	wb.render(w, r, s, http.StatusOK, "earnings", data)
	return nil
}
