package sim

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// Habit is how a simulated worker works.
type Habit string

// The habits.
const (
	Diligent Habit = "diligent" // reads carefully; rare slips
	Careless Habit = "careless" // hurries; often wrong, many typos
	Spammer  Habit = "spammer"  // answers at random, very fast
)

// Profile is one simulated worker: who they are and how they err.
type Profile struct {
	Name  string
	Habit Habit
	// Confusion[i][j] is the chance that, shown a post whose true label is
	// ModerationLabels[i], the worker answers ModerationLabels[j].
	Confusion [][]float64
	// SecondsPerPost and SecondsPerInvoice are the worker's mean time for
	// one task of each kind.
	SecondsPerPost, SecondsPerInvoice float64
	// TypoRate is the chance of a slip in one typed field.
	TypoRate float64
	// DayFirst is false for the few who key dates month first.
	DayFirst bool
}

// Crowd makes n worker profiles from seed. About one in eight is careless
// or a spammer, as in a real first intake; the rest vary in skill and speed.
func Crowd(seed uint64, n int) []Profile {
	rng := rand.New(rand.NewPCG(seed, 0x776b72))
	out := make([]Profile, n)
	for i := range out {
		p := Profile{Name: fmt.Sprintf("sim-worker-%02d", i+1), Habit: Diligent, DayFirst: rng.Float64() > 0.1}
		accuracy := 0.80 + 0.17*rng.Float64()
		p.TypoRate = 0.01 + 0.04*rng.Float64()
		p.SecondsPerPost = 6 + 14*rng.Float64()
		p.SecondsPerInvoice = 60 + 120*rng.Float64()
		switch {
		case i%20 == 13:
			p.Habit = Careless
			accuracy = 0.55 + 0.1*rng.Float64()
			p.TypoRate = 0.15 + 0.1*rng.Float64()
			p.SecondsPerPost /= 2
			p.SecondsPerInvoice /= 2
		case i%10 == 7:
			p.Habit = Spammer
			p.SecondsPerPost, p.SecondsPerInvoice = 1.5, 8
		}
		p.Confusion = confusion(rng, p.Habit, accuracy)
		out[i] = p
	}
	return out
}

// confusion builds a worker's per-class confusion matrix. A diligent or
// careless worker is right with about the given accuracy (a little more or
// less per class) and, when wrong, leans towards a neighbouring class: abuse
// is mistaken for violence more than for spam. A spammer's rows are all the
// same, so their answer says nothing about the truth.
func confusion(rng *rand.Rand, h Habit, accuracy float64) [][]float64 {
	k := len(ModerationLabels)
	m := make([][]float64, k)
	if h == Spammer {
		row := make([]float64, k)
		for j := range row {
			row[j] = 0.2 + rng.Float64()
		}
		normalise(row)
		for i := range m {
			m[i] = row
		}
		return m
	}
	for i := range m {
		row := make([]float64, k)
		diag := min(0.99, max(0.3, accuracy+0.06*(rng.Float64()-0.5)))
		for j := range row {
			if j == i {
				continue
			}
			w := 0.2 + rng.Float64()
			if j == (i+1)%k || j == (i+k-1)%k {
				w *= 3
			}
			row[j] = w
		}
		normalise(row)
		for j := range row {
			row[j] *= 1 - diag
		}
		row[i] = diag
		m[i] = row
	}
	return m
}

func normalise(row []float64) {
	s := 0.0
	for _, v := range row {
		s += v
	}
	for j := range row {
		row[j] /= s
	}
}

// Label is the worker's answer to a post whose true label is truth.
func (p *Profile) Label(rng *rand.Rand, truth string) string {
	i := indexOf(ModerationLabels, truth)
	if i < 0 {
		return ModerationLabels[rng.IntN(len(ModerationLabels))]
	}
	return ModerationLabels[draw(rng, p.Confusion[i])]
}

func indexOf(xs []string, x string) int {
	for i, v := range xs {
		if v == x {
			return i
		}
	}
	return -1
}

// Key is the worker's keying of one invoice field whose true (canonical)
// value is truth: retyped the way people type it, with this worker's slips.
func (p *Profile) Key(rng *rand.Rand, field, truth string) string {
	if p.Habit == Spammer {
		return junk(rng, field, truth)
	}
	v := retype(rng, field, truth, p.DayFirst)
	if rng.Float64() < p.TypoRate {
		v = typo(rng, v)
	}
	return v
}

// retype writes a true value in one of the forms people key it in.
func retype(rng *rand.Rand, field, v string, dayFirst bool) string {
	switch {
	case field == "invoice_date":
		t, err := time.Parse("2006-01-02", v)
		if err != nil {
			return v
		}
		if !dayFirst && t.Day() <= 12 {
			return t.Format("01/02/2006")
		}
		switch rng.IntN(3) {
		case 0:
			return t.Format("02/01/2006")
		case 1:
			return t.Format("2006-01-02")
		}
		return t.Format("02.01.2006")
	case strings.HasSuffix(field, "_total") || strings.HasSuffix(field, "_value") || strings.HasSuffix(field, "_amount"):
		whole, frac, _ := strings.Cut(v, ".")
		for len(frac) < 2 {
			frac += "0"
		}
		switch rng.IntN(3) {
		case 0:
			return whole + "." + frac
		case 1:
			var paise int64
			fmt.Sscanf(whole+frac, "%d", &paise)
			return rupees(paise)
		}
		if frac == "00" {
			return whole
		}
		return whole + "." + frac
	case field == "vendor_name" && rng.IntN(4) == 0:
		return strings.ToUpper(v)
	}
	return v
}

// typo makes one slip of the kind keyers make: two characters swapped, one
// dropped, or one doubled.
func typo(rng *rand.Rand, v string) string {
	r := []rune(v)
	if len(r) < 2 {
		return v + v
	}
	i := rng.IntN(len(r) - 1)
	switch rng.IntN(3) {
	case 0:
		r[i], r[i+1] = r[i+1], r[i]
	case 1:
		r = append(r[:i], r[i+1:]...)
	default:
		r = append(r[:i+1], r[i:]...)
	}
	return string(r)
}

// junk is what a spammer types: something that passes the form's checks
// but has nothing to do with the document.
func junk(rng *rand.Rand, field, truth string) string {
	switch {
	case field == "invoice_date":
		return time.Date(2026, 1, 1+rng.IntN(300), 0, 0, 0, 0, time.UTC).Format("2006-01-02")
	case field == "vendor_gstin":
		return gstin(rng)
	case strings.HasSuffix(field, "_total") || strings.HasSuffix(field, "_value") || strings.HasSuffix(field, "_amount"):
		return fmt.Sprintf("%d", 100+rng.IntN(100000))
	}
	return fmt.Sprintf("%s %d", []string{"abc", "test", "xyz", "na"}[rng.IntN(4)], rng.IntN(100))
}

// Duration is how long the worker takes over one task of the given kind.
func (p *Profile) Duration(rng *rand.Rand, invoice bool) time.Duration {
	mean := p.SecondsPerPost
	if invoice {
		mean = p.SecondsPerInvoice
	}
	// People's task times are skewed: most near the mean, a few long.
	s := mean * (0.5 + rng.ExpFloat64()*0.5)
	return time.Duration(s * float64(time.Second))
}
