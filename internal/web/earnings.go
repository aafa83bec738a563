package web

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"banyan/internal/store"
)

// earningsPage is the worker's statement: weeks and days, pay and active
// time, the effective hourly rate, and a warning under the minimum wage.
// At a village center it is the statement the hub last sent down, with
// the hub's time of it and a word that it may be out of date.
func (wb *Web) earningsPage(w http.ResponseWriter, r *http.Request, s *session) error {
	if err := wb.worker(s); err != nil {
		return err
	}
	t := s.t
	st, err := wb.Desk.Earnings(r.Context(), s.User.ID)
	if errors.Is(err, store.ErrNotFound) {
		wb.render(w, r, s, http.StatusOK, "earnings", map[string]any{"Title": t.Get("earn.title"), "NotYet": t.Get("earn.notyet")})
		return nil
	}
	if err != nil {
		return err
	}
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
	if st.Sent {
		at := st.ComputedAt.UTC()
		data["Sent"] = t.Get("earn.sent", fmt.Sprintf("%d %s %d, %s UTC", at.Day(), t.Get(fmt.Sprintf("month.%d", int(at.Month()))), at.Year(), at.Format("15:04")))
	}
	if st.BelowMinimum {
		data["Warning"] = t.Get("earn.below", t.Rupees(st.HourlyRate), t.Rupees(st.MinimumWage))
	}
	wb.render(w, r, s, http.StatusOK, "earnings", data)
	return nil
}
