package webhook

import (
	"cmp"
	_ "embed"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"
)

// specialTable is the dated copy of the IANA IPv4 and IPv6 Special-Purpose
// Address Registries, and the few ranges refused besides, that webhooks
// may not target. See the file for its format.
//
//go:embed special-purpose.txt
var specialTable string

// Range is one entry of the table.
type Range struct {
	Prefix netip.Prefix
	Name   string // as in the registry
	Ref    string // the RFCs the registry cites
}

// registry is one section of the table: an IANA registry copied on the
// date it was last updated, or (Updated zero) the ranges refused besides.
type registry struct {
	Name, URL string
	Updated   time.Time
	Ranges    []Range
}

// parseTable reads the table's text.
func parseTable(text string) ([]registry, error) {
	var regs []registry
	for n, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, "|")
		for i := range f {
			f[i] = strings.TrimSpace(f[i])
		}
		switch {
		case f[0] == "registry":
			date, ok := strings.CutPrefix(f[len(f)-1], "last updated ")
			t, err := time.Parse(time.DateOnly, date)
			if len(f) != 4 || f[1] == "" || !strings.HasPrefix(f[2], "https://") || !ok || err != nil {
				return nil, fmt.Errorf("line %d: want registry | name | https://… | last updated YYYY-MM-DD, have %q", n+1, line)
			}
			regs = append(regs, registry{Name: f[1], URL: f[2], Updated: t})
		case f[0] == "other":
			if len(f) != 2 || f[1] == "" {
				return nil, fmt.Errorf("line %d: want other | description, have %q", n+1, line)
			}
			regs = append(regs, registry{Name: f[1]})
		default:
			p, err := netip.ParsePrefix(f[0])
			if err != nil || p != p.Masked() || len(f) != 3 || f[1] == "" || f[2] == "" {
				return nil, fmt.Errorf("line %d: want prefix | name | reference, with the prefix's host bits zero, have %q", n+1, line)
			}
			if len(regs) == 0 {
				return nil, fmt.Errorf("line %d: an entry before any registry line", n+1)
			}
			r := &regs[len(regs)-1]
			r.Ranges = append(r.Ranges, Range{Prefix: p, Name: f[1], Ref: f[2]})
		}
	}
	for _, r := range regs {
		if len(r.Ranges) == 0 {
			return nil, fmt.Errorf("%s: no entries", r.Name)
		}
	}
	if len(regs) == 0 {
		return nil, errors.New("no registries")
	}
	return regs, nil
}

// specialRanges is every entry of the table, the most specific first.
var specialRanges = func() []Range {
	regs, err := parseTable(specialTable)
	if err != nil {
		panic("webhook: special-purpose.txt: " + err.Error())
	}
	var all []Range
	for _, r := range regs {
		all = append(all, r.Ranges...)
	}
	slices.SortStableFunc(all, func(a, b Range) int { return cmp.Compare(b.Prefix.Bits(), a.Prefix.Bits()) })
	return all
}()

// special is the most specific entry of the table that holds a. An
// IPv4-mapped address (::ffff:a.b.c.d) is taken as the IPv4 address it
// carries: that is the address Go dials, and the resolver hands back every
// IPv4 address in that form. A zone is dropped (netip.Prefix.Contains
// never matches a zoned address).
func special(a netip.Addr) (Range, bool) {
	a = a.Unmap().WithZone("")
	for _, r := range specialRanges {
		if r.Prefix.Contains(a) {
			return r, true
		}
	}
	return Range{}, false
}

// targetError refuses an address and names the entry it falls in.
type targetError struct {
	Addr  netip.Addr
	Range Range
}

func (e *targetError) Error() string {
	return fmt.Sprintf("%s is in %s (%s, %s): %v", e.Addr, e.Range.Prefix, e.Range.Name, e.Range.Ref, ErrPrivateTarget)
}

func (e *targetError) Unwrap() error { return ErrPrivateTarget }

// checkAddr refuses an address on a special-purpose network, and one that
// is not valid.
func checkAddr(a netip.Addr) error {
	if !a.IsValid() {
		return fmt.Errorf("not an IP address: %w", ErrPrivateTarget)
	}
	if r, ok := special(a); ok {
		return &targetError{Addr: a.Unmap().WithZone(""), Range: r}
	}
	return nil
}
