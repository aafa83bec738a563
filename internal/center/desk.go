package center

import (
	"context"
	"fmt"
	"time"

	"banyan/internal/auth"
	"banyan/internal/ledger"
	"banyan/internal/problem"
	"banyan/internal/report"
	"banyan/internal/store"
	"banyan/internal/web"
)

// desk gives the web pages the center's workers' tasks: the leased tasks
// the center holds (its local store is their dispatch.Desk), saved here
// and sent up through the outbox, the worker's day at the center, and the
// statement the hub last sent down of them.
type desk struct{ *Local }

func (d desk) Day(ctx context.Context, workerID string, since time.Time) (report.WorkerDay, error) {
	return report.CenterWorkerDay(ctx, d.Store, workerID, since)
}

func (d desk) Earnings(ctx context.Context, workerID string) (web.Earnings, error) {
	f, err := ledger.KeptStatement(ctx, d.Store, workerID)
	return web.Earnings{Statement: f.Statement, ComputedAt: f.ComputedAt, Sent: true}, err
}

// office gives the center manager's pages the center's state, and enrols
// workers.
type office struct{ c *Center }

func (o office) Status(ctx context.Context) (web.OfficeStatus, error) {
	q, err := o.c.Local.Queue(ctx)
	if err != nil {
		return web.OfficeStatus{}, err
	}
	st := web.OfficeStatus{Pending: q.Pending, Sent: q.Sent, ActiveGrants: q.ActiveGrants, FreeSlots: q.FreeSlots, FilesMissing: q.FilesMissing}
	if o.c.Sync != nil {
		s := o.c.Sync.State()
		st.LastSync, st.Online, st.LastError = s.LastSync, s.Online, s.LastError
	}
	return st, nil
}

func (o office) People(ctx context.Context, since time.Time) ([]web.Person, error) {
	return o.c.Local.People(ctx, since)
}

func (o office) Enrol(ctx context.Context, name, login string) (auth.User, string, string, error) {
	// The login is settled before the worker is added, so a bad or taken
	// one leaves no worker without a way in.
	if login == "" {
		login = auth.LoginFromName(name)
	}
	if err := auth.CheckLogin(login); err != nil {
		return auth.User{}, "", "", fmt.Errorf("center: enrol %q: give a login: %w", name, err)
	}
	if owner, err := o.c.Auth.LoginOwner(ctx, login); err != nil {
		return auth.User{}, "", "", err
	} else if owner != "" {
		return auth.User{}, "", "", problem.Public(store.ErrConflict, "the login %q is taken", login)
	}
	u, _, err := o.c.AddPerson(ctx, name, auth.Worker)
	if err != nil {
		return auth.User{}, "", "", err
	}
	login, pin, err := o.c.Auth.IssuePIN(ctx, u, login)
	return u, login, pin, err
}

func (o office) ResetPIN(ctx context.Context, workerID string) (string, string, error) {
	u, err := o.c.Auth.User(ctx, workerID)
	if err != nil {
		return "", "", err
	}
	return o.c.Auth.IssuePIN(ctx, u, "")
}
