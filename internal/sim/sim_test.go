package sim

import (
	"math"
	"math/rand/v2"
	"reflect"
	"regexp"
	"testing"

	"banyan/internal/work"
)

func TestGSTIN(t *testing.T) {
	t.Parallel()
	// Published sample GSTINs whose check characters are known.
	for _, g := range []string{"27AAPFU0939F1ZV", "29AAGCB7383J1Z4"} {
		if got := gstinCheck(g[:14]); got != g[14] {
			t.Errorf("check of %s: got %c, want %c", g, got, g[14])
		}
	}
	re := regexp.MustCompile("^" + GSTINPattern + "$")
	rng := rand.New(rand.NewPCG(1, 1))
	for range 200 {
		g := gstin(rng)
		if !re.MatchString(g) || gstinCheck(g[:14]) != g[14] {
			t.Fatalf("made an invalid GSTIN %s", g)
		}
	}
}

func TestRupees(t *testing.T) {
	t.Parallel()
	tests := map[int64]string{5: "0.05", 12345: "123.45", 123456: "1,234.56", 12345678: "1,23,456.78", 1234567890: "1,23,45,678.90"}
	for paise, want := range tests {
		if got := rupees(paise); got != want {
			t.Errorf("rupees(%d) = %s, want %s", paise, got, want)
		}
	}
	if got := canonicalPaise(123450); got != "1234.5" {
		t.Errorf("canonicalPaise(123450) = %s, want 1234.5", got)
	}
}

func TestDataIsRepeatableAndConsistent(t *testing.T) {
	t.Parallel()
	if !reflect.DeepEqual(Posts(7, 50), Posts(7, 50)) || !reflect.DeepEqual(Invoices(7, 20), Invoices(7, 20)) {
		t.Fatalf("the same seed gave different data")
	}
	counts := map[string]int{}
	for _, p := range Posts(7, 5000) {
		counts[p.Label]++
	}
	if f := float64(counts["ok"]) / 5000; math.Abs(f-0.55) > 0.03 {
		t.Errorf("share of ok posts %.3f, want about 0.55", f)
	}
	// Every invoice's totals add up, and every true value passes the
	// demo project's own validation.
	fields := []work.Field{}
	for _, f := range InvoiceFields {
		typ := work.FieldNumber
		switch f {
		case "vendor_name", "invoice_number", "vendor_gstin":
			typ = work.FieldText
		case "invoice_date":
			typ = work.FieldDate
		}
		fields = append(fields, work.Field{Name: f, Type: typ, Required: true})
	}
	schema := &work.Schema{Inputs: []string{"doc_id"}, Fields: fields}
	if err := schema.Validate(work.Extract); err != nil {
		t.Fatal(err)
	}
	for _, inv := range Invoices(7, 200) {
		a, err := work.Check(work.Extract, schema, work.Answer{Fields: inv.Fields})
		if err != nil {
			t.Fatalf("%s: %v", inv.ID, err)
		}
		if !reflect.DeepEqual(a.Fields, inv.Fields) {
			t.Fatalf("%s: true values are not canonical: %v vs %v", inv.ID, a.Fields, inv.Fields)
		}
	}
}

func TestCrowdErrsLikeItsProfile(t *testing.T) {
	t.Parallel()
	crowd := Crowd(3, 40)
	odd := 0
	for _, p := range crowd {
		if p.Habit != Diligent {
			odd++
		}
		for i, row := range p.Confusion {
			sum := 0.0
			for _, v := range row {
				sum += v
			}
			if math.Abs(sum-1) > 1e-9 {
				t.Fatalf("%s: confusion row %d sums to %v", p.Name, i, sum)
			}
		}
	}
	if odd < 3 || odd > 8 {
		t.Errorf("%d of 40 workers are careless or spammers, want about one in eight", odd)
	}
	// A diligent worker's answers match their own confusion matrix.
	p := crowd[0]
	rng := rand.New(rand.NewPCG(9, 9))
	right := 0
	const n = 20000
	for range n {
		if p.Label(rng, "spam") == "spam" {
			right++
		}
	}
	if got, want := float64(right)/n, p.Confusion[1][1]; math.Abs(got-want) > 0.015 {
		t.Errorf("worker right on spam %.3f of the time, want %.3f", got, want)
	}
	// Keyed values are mostly right after normalisation.
	inv := Invoices(1, 1)[0]
	f := &work.Field{Name: "total_amount", Type: work.FieldNumber}
	ok := 0
	for range 1000 {
		v, err := f.Normalize(p.Key(rng, "total_amount", inv.Fields["total_amount"]))
		if err == nil && v == inv.Fields["total_amount"] {
			ok++
		}
	}
	if ok < 900 {
		t.Errorf("a diligent worker keyed the total right %d of 1000 times", ok)
	}
}
