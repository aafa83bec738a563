package ingest

import (
	"fmt"
	"path"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// A FileNameError says why the name of a file in an upload (an entry in
// the zip of attachments, or a row's reference to one) was refused.
// Reason reads on from the name: "has a \"..\" segment: …".
type FileNameError struct {
	Name   string
	Reason string
}

func (e *FileNameError) Error() string { return fmt.Sprintf("file name %q %s", e.Name, e.Reason) }

// FileName checks the name of a file that comes with a batch upload, a path
// inside the zip of attachments, and returns it as tasks keep it and
// workers see it: in Unicode NFC, without a leading "./", "." segments,
// doubled or trailing slashes. A directory's name, with its trailing "/",
// is checked the same way.
//
// A name that could point outside the folder a file is unpacked into, or
// that shows one thing and stores another, is refused with a
// *FileNameError that says what to change. Refused are names that are
// empty (or nothing but "./"), are not valid UTF-8, hold a control
// character (C0, DEL or C1) or a bidirectional override, hold a backslash, start with "/" or a drive
// letter ("C:"), or have a ".." segment anywhere.
//
// Two names that FileName accepts may still be one file on a disk that
// ignores case or Unicode form; FileKey says when they are.
func FileName(name string) (string, error) {
	refuse := func(format string, args ...any) (string, error) {
		return "", &FileNameError{Name: name, Reason: fmt.Sprintf(format, args...)}
	}
	if !utf8.ValidString(name) {
		return refuse("is not valid UTF-8: zip the files with a tool that writes UTF-8 names")
	}
	for _, r := range name {
		if unicode.IsControl(r) {
			return refuse("holds a control character (U+%04X): rename the file without it", r)
		}
		// Bidirectional embeddings, overrides and isolates make a name
		// read otherwise than it is ("gpj.exe" shown as "exe.jpg"); the
		// joiners Indic scripts use (U+200C, U+200D) are not among them.
		if (r >= 0x202A && r <= 0x202E) || (r >= 0x2066 && r <= 0x2069) {
			return refuse("holds a bidirectional control (U+%04X), which makes a name read otherwise than it is: rename the file without it", r)
		}
	}
	switch {
	case strings.Contains(name, `\`):
		return refuse(`holds a backslash: separate folders with "/"`)
	case strings.HasPrefix(name, "/"):
		return refuse(`is an absolute path: give the path inside the zip, without the leading "/"`)
	}
	for seg := range strings.SplitSeq(name, "/") {
		if seg == ".." {
			return refuse(`has a ".." segment: give the path inside the zip, without ".."`)
		}
	}
	// Relative and without "..", the name stays so when cleaned.
	clean := path.Clean(name)
	if clean == "." {
		return refuse("names no file: give the path inside the zip, such as scans/inv-001.png")
	}
	// Checked on the cleaned name, as "./C:" cleans to "C:".
	if len(clean) >= 2 && clean[1] == ':' && ('a' <= clean[0] && clean[0] <= 'z' || 'A' <= clean[0] && clean[0] <= 'Z') {
		return refuse("starts with a drive letter: give the path inside the zip, without %q", clean[:2])
	}
	return norm.NFC.String(clean), nil
}

// FileKey is the form in which two file names are compared: Unicode case
// folded and canonically normalised (the caseless match of the Unicode
// standard, §3.13), so "Scan.png" and "scan.png", or "é" written as one
// code point and as "e" with a combining accent, have one key. It takes a
// name FileName returned.
func FileKey(name string) string {
	return norm.NFC.String(cases.Fold().String(norm.NFD.String(name)))
}
