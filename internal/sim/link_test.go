package sim

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// echo is a TCP server that writes back whatever it reads.
func echo(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				io.Copy(c, c)
				c.Close()
			}()
		}
	}()
	return ln.Addr().String()
}

func newLink(t *testing.T, target string, cfg LinkConfig) *Link {
	t.Helper()
	l, err := NewLink(target, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func TestLinkPassesBytesIntact(t *testing.T) {
	t.Parallel()
	l := newLink(t, echo(t), LinkConfig{})
	c, err := net.Dial("tcp", l.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	want := bytes.Repeat([]byte("banyan-"), 50_000)
	go c.Write(want)
	got := make([]byte, len(want))
	if _, err := io.ReadFull(c, got); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("echo through the link: %v, %d bytes equal=%v", err, len(got), bytes.Equal(got, want))
	}
}

func TestLinkLatencyAndBandwidth(t *testing.T) {
	t.Parallel()
	l := newLink(t, echo(t), LinkConfig{Latency: 100 * time.Millisecond})
	c, _ := net.Dial("tcp", l.Addr())
	defer c.Close()
	start := time.Now()
	c.Write([]byte("ping"))
	buf := make([]byte, 4)
	io.ReadFull(c, buf)
	if rtt := time.Since(start); rtt < 200*time.Millisecond {
		t.Fatalf("round trip %v through a 100 ms link, want at least 200 ms", rtt)
	}
	// 8,000 bytes at 16,000 bytes/s each way take at least half a second.
	l.Set(LinkConfig{BytesPerSecond: 16_000})
	c2, _ := net.Dial("tcp", l.Addr())
	defer c2.Close()
	start = time.Now()
	go c2.Write(make([]byte, 8000))
	io.ReadFull(c2, make([]byte, 8000))
	if d := time.Since(start); d < 500*time.Millisecond {
		t.Fatalf("8,000 bytes echoed in %v over 16,000 B/s, want at least 500 ms", d)
	}
}

func TestLinkCutsAfterBytes(t *testing.T) {
	t.Parallel()
	l := newLink(t, echo(t), LinkConfig{CutAfter: 1500})
	c, _ := net.Dial("tcp", l.Addr())
	defer c.Close()
	go c.Write(make([]byte, 4000))
	got, _ := io.ReadAll(c)
	// 1,500 bytes cross in all: some of the 4,000 going out, and what comes
	// back is less than that.
	if len(got) >= 1500 {
		t.Fatalf("read back %d bytes through a link cut after 1,500 in all", len(got))
	}
}

func TestLinkDownAndBlackhole(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) }))
	defer srv.Close()
	l := newLink(t, strings.TrimPrefix(srv.URL, "http://"), LinkConfig{})
	client := &http.Client{Timeout: 300 * time.Millisecond, Transport: &http.Transport{DisableKeepAlives: true}}
	get := func() error {
		resp, err := client.Get("http://" + l.Addr())
		if err == nil {
			resp.Body.Close()
		}
		return err
	}
	if err := get(); err != nil {
		t.Fatalf("link up: %v", err)
	}
	l.Set(LinkConfig{Down: true})
	if err := get(); err == nil {
		t.Fatalf("link down: the request went through")
	}
	l.Set(LinkConfig{Blackhole: true})
	start := time.Now()
	if err := get(); err == nil || time.Since(start) < 250*time.Millisecond {
		t.Fatalf("blackhole: got %v after %v, want a time-out, not a quick failure", err, time.Since(start))
	}
	l.Set(LinkConfig{})
	if err := get(); err != nil {
		t.Fatalf("link back up: %v", err)
	}
}

func TestLinkFlaps(t *testing.T) {
	t.Parallel()
	l := newLink(t, echo(t), LinkConfig{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { l.Flap(ctx, 30*time.Millisecond, 30*time.Millisecond); close(done) }()
	sawDown, sawUp := false, false
	for i := 0; i < 200 && !(sawDown && sawUp); i++ {
		if l.Config().Down {
			sawDown = true
		} else {
			sawUp = true
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
	if !sawDown || !sawUp || l.Config().Down {
		t.Fatalf("flapping: saw down %v, up %v, left down %v", sawDown, sawUp, l.Config().Down)
	}
}
