package ingest

import (
	"errors"
	"strings"
	"testing"
)

func TestFileName(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in string
		want     string // the name kept, when accepted
		refused  string // part of the reason, when refused
	}{
		{"plain", "a.png", "a.png", ""},
		{"in a folder", "scans/inv-001.png", "scans/inv-001.png", ""},
		{"leading dot slash", "./a.png", "a.png", ""},
		{"leading dot slashes", "././scans/a.png", "scans/a.png", ""},
		{"dot segment", "scans/./a.png", "scans/a.png", ""},
		{"doubled slash", "scans//a.png", "scans/a.png", ""},
		{"directory", "scans/", "scans", ""},
		{"three dots", "scans/.../a.png", "scans/.../a.png", ""},
		{"dots in a name", "a..b.png", "a..b.png", ""},
		{"colon later", "scans/a:b.png", "scans/a:b.png", ""},
		{"space", "inv 001.png", "inv 001.png", ""},
		{"Hindi", "चालान/बिल-१.png", "चालान/बिल-१.png", ""},
		{"Tamil", "விலைப்பட்டியல்/ரசீது.pdf", "விலைப்பட்டியல்/ரசீது.pdf", ""},
		{"Malayalam with zero-width joiner", "ര\u0d4d\u200dസീത്.png", "ര\u0d4d\u200dസീത്.png", ""},
		{"decomposed made NFC", "cafe\u0301.png", "caf\u00e9.png", ""},

		{"empty", "", "", "names no file"},
		{"only dot slash", "./", "", "names no file"},
		{"only dot", ".", "", "names no file"},
		{"absolute", "/etc/x", "", "absolute path"},
		{"absolute root", "/", "", "absolute path"},
		{"parent", "../../x", "", `".." segment`},
		{"parent inside", "scans/../../x", "", `".." segment`},
		{"parent at the end", "scans/..", "", `".." segment`},
		{"parent after dot slash", "./../x", "", `".." segment`},
		{"parent directory", "../", "", `".." segment`},
		{"backslash", `scans\a.png`, "", "backslash"},
		{"backslash parent", `..\..\x`, "", "backslash"},
		{"drive letter", "C:/Windows/x", "", "drive letter"},
		{"drive letter relative", "c:x.png", "", "drive letter"},
		{"drive letter alone", "D:", "", "drive letter"},
		{"NUL", "a\x00.png", "", "control character (U+0000)"},
		{"newline", "a\n.png", "", "control character (U+000A)"},
		{"tab", "a\t.png", "", "control character (U+0009)"},
		{"escape", "\x1b[31ma.png", "", "control character (U+001B)"},
		{"DEL", "a\x7f.png", "", "control character (U+007F)"},
		{"C1 control", "a\u0085.png", "", "control character (U+0085)"},
		{"C1 CSI", "a\u009b.png", "", "control character (U+009B)"},
		{"right-to-left override", "invoice\u202Egpj.exe", "", "bidirectional control (U+202E)"},
		{"first strong isolate", "a\u2068b.png", "", "bidirectional control (U+2068)"},
		{"invalid UTF-8", "a\xff.png", "", "not valid UTF-8"},
		{"Latin-1 byte", "caf\xe9.png", "", "not valid UTF-8"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := FileName(tc.in)
			if tc.refused == "" {
				if err != nil || got != tc.want {
					t.Fatalf("FileName(%q): got %q, %v, want %q", tc.in, got, err, tc.want)
				}
				return
			}
			var fe *FileNameError
			if !errors.As(err, &fe) || fe.Name != tc.in || !strings.Contains(err.Error(), tc.refused) {
				t.Fatalf("FileName(%q): got %q, %v, want a refusal with %q", tc.in, got, err, tc.refused)
			}
			// The message names the file, quoted, and what to do.
			if !strings.Contains(err.Error(), "file name ") || !strings.Contains(fe.Reason, ": ") {
				t.Fatalf("FileName(%q): got %q, want the name and what to change", tc.in, err)
			}
		})
	}
}

func TestFileKey(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, a, b string
		same       bool
	}{
		{"case", "Scan.png", "scan.png", true},
		{"case in a folder", "SCANS/a.PNG", "scans/a.png", true},
		{"composed and decomposed", "caf\u00e9.png", "cafe\u0301.png", true},
		{"decomposed upper and composed lower", "CAFE\u0301.png", "caf\u00e9.png", true},
		{"sharp s", "straße.png", "STRASSE.png", true},
		{"Greek with marks", "\u0390.png", "\u03b9\u0308\u0301.png", true},
		{"Hindi decomposed nukta", "\u0958.png", "\u0915\u093c.png", true},
		{"different names", "a.png", "b.png", false},
		{"different folders", "x/a.png", "y/a.png", false},
		{"accent matters", "cafe.png", "café.png", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ka, kb := FileKey(tc.a), FileKey(tc.b)
			if (ka == kb) != tc.same {
				t.Fatalf("FileKey(%q) = %q, FileKey(%q) = %q: got same %v, want %v", tc.a, ka, tc.b, kb, ka == kb, tc.same)
			}
		})
	}
}
