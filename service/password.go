package service

import (
	"bufio"
	"crypto/rand"
	"crypto/subtle"
	_ "embed"
	"encoding/base64"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/engram-kb/engram"
	"golang.org/x/crypto/argon2"
)

// PasswordParams are argon2id's costs. They are stored with every hash,
// so raising them here upgrades each user's hash at their next sign-in.
type PasswordParams struct {
	// Memory in KiB.
	Memory  uint32
	Time    uint32
	Threads uint8
}

// DefaultPasswordParams are OWASP's argon2id minimum: 19 MiB, two passes,
// one thread.
var DefaultPasswordParams = PasswordParams{Memory: 19 * 1024, Time: 2, Threads: 1}

// Password rules.
const (
	MinPasswordLength = 10
	maxPasswordBytes  = 1024
	saltBytes         = 16
	hashBytes         = 32
)

// hashPassword returns pw's argon2id hash in the PHC string format, with
// a new random salt and p's parameters.
func hashPassword(pw string, p PasswordParams) string {
	salt := make([]byte, saltBytes)
	_, _ = rand.Read(salt)
	sum := argon2.IDKey([]byte(pw), salt, p.Time, p.Memory, p.Threads, hashBytes)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads,
		b64.EncodeToString(salt), b64.EncodeToString(sum))
}

// checkPassword reports whether pw matches the hash, comparing in
// constant time, and the parameters the hash was made with. A hash that
// does not parse matches nothing.
func checkPassword(pw, hash string) (bool, PasswordParams) {
	var p PasswordParams
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, p
	}
	var v int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return false, p
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil ||
		p.Time == 0 || p.Threads == 0 || p.Memory < 8*uint32(p.Threads) {
		return false, p
	}
	b64 := base64.RawStdEncoding
	salt, err1 := b64.DecodeString(parts[4])
	want, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 {
		return false, p
	}
	got := argon2.IDKey([]byte(pw), salt, p.Time, p.Memory, p.Threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, p
}

// weaker reports whether a hash made with p is cheaper than want.
func (p PasswordParams) weaker(want PasswordParams) bool {
	return p.Memory < want.Memory || p.Time < want.Time || p.Threads < want.Threads
}

//go:embed common_passwords.txt
var commonPasswordList string

// commonPasswords is the set of refused passwords, lowercased.
var commonPasswords = func() map[string]bool {
	m := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(commonPasswordList))
	for sc.Scan() {
		if w := strings.TrimSpace(sc.Text()); w != "" && !strings.HasPrefix(w, "#") {
			m[strings.ToLower(w)] = true
		}
	}
	return m
}()

// validatePassword checks a new password: long enough, not too long to
// hash, not one of the most common passwords, and not the email.
func validatePassword(field, pw, email string) error {
	if n := utf8.RuneCountInString(pw); n < MinPasswordLength {
		return engram.Errorf(engram.EInvalid, "%s: at least %d characters", field, MinPasswordLength)
	}
	if len(pw) > maxPasswordBytes {
		return engram.Errorf(engram.EInvalid, "%s: at most %d bytes", field, maxPasswordBytes)
	}
	lower := strings.ToLower(pw)
	if commonPasswords[lower] {
		return engram.Errorf(engram.EInvalid, "%s: this is one of the most common passwords; choose another", field)
	}
	if email != "" && (lower == email || lower == strings.SplitN(email, "@", 2)[0]) {
		return engram.Errorf(engram.EInvalid, "%s: must not be the email address", field)
	}
	return nil
}

// generatePassword returns a strong random password (120 bits) for the
// command line's new users and resets.
func generatePassword() string {
	var b [15]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}
