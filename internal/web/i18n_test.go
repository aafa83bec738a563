package web

import (
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"
)

var placeholder = regexp.MustCompile(`\{[0-9]+\}`)

// literal matches the technical words a translation keeps as they are:
// file formats and the field types a client types into a schema.
var literal = regexp.MustCompile(`\b(CSV|JSONL|text|number|integer|date|enum|a|b|c)\b`)

// Every catalog has every key, with the same placeholders; Hindi and
// Tamil values are translations in their own scripts, not English left in.
func TestCatalogsComplete(t *testing.T) {
	en := catalogs["en"]
	scripts := map[string]*unicode.RangeTable{"hi": unicode.Devanagari, "ta": unicode.Tamil}
	for _, l := range Langs {
		cat := catalogs[l.Code]
		for key, want := range en {
			got, ok := cat[key]
			if !ok {
				t.Errorf("%s: key %q is missing", l.Code, key)
				continue
			}
			if strings.TrimSpace(got) == "" {
				t.Errorf("%s: key %q is empty", l.Code, key)
			}
			p1, p2 := placeholder.FindAllString(want, -1), placeholder.FindAllString(got, -1)
			slices.Sort(p1)
			slices.Sort(p2)
			if !slices.Equal(p1, p2) {
				t.Errorf("%s: key %q has placeholders %v, English has %v", l.Code, key, p2, p1)
			}
			script := scripts[l.Code]
			if script == nil {
				continue
			}
			if got == want {
				t.Errorf("%s: key %q is the English text %q", l.Code, key, want)
			}
			bare := literal.ReplaceAllString(placeholder.ReplaceAllString(got, ""), "")
			letters, inScript := 0, 0
			for _, r := range bare {
				if unicode.IsLetter(r) || unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Mc, r) {
					letters++
					if unicode.Is(script, r) {
						inScript++
					}
				}
			}
			if letters == 0 || inScript*10 < letters*9 {
				t.Errorf("%s: key %q = %q is not written in its script (%d of %d letters)", l.Code, key, got, inScript, letters)
			}
		}
		for key := range cat {
			if _, ok := en[key]; !ok {
				t.Errorf("%s: key %q is not in the English catalog", l.Code, key)
			}
		}
	}
}

func TestPlaceholdersAndNumbers(t *testing.T) {
	if got := newT("en").Get("signin.limited", 3); got != "Too many tries. Wait 3 minutes, then try again." {
		t.Errorf("en placeholder: %q", got)
	}
	if got := newT("hi").Number(1234567); got != "12,34,567" {
		t.Errorf("hi number: %q, want Indian grouping 12,34,567", got)
	}
	if got := newT("en").Number(1234567); got != "1,234,567" {
		t.Errorf("en number: %q", got)
	}
	if got := newT("xx").Lang(); got != "en" {
		t.Errorf("unknown language falls back to %q", got)
	}
	d := newT("ta").Date(time.Date(2026, 11, 23, 9, 5, 0, 0, time.Local))
	if !strings.Contains(d, "நவ.") || !strings.Contains(d, "09:05") {
		t.Errorf("ta date: %q", d)
	}
}

func TestRupees(t *testing.T) {
	for lang, want := range map[string]string{"en": "₹1,234,567.05", "hi": "₹12,34,567.05"} {
		if got := newT(lang).Rupees(123456705); got != want {
			t.Errorf("%s: %q, want %q", lang, got, want)
		}
	}
	if got := newT("en").Rupees(-250); got != "-₹2.50" {
		t.Errorf("a debit: %q", got)
	}
}
