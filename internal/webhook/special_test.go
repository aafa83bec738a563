package webhook

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
)

// The cases are written by hand, not derived from the table: for each
// range its first and last address and an address just outside it. want
// is the entry that refuses the address ("" when it is allowed). Outside
// addresses are public where the neighbourhood has any; in unallocated
// global unicast space (next to 3fff::/20, 5f00::/16) they are allowed,
// elsewhere outside 2000::/3 they fall in a "not global unicast" entry.
func TestSpecialAddresses(t *testing.T) {
	tests := []struct{ name, addr, want string }{
		// IPv4
		{"this host on this network", "0.0.0.0", "0.0.0.0/32"},
		{"this network, past this host", "0.0.0.1", "0.0.0.0/8"},
		{"this network last", "0.255.255.255", "0.0.0.0/8"},
		{"after this network", "1.0.0.0", ""},
		{"before 10/8", "9.255.255.255", ""},
		{"10/8 first", "10.0.0.0", "10.0.0.0/8"},
		{"10/8 last", "10.255.255.255", "10.0.0.0/8"},
		{"after 10/8", "11.0.0.0", ""},
		{"before shared address space", "100.63.255.255", ""},
		{"shared address space first", "100.64.0.0", "100.64.0.0/10"},
		{"shared address space, a CGNAT address", "100.64.0.1", "100.64.0.0/10"},
		{"shared address space, a cloud metadata address", "100.100.100.200", "100.64.0.0/10"},
		{"shared address space last", "100.127.255.255", "100.64.0.0/10"},
		{"after shared address space", "100.128.0.0", ""},
		{"before loopback", "126.255.255.255", ""},
		{"loopback first", "127.0.0.0", "127.0.0.0/8"},
		{"loopback usual", "127.0.0.1", "127.0.0.0/8"},
		{"loopback last", "127.255.255.255", "127.0.0.0/8"},
		{"after loopback", "128.0.0.0", ""},
		{"before link local", "169.253.255.255", ""},
		{"link local first", "169.254.0.0", "169.254.0.0/16"},
		{"link local, cloud metadata", "169.254.169.254", "169.254.0.0/16"},
		{"link local last", "169.254.255.255", "169.254.0.0/16"},
		{"after link local", "169.255.0.0", ""},
		{"before 172.16/12", "172.15.255.255", ""},
		{"172.16/12 first", "172.16.0.0", "172.16.0.0/12"},
		{"172.16/12 last", "172.31.255.255", "172.16.0.0/12"},
		{"after 172.16/12", "172.32.0.0", ""},
		{"before IETF protocol assignments", "191.255.255.255", ""},
		{"service continuity first, first of 192.0.0.0/24", "192.0.0.0", "192.0.0.0/29"},
		{"service continuity last", "192.0.0.7", "192.0.0.0/29"},
		{"dummy address, after service continuity", "192.0.0.8", "192.0.0.8/32"},
		{"PCP anycast, globally reachable", "192.0.0.9", "192.0.0.9/32"},
		{"TURN anycast, globally reachable", "192.0.0.10", "192.0.0.10/32"},
		{"after TURN anycast", "192.0.0.11", "192.0.0.0/24"},
		{"before NAT64 discovery", "192.0.0.169", "192.0.0.0/24"},
		{"NAT64 discovery first", "192.0.0.170", "192.0.0.170/32"},
		{"NAT64 discovery second", "192.0.0.171", "192.0.0.171/32"},
		{"after NAT64 discovery", "192.0.0.172", "192.0.0.0/24"},
		{"IETF protocol assignments last", "192.0.0.255", "192.0.0.0/24"},
		{"after IETF protocol assignments", "192.0.1.0", ""},
		{"before TEST-NET-1", "192.0.1.255", ""},
		{"TEST-NET-1 first", "192.0.2.0", "192.0.2.0/24"},
		{"TEST-NET-1 last", "192.0.2.255", "192.0.2.0/24"},
		{"after TEST-NET-1", "192.0.3.0", ""},
		{"before AS112-v4", "192.31.195.255", ""},
		{"AS112-v4 first", "192.31.196.0", "192.31.196.0/24"},
		{"AS112-v4 last", "192.31.196.255", "192.31.196.0/24"},
		{"after AS112-v4", "192.31.197.0", ""},
		{"before AMT", "192.52.192.255", ""},
		{"AMT first", "192.52.193.0", "192.52.193.0/24"},
		{"AMT last", "192.52.193.255", "192.52.193.0/24"},
		{"after AMT", "192.52.194.0", ""},
		{"before 6to4 relay anycast", "192.88.98.255", ""},
		{"6to4 relay anycast first", "192.88.99.0", "192.88.99.0/24"},
		{"before 6a44 relay", "192.88.99.1", "192.88.99.0/24"},
		{"6a44 relay", "192.88.99.2", "192.88.99.2/32"},
		{"after 6a44 relay", "192.88.99.3", "192.88.99.0/24"},
		{"6to4 relay anycast last", "192.88.99.255", "192.88.99.0/24"},
		{"after 6to4 relay anycast", "192.88.100.0", ""},
		{"before 192.168/16", "192.167.255.255", ""},
		{"192.168/16 first", "192.168.0.0", "192.168.0.0/16"},
		{"192.168/16 last", "192.168.255.255", "192.168.0.0/16"},
		{"after 192.168/16", "192.169.0.0", ""},
		{"before AS112 direct delegation", "192.175.47.255", ""},
		{"AS112 direct delegation first", "192.175.48.0", "192.175.48.0/24"},
		{"AS112 direct delegation last", "192.175.48.255", "192.175.48.0/24"},
		{"after AS112 direct delegation", "192.175.49.0", ""},
		{"before benchmarking", "198.17.255.255", ""},
		{"benchmarking first", "198.18.0.0", "198.18.0.0/15"},
		{"benchmarking last", "198.19.255.255", "198.18.0.0/15"},
		{"after benchmarking", "198.20.0.0", ""},
		{"before TEST-NET-2", "198.51.99.255", ""},
		{"TEST-NET-2 first", "198.51.100.0", "198.51.100.0/24"},
		{"TEST-NET-2 last", "198.51.100.255", "198.51.100.0/24"},
		{"after TEST-NET-2", "198.51.101.0", ""},
		{"before TEST-NET-3", "203.0.112.255", ""},
		{"TEST-NET-3 first", "203.0.113.0", "203.0.113.0/24"},
		{"TEST-NET-3 last", "203.0.113.255", "203.0.113.0/24"},
		{"after TEST-NET-3", "203.0.114.0", ""},
		{"before multicast", "223.255.255.255", ""},
		{"multicast first", "224.0.0.0", "224.0.0.0/4"},
		{"multicast last", "239.255.255.255", "224.0.0.0/4"},
		{"reserved first, after multicast", "240.0.0.0", "240.0.0.0/4"},
		{"reserved last before broadcast", "255.255.255.254", "240.0.0.0/4"},
		{"limited broadcast", "255.255.255.255", "255.255.255.255/32"},
		{"Google DNS", "8.8.8.8", ""},
		{"Cloudflare DNS", "1.1.1.1", ""},

		// IPv6
		{"unspecified", "::", "::/128"},
		{"loopback", "::1", "::1/128"},
		{"IPv4-compatible, after loopback", "::2", "::/96"},
		{"IPv4-compatible link local", "::169.254.169.254", "::/96"},
		{"IPv4-compatible public", "::8.8.8.8", "::/96"},
		{"IPv4-compatible last", "::ffff:ffff", "::/96"},
		{"after IPv4-compatible", "::1:0:0", "::/3"},
		{"IPv4-mapped first, as 0.0.0.0", "::ffff:0.0.0.0", "0.0.0.0/32"},
		{"IPv4-mapped link local", "::ffff:169.254.169.254", "169.254.0.0/16"},
		{"IPv4-mapped shared address space", "::ffff:100.100.100.200", "100.64.0.0/10"},
		{"IPv4-mapped loopback", "::ffff:127.0.0.1", "127.0.0.0/8"},
		{"IPv4-mapped last, as broadcast", "::ffff:255.255.255.255", "255.255.255.255/32"},
		{"IPv4-mapped public, dialled as 8.8.8.8", "::ffff:8.8.8.8", ""},
		{"before IPv4-mapped", "::fffe:ffff:ffff", "::/3"},
		{"after IPv4-mapped", "::1:0:0:0", "::/3"},
		{"before NAT64", "64:ff9a:ffff:ffff:ffff:ffff:ffff:ffff", "::/3"},
		{"NAT64 first", "64:ff9b::", "64:ff9b::/96"},
		{"NAT64 link local", "64:ff9b::a9fe:a9fe", "64:ff9b::/96"},
		{"NAT64 public", "64:ff9b::808:808", "64:ff9b::/96"},
		{"NAT64 last", "64:ff9b::ffff:ffff", "64:ff9b::/96"},
		{"after NAT64", "64:ff9b::1:0:0", "::/3"},
		{"before local NAT64", "64:ff9b:0:ffff:ffff:ffff:ffff:ffff", "::/3"},
		{"local NAT64 first", "64:ff9b:1::", "64:ff9b:1::/48"},
		{"local NAT64 link local", "64:ff9b:1::a9fe:a9fe", "64:ff9b:1::/48"},
		{"local NAT64 last", "64:ff9b:1:ffff:ffff:ffff:ffff:ffff", "64:ff9b:1::/48"},
		{"after local NAT64", "64:ff9b:2::", "::/3"},
		{"before discard-only", "ff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "::/3"},
		{"discard-only first", "100::", "100::/64"},
		{"discard-only last", "100::ffff:ffff:ffff:ffff", "100::/64"},
		{"dummy prefix first, after discard-only", "100:0:0:1::", "100:0:0:1::/64"},
		{"dummy prefix last", "100:0:0:1:ffff:ffff:ffff:ffff", "100:0:0:1::/64"},
		{"after dummy prefix", "100:0:0:2::", "::/3"},
		{"not global unicast, below 2000::/3", "1fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "::/3"},
		{"Teredo first, first of 2001::/23", "2001::", "2001::/32"},
		{"Teredo last", "2001:0:ffff:ffff:ffff:ffff:ffff:ffff", "2001::/32"},
		{"after Teredo", "2001:1::", "2001::/23"},
		{"PCP anycast", "2001:1::1", "2001:1::1/128"},
		{"TURN anycast", "2001:1::2", "2001:1::2/128"},
		{"DNS-SD anycast", "2001:1::3", "2001:1::3/128"},
		{"after DNS-SD anycast", "2001:1::4", "2001::/23"},
		{"benchmarking first", "2001:2::", "2001:2::/48"},
		{"benchmarking last", "2001:2:0:ffff:ffff:ffff:ffff:ffff", "2001:2::/48"},
		{"after benchmarking", "2001:2:1::", "2001::/23"},
		{"AMT first", "2001:3::", "2001:3::/32"},
		{"AMT last", "2001:3:ffff:ffff:ffff:ffff:ffff:ffff", "2001:3::/32"},
		{"before AS112-v6", "2001:4:111:ffff:ffff:ffff:ffff:ffff", "2001::/23"},
		{"AS112-v6 first", "2001:4:112::", "2001:4:112::/48"},
		{"AS112-v6 last", "2001:4:112:ffff:ffff:ffff:ffff:ffff", "2001:4:112::/48"},
		{"after AS112-v6", "2001:4:113::", "2001::/23"},
		{"before old ORCHID", "2001:f:ffff:ffff:ffff:ffff:ffff:ffff", "2001::/23"},
		{"old ORCHID first", "2001:10::", "2001:10::/28"},
		{"old ORCHID last", "2001:1f:ffff:ffff:ffff:ffff:ffff:ffff", "2001:10::/28"},
		{"ORCHIDv2 first", "2001:20::", "2001:20::/28"},
		{"ORCHIDv2 last", "2001:2f:ffff:ffff:ffff:ffff:ffff:ffff", "2001:20::/28"},
		{"DETs first", "2001:30::", "2001:30::/28"},
		{"DETs last", "2001:3f:ffff:ffff:ffff:ffff:ffff:ffff", "2001:30::/28"},
		{"after DETs", "2001:40::", "2001::/23"},
		{"IETF protocol assignments last", "2001:1ff:ffff:ffff:ffff:ffff:ffff:ffff", "2001::/23"},
		{"after IETF protocol assignments", "2001:200::", ""},
		{"before documentation", "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", ""},
		{"documentation first", "2001:db8::", "2001:db8::/32"},
		{"documentation last", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", "2001:db8::/32"},
		{"after documentation", "2001:db9::", ""},
		{"6to4 first", "2002::", "2002::/16"},
		{"6to4 link local", "2002:a9fe:a9fe::", "2002::/16"},
		{"6to4 public", "2002:808:808::", "2002::/16"},
		{"6to4 last", "2002:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "2002::/16"},
		{"after 6to4", "2003::", ""},
		{"before AS112 direct delegation", "2620:4f:7fff:ffff:ffff:ffff:ffff:ffff", ""},
		{"AS112 direct delegation first", "2620:4f:8000::", "2620:4f:8000::/48"},
		{"AS112 direct delegation last", "2620:4f:8000:ffff:ffff:ffff:ffff:ffff", "2620:4f:8000::/48"},
		{"after AS112 direct delegation", "2620:4f:8001::", ""},
		{"documentation 3fff first", "3fff::", "3fff::/20"},
		{"documentation 3fff last", "3fff:fff:ffff:ffff:ffff:ffff:ffff:ffff", "3fff::/20"},
		{"after documentation 3fff, unallocated", "3fff:1000::", ""},
		{"before SRv6, unallocated", "5eff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "4000::/2"},
		{"SRv6 first", "5f00::", "5f00::/16"},
		{"SRv6 last", "5f00:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "5f00::/16"},
		{"after SRv6", "5f01::", "4000::/2"},
		{"not global unicast, 8000::/1", "8000::", "8000::/1"},
		{"before unique local", "fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "8000::/1"},
		{"unique local first", "fc00::", "fc00::/7"},
		{"unique local last", "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "fc00::/7"},
		{"after unique local", "fe00::", "8000::/1"},
		{"link local first", "fe80::", "fe80::/10"},
		{"link local with a zone", "fe80::1%eth0", "fe80::/10"},
		{"link local last", "febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "fe80::/10"},
		{"after link local, old site-local", "fec0::", "8000::/1"},
		{"before multicast", "feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "8000::/1"},
		{"multicast first", "ff00::", "ff00::/8"},
		{"multicast all nodes", "ff02::1", "ff00::/8"},
		{"multicast last", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "ff00::/8"},
		{"Cloudflare DNS v6", "2606:4700:4700::1111", ""},
		{"Google DNS v6", "2001:4860:4860::8888", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := netip.MustParseAddr(tc.addr)
			r, ok := special(a)
			got := ""
			if ok {
				got = r.Prefix.String()
			}
			if got != tc.want {
				t.Fatalf("%s: got %v, want %v", tc.addr, got, tc.want)
			}
			if err := checkAddr(a); (err != nil) != (tc.want != "") || (err != nil && !errors.Is(err, ErrPrivateTarget)) {
				t.Fatalf("checkAddr(%s): got %v, want refused: %v", tc.addr, err, tc.want != "")
			}
		})
	}
	if err := checkAddr(netip.Addr{}); !errors.Is(err, ErrPrivateTarget) {
		t.Fatalf("the zero address: got %v, want %v", err, ErrPrivateTarget)
	}
}

// CheckURL refuses an IP literal in the table, naming address and entry,
// without a DNS lookup; allowPrivate lets it through.
func TestCheckURLNamesTheEntry(t *testing.T) {
	ctx := context.Background()
	tests := []struct{ name, url, want string }{
		{"shared address space", "http://100.64.0.1/hook", "url: 100.64.0.1 is in 100.64.0.0/10 (Shared Address Space, RFC 6598): " + ErrPrivateTarget.Error()},
		{"cloud metadata", "http://100.100.100.200/latest/meta-data/", "url: 100.100.100.200 is in 100.64.0.0/10 (Shared Address Space, RFC 6598): webhook targets on special-purpose addresses are refused unless the hub runs with --allow-private-webhooks"},
		{"link local metadata", "http://169.254.169.254/latest/meta-data/", "url: 169.254.169.254 is in 169.254.0.0/16 (Link Local, RFC 3927): " + ErrPrivateTarget.Error()},
		{"IPv4-mapped", "http://[::ffff:169.254.169.254]/", "url: 169.254.169.254 is in 169.254.0.0/16 (Link Local, RFC 3927): " + ErrPrivateTarget.Error()},
		{"NAT64", "http://[64:ff9b::a9fe:a9fe]/", "url: 64:ff9b::a9fe:a9fe is in 64:ff9b::/96 (IPv4-IPv6 Translat., RFC 6052): " + ErrPrivateTarget.Error()},
		{"6to4", "https://[2002:a9fe:a9fe::]/", "url: 2002:a9fe:a9fe:: is in 2002::/16 (6to4, RFC 3056): " + ErrPrivateTarget.Error()},
		{"link local with a zone", "http://[fe80::1%25eth0]:8080/", "url: fe80::1 is in fe80::/10 (Link-Local Unicast, RFC 4291): " + ErrPrivateTarget.Error()},
		{"public IPv4", "https://8.8.8.8/hook", ""},
		{"public IPv6", "https://[2606:4700:4700::1111]/hook", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckURL(ctx, tc.url, false)
			got := ""
			if err != nil {
				got = err.Error()
				if !errors.Is(err, ErrPrivateTarget) {
					t.Fatalf("errors.Is(%v, ErrPrivateTarget): got false, want true", err)
				}
			}
			if got != tc.want {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			if err := CheckURL(ctx, tc.url, true); err != nil {
				t.Fatalf("allowing private targets: got %v, want %v", err, nil)
			}
		})
	}
}

// The dialer checks the address it connects to, before connecting: no
// packet leaves for a refused one.
func TestClientRefusesSpecialDial(t *testing.T) {
	for _, u := range []string{"http://100.64.0.1:1/", "http://100.100.100.200:1/latest/meta-data/", "http://[::ffff:169.254.169.254]:1/", "http://[64:ff9b::a9fe:a9fe]:1/", "http://[2002:a9fe:a9fe::]:1/"} {
		t.Run(u, func(t *testing.T) {
			_, err := Client(false).Get(u)
			if !errors.Is(err, ErrPrivateTarget) {
				t.Fatalf("got %v, want %v", err, ErrPrivateTarget)
			}
		})
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/elsewhere", http.StatusFound)
	}))
	defer srv.Close()
	t.Run("loopback refused", func(t *testing.T) {
		_, err := Client(false).Get(srv.URL)
		if !errors.Is(err, ErrPrivateTarget) || !strings.Contains(err.Error(), "127.0.0.0/8 (Loopback") {
			t.Fatalf("got %v, want %v naming 127.0.0.0/8", err, ErrPrivateTarget)
		}
	})
	t.Run("loopback allowed, redirect not followed", func(t *testing.T) {
		resp, err := Client(true).Get(srv.URL)
		if err != nil {
			t.Fatalf("got %v, want %v", err, nil)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusFound {
			t.Fatalf("got %v, want %v", resp.StatusCode, http.StatusFound)
		}
	})
	t.Run("the check passes when private targets are allowed", func(t *testing.T) {
		if err := checkDial(true)("tcp4", "100.64.0.1:1", nil); err != nil {
			t.Fatalf("got %v, want %v", err, nil)
		}
		if err := checkDial(false)("tcp4", "100.64.0.1:1", nil); !errors.Is(err, ErrPrivateTarget) {
			t.Fatalf("got %v, want %v", err, ErrPrivateTarget)
		}
		if err := checkDial(false)("tcp6", "[fe80::1%eth0]:80", nil); !errors.Is(err, ErrPrivateTarget) {
			t.Fatalf("got %v, want %v", err, ErrPrivateTarget)
		}
		if err := checkDial(false)("tcp4", "8.8.8.8:443", nil); err != nil {
			t.Fatalf("got %v, want %v", err, nil)
		}
	})
}

// The embedded table parses, and says when each registry was copied.
func TestSpecialTableParses(t *testing.T) {
	regs, err := parseTable(specialTable)
	if err != nil {
		t.Fatalf("got %v, want %v", err, nil)
	}
	var names []string
	for _, r := range regs {
		names = append(names, r.Name)
		if strings.Contains(r.Name, "Special-Purpose Address Registry") && (r.Updated.IsZero() || !strings.HasPrefix(r.URL, "https://www.iana.org/assignments/")) {
			t.Fatalf("%s: got date %v and address %q, want both", r.Name, r.Updated, r.URL)
		}
	}
	want := "IANA IPv4 Special-Purpose Address Registry|IANA IPv6 Special-Purpose Address Registry|Refused as well, though in neither special-purpose registry"
	if got := strings.Join(names, "|"); got != want {
		t.Fatalf("got %v, want %v", got, want)
	}
	if len(specialRanges) == 0 {
		t.Fatalf("got %v entries, want some", len(specialRanges))
	}
	for _, bad := range []string{
		"10.0.0.0/8 | Private-Use | RFC 1918",
		"registry | R | https://example.org/ | last updated 2025-13-40\n10.0.0.0/8 | Private-Use | RFC 1918",
		"registry | R | https://example.org/\n10.0.0.0/8 | Private-Use | RFC 1918",
		"registry | R | https://example.org/ | last updated 2025-10-09\n10.0.0.1/8 | Private-Use | RFC 1918",
		"registry | R | https://example.org/ | last updated 2025-10-09\n10.0.0.0/8 | Private-Use",
		"registry | R | https://example.org/ | last updated 2025-10-09",
		"# nothing",
	} {
		if _, err := parseTable(bad); err == nil {
			t.Fatalf("parseTable(%q): got %v, want an error", bad, err)
		}
	}
}
