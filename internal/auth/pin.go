package auth

import (
	"context"
	"crypto/rand"
	"fmt"
	"math/big"
	"regexp"
	"strings"
)

// A worker signs in to the web desk with a login and a PIN that their
// center manager gives them (a shared PC remembers neither).

// PINDigits is the length of a PIN.
const PINDigits = 6

var loginPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{1,39}$`)

// CheckLogin says what is wrong with a login, or nil: 2 to 40 characters,
// lower-case letters, digits, dots, dashes and underscores, starting with a
// letter or digit.
func CheckLogin(login string) error {
	if !loginPattern.MatchString(login) {
		return fmt.Errorf("login %q: use 2 to 40 lower-case letters, digits, '.', '-' or '_', starting with a letter or digit", login)
	}
	return nil
}

// LoginFromName makes a login from a person's name ("Kavya R" → "kavya.r"),
// or "" when the name has no letters or digits of the Latin alphabet.
func LoginFromName(name string) string {
	var b strings.Builder
	dot := false
	for _, r := range strings.ToLower(name) {
		switch {
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			if dot && b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteRune(r)
			dot = false
		default:
			dot = true
		}
	}
	login := b.String()
	if len(login) > 40 {
		login = login[:40]
	}
	if CheckLogin(login) != nil {
		return ""
	}
	return login
}

// NewPIN draws a PIN uniformly from the PINDigits-digit numbers.
func NewPIN() string {
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	return fmt.Sprintf("%0*d", PINDigits, n.Int64())
}

// IssuePIN gives a worker a login (login "" keeps theirs, or makes one
// from their name) and a fresh PIN, which it returns; their web sessions
// end.
func (s *Service) IssuePIN(ctx context.Context, u User, login string) (string, string, error) {
	if u.Role != string(Worker) {
		return "", "", fmt.Errorf("auth: a PIN is for a worker's desk; %s %q is a %s", "user", u.Name, u.Role)
	}
	return s.issue(ctx, u, login, NewPIN())
}

// IssuePassword gives anyone but a worker (a center manager, say) a login
// and a fresh password for the web pages, which it returns.
func (s *Service) IssuePassword(ctx context.Context, u User, login string) (string, string, error) {
	if u.Role == string(Worker) {
		return "", "", fmt.Errorf("auth: a worker signs in with a PIN (IssuePIN)")
	}
	return s.issue(ctx, u, login, NewPassword())
}

// NewPassword draws a password of 16 random letters and digits in four
// groups (about 80 bits), easy to read out and type.
func NewPassword() string {
	const alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
	var b strings.Builder
	for i := range 16 {
		if i > 0 && i%4 == 0 {
			b.WriteByte('-')
		}
		n, err := rand.Int(rand.Reader, big.NewInt(int64(len(alphabet))))
		if err != nil {
			panic(err)
		}
		b.WriteByte(alphabet[n.Int64()])
	}
	return b.String()
}

func (s *Service) issue(ctx context.Context, u User, login, secret string) (string, string, error) {
	if login == "" {
		old, err := s.Login(ctx, u.ID)
		if err != nil {
			return "", "", err
		}
		login = old
	}
	if login == "" {
		login = LoginFromName(u.Name)
	}
	if login == "" {
		return "", "", fmt.Errorf("auth: cannot make a login from the name %q; give one", u.Name)
	}
	if err := CheckLogin(login); err != nil {
		return "", "", fmt.Errorf("auth: %w", err)
	}
	if err := s.SetSecret(ctx, u.ID, login, secret); err != nil {
		return "", "", err
	}
	return login, secret, nil
}
