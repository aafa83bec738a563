package sim

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
)

// Client calls a hub's REST API the way any outside program does: over
// HTTP, with a bearer token.
type Client struct {
	BaseURL string
	Token   string
	HTTP    *http.Client
}

// APIError is a problem response from the hub.
type APIError struct {
	Status int
	Detail string
	// Field is the first field the problem names, if any.
	Field string
	Body  []byte
}

func (e *APIError) Error() string { return fmt.Sprintf("hub answered %d: %s", e.Status, e.Detail) }

// Do sends a request with a JSON body (or a raw body when body is a
// []byte, with contentType) and decodes a JSON answer into out. It returns
// the status; any status of 400 or more is an *APIError.
func (c *Client) Do(ctx context.Context, method, path string, body any, contentType string, out any) (int, error) {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			return 0, err
		}
		rd = bytes.NewReader(raw)
		contentType = "application/json"
	}
	req, err := http.NewRequestWithContext(ctx, method, c.BaseURL+path, rd)
	if err != nil {
		return 0, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, err
	}
	if resp.StatusCode >= 400 {
		var p struct {
			Detail string `json:"detail"`
			Errors []struct {
				Field string `json:"field"`
			} `json:"errors"`
		}
		json.Unmarshal(raw, &p)
		ae := &APIError{Status: resp.StatusCode, Detail: p.Detail, Body: raw}
		if len(p.Errors) > 0 {
			ae.Field = p.Errors[0].Field
		}
		return resp.StatusCode, ae
	}
	if out != nil && len(raw) > 0 {
		if b, ok := out.(*[]byte); ok {
			*b = raw
			return resp.StatusCode, nil
		}
		if err := json.Unmarshal(raw, out); err != nil {
			return resp.StatusCode, fmt.Errorf("decode %s %s: %w", method, path, err)
		}
	}
	return resp.StatusCode, nil
}

// With returns a client for the same hub with another token.
func (c *Client) With(token string) *Client {
	return &Client{BaseURL: c.BaseURL, Token: token, HTTP: c.HTTP}
}
