//go:build unix

package center

import (
	"crypto/rand"
	"os"
	"syscall"
)

var cryptoRead = rand.Read

// sameFilesystem reports whether a and b are on one filesystem.
func sameFilesystem(a, b string) (bool, error) {
	fa, err := os.Stat(a)
	if err != nil {
		return false, err
	}
	fb, err := os.Stat(b)
	if err != nil {
		return false, err
	}
	sa, ok1 := fa.Sys().(*syscall.Stat_t)
	sb, ok2 := fb.Sys().(*syscall.Stat_t)
	return ok1 && ok2 && sa.Dev == sb.Dev, nil
}
