package web

import (
	"embed"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// The pages speak English, Hindi and Tamil. Every string a page shows is
// a key in locales/<lang>.json; the three catalogs have the same keys (a
// test checks, and that the Hindi and Tamil values are in their scripts).
// A value may hold placeholders {0}, {1} … filled in order.

//go:embed locales/*.json
var localeFiles embed.FS

// Lang is one language the pages speak.
type Lang struct {
	Code string // BCP 47: en, hi, ta
	Name string // its name in itself
}

// Langs are the languages, in the order the chooser lists them.
var Langs = []Lang{{"en", "English"}, {"hi", "हिन्दी"}, {"ta", "தமிழ்"}}

// defaultLang is the language of a browser that has not chosen.
const defaultLang = "en"

var catalogs = mustLoadCatalogs()

func mustLoadCatalogs() map[string]map[string]string {
	out := map[string]map[string]string{}
	for _, l := range Langs {
		raw, err := localeFiles.ReadFile("locales/" + l.Code + ".json")
		if err != nil {
			panic(err)
		}
		var m map[string]string
		if err := json.Unmarshal(raw, &m); err != nil {
			panic(fmt.Sprintf("web: locales/%s.json: %v", l.Code, err))
		}
		out[l.Code] = m
	}
	return out
}

// knownLang says whether code is a language the pages speak.
func knownLang(code string) bool {
	_, ok := catalogs[code]
	return ok
}

// T is a page's translator.
type T struct {
	lang    string
	printer *message.Printer
}

func newT(lang string) T {
	if !knownLang(lang) {
		lang = defaultLang
	}
	return T{lang: lang, printer: message.NewPrinter(language.MustParse(lang))}
}

// Get returns the text of key with its placeholders filled. A missing key
// shows as itself, so it is seen and fixed (the catalog test fails first).
func (t T) Get(key string, args ...any) string {
	s, ok := catalogs[t.lang][key]
	if !ok {
		return key
	}
	if len(args) == 0 {
		return s
	}
	var b strings.Builder
	for {
		i := strings.IndexByte(s, '{')
		if i < 0 {
			b.WriteString(s)
			break
		}
		j := strings.IndexByte(s[i:], '}')
		n, err := strconv.Atoi(s[i+1 : i+max(j, 1)])
		if j < 0 || err != nil || n < 0 || n >= len(args) {
			b.WriteString(s[:i+1])
			s = s[i+1:]
			continue
		}
		b.WriteString(s[:i])
		b.WriteString(fmt.Sprint(args[n]))
		s = s[i+j+1:]
	}
	return b.String()
}

// Number formats a number the language's way (Hindi groups by lakhs and
// crores: 12,34,567).
func (t T) Number(v any) string { return t.printer.Sprint(v) }

// Percent formats a share in [0, 1] as a whole percentage.
func (t T) Percent(share float64) string {
	return t.printer.Sprintf("%d%%", int(share*100+0.5))
}

// Rupees formats an amount in paise as rupees with two decimals, grouped
// the language's way: ₹1,23,456.50 in Hindi.
func (t T) Rupees(paise int64) string {
	sign := ""
	if paise < 0 {
		sign, paise = "-", -paise
	}
	return fmt.Sprintf("%s₹%s.%02d", sign, t.Number(paise/100), paise%100)
}

// Date formats a time as day, month and hour, in the viewer's zone.
func (t T) Date(tm time.Time) string {
	tm = tm.Local()
	return fmt.Sprintf("%d %s %d, %02d:%02d", tm.Day(), t.Get("month."+strconv.Itoa(int(tm.Month()))), tm.Year(), tm.Hour(), tm.Minute())
}

// Lang is the language code, for the page's lang attribute.
func (t T) Lang() string { return t.lang }
