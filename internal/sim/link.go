package sim

import (
	"context"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// LinkConfig is how a simulated link behaves. The zero value is a perfect
// link.
type LinkConfig struct {
	// BytesPerSecond caps each direction of the link, shared by all its
	// connections as on a real uplink; 0 is unlimited. 64 kbit/s is 8000.
	BytesPerSecond int
	// Latency delays every byte by this much one way, so a round trip
	// costs twice it.
	Latency time.Duration
	// CutAfter closes a connection once this many bytes (both directions
	// together) have crossed it; 0 never cuts. It models a link that drops
	// mid-transfer.
	CutAfter int64
	// Down refuses the link: new connections are closed as soon as they
	// open and open ones are cut.
	Down bool
	// Blackhole swallows everything silently: connections open, bytes
	// vanish, nothing is answered and nothing is reset, as on a satellite
	// link that lost its lock.
	Blackhole bool
}

// Link is a TCP proxy on loopback that makes a good connection behave like
// a rural uplink: slow, far, cut, down, silent, or flapping. Point a client
// at Addr instead of the server. It is safe for concurrent use.
type Link struct {
	ln     net.Listener
	target string
	// up and down count bytes delivered toward the target and back.
	up, down atomic.Int64
	// upFree and downFree are when each direction of the link is next
	// free to carry a byte, for the shared bandwidth cap; guarded by mu.
	upFree, downFree time.Time

	mu    sync.Mutex
	cfg   LinkConfig
	conns map[*linkConn]struct{}
	wg    sync.WaitGroup
}

type linkConn struct {
	client, server net.Conn
	once           sync.Once
	mu             sync.Mutex
	crossed        int64
	pumps          int // directions still running; guarded by mu
}

func (c *linkConn) close() {
	c.once.Do(func() {
		c.client.Close()
		c.server.Close()
	})
}

// NewLink listens on 127.0.0.1 and forwards to target.
func NewLink(target string, cfg LinkConfig) (*Link, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	l := &Link{ln: ln, target: target, cfg: cfg, conns: map[*linkConn]struct{}{}}
	l.wg.Add(1)
	go l.accept()
	return l, nil
}

// Addr is the address clients dial.
func (l *Link) Addr() string { return l.ln.Addr().String() }

// Config returns the link's current behaviour.
func (l *Link) Config() LinkConfig {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.cfg
}

// Set changes the link's behaviour for new bytes and connections. Taking
// the link down cuts every open connection.
func (l *Link) Set(cfg LinkConfig) {
	l.mu.Lock()
	l.cfg = cfg
	var cut []*linkConn
	if cfg.Down {
		for c := range l.conns {
			cut = append(cut, c)
		}
	}
	l.mu.Unlock()
	for _, c := range cut {
		c.close()
	}
}

// Flap takes the link down for down and up for up, over and over, until
// ctx ends; then it leaves the link up.
func (l *Link) Flap(ctx context.Context, up, down time.Duration) {
	for {
		for _, phase := range []struct {
			down bool
			d    time.Duration
		}{{true, down}, {false, up}} {
			cfg := l.Config()
			cfg.Down = phase.down
			l.Set(cfg)
			select {
			case <-ctx.Done():
				cfg := l.Config()
				cfg.Down = false
				l.Set(cfg)
				return
			case <-time.After(phase.d):
			}
		}
	}
}

// Bytes returns how many bytes the link has delivered toward the target
// (up) and back (down), headers and all: what a metered link would bill.
func (l *Link) Bytes() (up, down int64) { return l.up.Load(), l.down.Load() }

// Close stops the link and cuts every connection.
func (l *Link) Close() error {
	err := l.ln.Close()
	l.mu.Lock()
	for c := range l.conns {
		c.close()
	}
	l.mu.Unlock()
	l.wg.Wait()
	return err
}

func (l *Link) accept() {
	defer l.wg.Done()
	for {
		client, err := l.ln.Accept()
		if err != nil {
			return
		}
		if l.Config().Down {
			client.Close()
			continue
		}
		server, err := net.Dial("tcp", l.target)
		if err != nil {
			client.Close()
			continue
		}
		c := &linkConn{client: client, server: server, pumps: 2}
		l.mu.Lock()
		l.conns[c] = struct{}{}
		l.mu.Unlock()
		l.wg.Add(2)
		go l.pump(c, client, server, &l.up, &l.upFree)
		go l.pump(c, server, client, &l.down, &l.downFree)
	}
}

// chunk is bytes read from one side, stamped with when they were read so
// the writer can hold them for the link's latency.
type chunk struct {
	data []byte
	at   time.Time
}

// pump carries one direction of a connection: a reader stamps chunks and a
// writer delivers them after the latency, no faster than the bandwidth.
func (l *Link) pump(c *linkConn, src, dst net.Conn, count *atomic.Int64, free *time.Time) {
	defer l.wg.Done()
	defer func() {
		// The connection closes when both directions are done (or at once
		// on a cut or an error, which close it directly).
		c.mu.Lock()
		c.pumps--
		last := c.pumps == 0
		c.mu.Unlock()
		if last {
			c.close()
			l.mu.Lock()
			delete(l.conns, c)
			l.mu.Unlock()
		}
	}()
	queue := make(chan chunk, 64)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ch := range queue {
			cfg := l.Config()
			if wait := time.Until(ch.at.Add(cfg.Latency)); wait > 0 {
				time.Sleep(wait)
			}
			if l.Config().Blackhole {
				continue
			}
			data := ch.data
			for len(data) > 0 {
				n := len(data)
				cfg := l.Config()
				if cfg.BytesPerSecond > 0 {
					// Send in slices of about 10 ms of the link's rate, each
					// waiting its turn on the shared direction.
					n = min(n, max(1, cfg.BytesPerSecond/100))
					l.mu.Lock()
					start := time.Now()
					if free.After(start) {
						start = *free
					}
					*free = start.Add(time.Duration(float64(n) / float64(cfg.BytesPerSecond) * float64(time.Second)))
					until := *free
					l.mu.Unlock()
					time.Sleep(time.Until(until))
				}
				if cut := l.cross(c, int64(n)); cut >= 0 {
					n = int(cut)
					if n > 0 {
						dst.Write(data[:n])
					}
					c.close()
					return
				}
				if _, err := dst.Write(data[:n]); err != nil {
					c.close()
					return
				}
				count.Add(int64(n))
				data = data[n:]
			}
		}
	}()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			queue <- chunk{data: append([]byte(nil), buf[:n]...), at: time.Now()}
		}
		if err != nil {
			break
		}
	}
	close(queue)
	<-done
	// The reading side ended (EOF or a cut): pass the half-close on.
	if tc, ok := dst.(*net.TCPConn); ok {
		tc.CloseWrite()
	}
}

// cross records n more bytes over the connection. It returns -1 while the
// link's CutAfter is not reached, or how many of the n bytes may still pass
// before the cut.
func (l *Link) cross(c *linkConn, n int64) int64 {
	limit := l.Config().CutAfter
	c.mu.Lock()
	defer c.mu.Unlock()
	if limit <= 0 || c.crossed+n <= limit {
		c.crossed += n
		return -1
	}
	left := max(0, limit-c.crossed)
	c.crossed = limit
	return left
}

var _ io.Closer = (*Link)(nil)
