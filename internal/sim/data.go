// Package sim makes believable stand-ins for the people and data Banyan
// serves: sample batches with known true answers (content moderation posts,
// GST invoices), simulated workers who err like people do, and the demo
// scenario that drives a hub through its public API with them.
//
// Nothing here is research data: every item is generated from a seed, so
// runs are repeatable and the truth is known exactly.
package sim

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// ModerationLabels are the classes of the demo's content-moderation project.
var ModerationLabels = []string{"ok", "spam", "abuse", "violence", "misinformation"}

// moderationPrior is how often each label occurs in the demo's queue.
var moderationPrior = []float64{0.55, 0.15, 0.12, 0.08, 0.10}

// Post is one user post to moderate, with its true label.
type Post struct {
	ID    string
	Text  string
	Label string
}

var postParts = map[string][][]string{
	"ok": {
		{"Loved the", "Just tried the", "Anyone else enjoying the", "Sharing photos from the", "Great turnout at the"},
		{"new bus route to the market", "mango harvest this week", "cricket match on Sunday", "temple festival", "village library opening", "free eye camp"},
		{"— thanks to everyone who came!", "in our district.", "Highly recommend.", "What a day.", "See you next year."},
	},
	"spam": {
		{"EARN ₹50,000 a week from home!!", "Congratulations, you have won", "Limited offer:", "Click now to claim", "Cheap loans, no documents,"},
		{"a free phone", "instant cash prize", "crypto double-your-money scheme", "work-from-home job", "lottery reward"},
		{"— send your bank OTP to claim.", "— visit the link in my bio.", "DM me now!!!", "only today, hurry.", "forward to 10 groups."},
	},
	"abuse": {
		{"You are a worthless", "Nobody wants your kind here, you", "Shut up, you stupid", "People like you are a", "Get lost, you pathetic"},
		{"fool", "idiot", "clown", "loser", "parasite"},
		{"and everyone knows it.", "— go back where you came from.", "nobody listens to you.", "just disappear.", "you make me sick."},
	},
	"violence": {
		{"I will find you and", "Someone should", "We are going to", "Next time I see him I will", "Bring sticks, we will"},
		{"break your legs", "burn their shop down", "beat him until he can't stand", "make them bleed", "attack the rally"},
		{"tonight.", "if you show your face again.", "— everyone join.", "and nobody will stop us.", "after the market closes."},
	},
	"misinformation": {
		{"Doctors don't want you to know:", "BREAKING: government confirms", "Forwarded as received:", "Scientists admit", "Share before they delete this:"},
		{"drinking hot water cures every virus", "the vaccine changes your blood group", "5G towers spread fever", "the rupee will be cancelled next week", "eating raw garlic stops cancer"},
		{"— share with family.", "(verified by a friend in the ministry).", "don't ignore this.", "the news is hiding it.", "100% true."},
	},
}

// Posts makes n moderation posts from seed, labels drawn from the demo's
// prior.
func Posts(seed uint64, n int) []Post {
	rng := rand.New(rand.NewPCG(seed, 0x6d6f64))
	out := make([]Post, n)
	for i := range out {
		label := ModerationLabels[draw(rng, moderationPrior)]
		parts := postParts[label]
		words := make([]string, len(parts))
		for j, p := range parts {
			words[j] = p[rng.IntN(len(p))]
		}
		out[i] = Post{ID: fmt.Sprintf("P-%06d", i+1), Text: strings.Join(words, " "), Label: label}
	}
	return out
}

// draw picks an index with the given weights (which need not sum to 1).
func draw(rng *rand.Rand, weights []float64) int {
	total := 0.0
	for _, w := range weights {
		total += w
	}
	x := rng.Float64() * total
	for i, w := range weights {
		if x < w {
			return i
		}
		x -= w
	}
	return len(weights) - 1
}

// InvoiceFields are the fields keyed from each demo invoice, in form order.
var InvoiceFields = []string{"vendor_name", "vendor_gstin", "invoice_number", "invoice_date",
	"line1_total", "line2_total", "line3_total", "taxable_value", "gst_amount", "total_amount"}

// Invoice is one GST invoice to key, with the true value of every field in
// canonical form (dates YYYY-MM-DD, amounts without grouping).
type Invoice struct {
	ID       string
	Document string
	Fields   map[string]string
}

var (
	vendorFirst = []string{"Shree", "Sai", "Lakshmi", "Ganesh", "Annapurna", "Kaveri", "Narmada", "Vinayaka", "Sri Balaji", "Om"}
	vendorMid   = []string{"Agro", "Textiles", "Traders", "Steel", "Pharma", "Electricals", "Packaging", "Hardware", "Foods", "Printers"}
	vendorLast  = []string{"Pvt Ltd", "& Sons", "Enterprises", "Industries", "LLP", "Co.", "Agencies", "Stores"}
	items       = []string{"Cotton yarn 40s", "PVC pipe 2in", "Printer paper A4", "LED bulb 9W", "Basmati rice 25kg",
		"Copper wire 1.5mm", "Corrugated box", "Paracetamol 500mg strip", "Steel bolts M8", "Jute bags"}
	// GST state codes of the states the demo's vendors sit in.
	stateCodes = []string{"07", "09", "19", "24", "27", "29", "32", "33", "36"}
)

const gstinChars = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"

// gstin makes a well-formed GSTIN: state code, a PAN-shaped middle, entity
// number, "Z", and the mod-36 check character the real scheme uses.
func gstin(rng *rand.Rand) string {
	var b strings.Builder
	b.WriteString(stateCodes[rng.IntN(len(stateCodes))])
	for range 5 {
		b.WriteByte(byte('A' + rng.IntN(26)))
	}
	for range 4 {
		b.WriteByte(byte('0' + rng.IntN(10)))
	}
	b.WriteByte(byte('A' + rng.IntN(26)))
	b.WriteByte(gstinChars[1+rng.IntN(9)])
	b.WriteByte('Z')
	body := b.String()
	return body + string(gstinCheck(body))
}

// gstinCheck is the check character of a GSTIN's first 14 characters:
// alternate weights 1 and 2, each product's base-36 digits summed, and the
// sum's complement mod 36.
func gstinCheck(body string) byte {
	sum := 0
	for i, c := range body {
		p := strings.IndexRune(gstinChars, c) * (1 + i%2)
		sum += p/36 + p%36
	}
	return gstinChars[(36-sum%36)%36]
}

// GSTINPattern is the shape of a GSTIN, for the invoice project's schema.
const GSTINPattern = `[0-9]{2}[A-Z]{5}[0-9]{4}[A-Z][1-9A-Z]Z[0-9A-Z]`

// rupees writes paise as an amount with Indian digit grouping: 123456789
// paise → "12,34,567.89".
func rupees(paise int64) string {
	whole := strconv.FormatInt(paise/100, 10)
	frac := fmt.Sprintf("%02d", paise%100)
	if len(whole) > 3 {
		head, tail := whole[:len(whole)-3], whole[len(whole)-3:]
		var groups []string
		for len(head) > 2 {
			groups = append([]string{head[len(head)-2:]}, groups...)
			head = head[:len(head)-2]
		}
		if head != "" {
			groups = append([]string{head}, groups...)
		}
		whole = strings.Join(groups, ",") + "," + tail
	}
	return whole + "." + frac
}

// canonicalPaise is the canonical form of an amount: no grouping, no
// trailing fractional zeros.
func canonicalPaise(paise int64) string {
	s := fmt.Sprintf("%d.%02d", paise/100, paise%100)
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}

// Invoices makes n GST invoices from seed, each with three line items, 18 %
// GST split as CGST and SGST, rendered as the text an OCR pass would give.
func Invoices(seed uint64, n int) []Invoice {
	rng := rand.New(rand.NewPCG(seed, 0x696e76))
	start := time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	out := make([]Invoice, n)
	for i := range out {
		vendor := fmt.Sprintf("%s %s %s", vendorFirst[rng.IntN(len(vendorFirst))], vendorMid[rng.IntN(len(vendorMid))], vendorLast[rng.IntN(len(vendorLast))])
		g := gstin(rng)
		number := fmt.Sprintf("%s/%d-%02d/%04d", strings.ToUpper(vendor[:2]), 26, 27, 1+rng.IntN(9000))
		date := start.AddDate(0, 0, rng.IntN(200))
		var lines [3]int64
		var doc strings.Builder
		fmt.Fprintf(&doc, "TAX INVOICE\n%s\nGSTIN: %s\nInvoice No: %s    Date: %s\n\n", vendor, g, number, date.Format("02/01/2006"))
		fmt.Fprintf(&doc, "%-4s %-26s %6s %12s %14s\n", "Sr", "Description", "Qty", "Rate", "Amount")
		var taxable int64
		for j := range lines {
			qty := int64(1 + rng.IntN(50))
			rate := int64(50+rng.IntN(5000)) * 100
			if rng.IntN(3) == 0 {
				rate += int64(rng.IntN(100))
			}
			lines[j] = qty * rate
			taxable += lines[j]
			fmt.Fprintf(&doc, "%-4d %-26s %6d %12s %14s\n", j+1, items[rng.IntN(len(items))], qty, rupees(rate), rupees(lines[j]))
		}
		half := (taxable*9 + 50) / 100 // CGST 9 % and SGST 9 %, rounded to the paisa
		gst := 2 * half
		total := taxable + gst
		fmt.Fprintf(&doc, "\nTaxable value: %s\nCGST @9%%: %s\nSGST @9%%: %s\nGrand total: ₹ %s\n", rupees(taxable), rupees(half), rupees(half), rupees(total))
		out[i] = Invoice{
			ID:       fmt.Sprintf("INV-%05d", i+1),
			Document: doc.String(),
			Fields: map[string]string{
				"vendor_name": vendor, "vendor_gstin": g, "invoice_number": number,
				"invoice_date": date.Format("2006-01-02"),
				"line1_total":  canonicalPaise(lines[0]), "line2_total": canonicalPaise(lines[1]), "line3_total": canonicalPaise(lines[2]),
				"taxable_value": canonicalPaise(taxable), "gst_amount": canonicalPaise(gst), "total_amount": canonicalPaise(total),
			},
		}
	}
	return out
}
