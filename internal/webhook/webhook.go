// Package webhook sends clients' webhook deliveries: signed with
// HMAC-SHA256 over a timestamp and the body, retried with backoff, logged,
// and never sent to a special-purpose address (private, loopback, shared,
// link-local, documentation … every range of the IANA special-purpose
// registries, see special-purpose.txt) unless the hub's admin allows it.
package webhook

import (
	"banyan/internal/project"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"syscall"
	"time"
)

// maxAttempts is how often a delivery is tried before it fails.
const maxAttempts = 10

// backoff is the wait before attempt n+1: 10 s, 20 s, 40 s … up to an hour.
func backoff(n int) time.Duration {
	d := 10 * time.Second << min(n, 9)
	return min(d, time.Hour)
}

// Sign is the signature header's value for a body sent at t:
// t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" under the secret>.
func Sign(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts + "."))
	mac.Write(body)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac.Sum(nil))
}

// ErrPrivateTarget is what errors.Is finds in the error refusing a webhook
// address on a special-purpose network, at subscription or when dialling.
var ErrPrivateTarget = errors.New("webhook targets on special-purpose addresses are refused unless the hub runs with --allow-private-webhooks")

// CheckURL says what is wrong with a subscription's address: it must be
// http(s) with a host that resolves only to addresses outside the
// special-purpose table (unless those are allowed). A refusal names the
// address and the table's entry it falls in.
func CheckURL(ctx context.Context, raw string, allowPrivate bool) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
		return fmt.Errorf("url: want an http or https URL without credentials, such as https://example.org/hooks/banyan")
	}
	if allowPrivate {
		return nil
	}
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", u.Hostname())
	if err != nil {
		return fmt.Errorf("url: the host %q does not resolve: %v", u.Hostname(), err)
	}
	for _, a := range addrs {
		if err := checkAddr(a); err != nil {
			return fmt.Errorf("url: %w", err)
		}
	}
	return nil
}

// checkDial is the dialer's check of the address it is about to connect
// to, against the same table as CheckURL.
func checkDial(allowPrivate bool) func(network, address string, _ syscall.RawConn) error {
	return func(network, address string, _ syscall.RawConn) error {
		if allowPrivate {
			return nil
		}
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return fmt.Errorf("dialling %q: %w", address, ErrPrivateTarget)
		}
		return checkAddr(ap.Addr())
	}
}

// Client sends deliveries. Its dialer checks the address it
// actually connects to, so a name that resolves differently at delivery
// time cannot reach inside; redirects are not followed.
func Client(allowPrivate bool) *http.Client {
	dialer := &net.Dialer{Timeout: 5 * time.Second, Control: checkDial(allowPrivate)}
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DialContext: dialer.DialContext,
		TLSHandshakeTimeout: 5 * time.Second, ResponseHeaderTimeout: 10 * time.Second},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// Sender sends the queue's deliveries.
type Sender struct {
	Queue  *Queue
	Client *http.Client
	Log    *slog.Logger
}

// Deliver sends one delivery and records the outcome.
func (h *Sender) Deliver(ctx context.Context, d Delivery) (Delivery, error) {
	hook, secret, err := h.Queue.Get(ctx, d.WebhookID)
	if err != nil {
		return d, err
	}
	if !hook.Active {
		return d, h.Queue.Note(ctx, d.ID, 0, "the subscription was removed", false, time.Time{})
	}
	now := time.Now()
	req, err := http.NewRequestWithContext(ctx, "POST", hook.URL, bytes.NewReader([]byte(d.Body)))
	if err != nil {
		return d, h.Queue.Note(ctx, d.ID, 0, err.Error(), false, time.Time{})
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Banyan-Webhook/1")
	req.Header.Set("Banyan-Event", d.Event)
	req.Header.Set("Banyan-Delivery", d.ID)
	req.Header.Set("Banyan-Signature", Sign(secret, now, []byte(d.Body)))
	resp, err := h.Client.Do(req)
	status, errText := 0, ""
	if err != nil {
		errText = err.Error()
	} else {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		status = resp.StatusCode
		if status < 200 || status > 299 {
			errText = "the target answered " + resp.Status
		}
	}
	d.Attempts++
	d.LastStatus, d.LastError = status, errText
	switch {
	case errText == "":
		d.State = "delivered"
		h.Log.Info("webhook delivered", "delivery", d.ID, "event", d.Event, "webhook", d.WebhookID, "status", status)
		return d, h.Queue.Note(ctx, d.ID, status, "", true, time.Time{})
	case d.Attempts >= maxAttempts:
		d.State = "failed"
		h.Log.Warn("webhook failed for good", "delivery", d.ID, "event", d.Event, "webhook", d.WebhookID, "attempts", d.Attempts, "err", errText)
		return d, h.Queue.Note(ctx, d.ID, status, errText, false, time.Time{})
	default:
		h.Log.Info("webhook to be retried", "delivery", d.ID, "event", d.Event, "webhook", d.WebhookID, "attempts", d.Attempts, "err", errText)
		return d, h.Queue.Note(ctx, d.ID, status, errText, false, time.Now().Add(backoff(d.Attempts)))
	}
}

// DeliverDue sends every delivery whose time has come (after noting
// batches found complete).
func (h *Sender) DeliverDue(ctx context.Context) error {
	if err := project.CheckCompletions(ctx, h.Queue.Store); err != nil {
		return err
	}
	for {
		due, err := h.Queue.Due(ctx, 100)
		if err != nil || len(due) == 0 {
			return err
		}
		for _, d := range due {
			if _, err := h.Deliver(ctx, d); err != nil {
				return err
			}
		}
		if len(due) < 100 {
			return nil
		}
	}
}
