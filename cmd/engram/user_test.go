package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestUserCommands: `engram user create` prints one JSON object with a
// generated password, `--invite` an invitation link instead, and `user
// reset-password` a new password in the same shape; mistakes are refused
// with a message.
func TestUserCommands(t *testing.T) {
	t.Parallel()
	for engine, db := range databases(t) {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			if _, stderr, err := runEngram(t, "migrate", "up", "--db", db); err != nil {
				t.Fatalf("migrate: %v\n%s", err, stderr)
			}
			if _, stderr, err := runEngram(t, "tenant", "create", "--name", "Acme", "--db", db); err != nil {
				t.Fatalf("tenant create: %v\n%s", err, stderr)
			}
			decode := func(out string) map[string]string {
				t.Helper()
				var m map[string]string
				if err := json.Unmarshal([]byte(out), &m); err != nil {
					t.Fatalf("output is not one JSON object of strings: %v\n%s", err, out)
				}
				return m
			}
			out, stderr, err := runEngram(t, "user", "create", "--tenant", "acme", "--email", "Ada@Example.com", "--role", "admin", "--full-name", "Ada", "--db", db)
			if err != nil {
				t.Fatalf("user create: %v\n%s", err, stderr)
			}
			created := decode(out)
			if created["email"] != "ada@example.com" || created["role"] != "admin" || len(created["password"]) < 20 || created["user_id"] == "" || len(created) != 4 {
				t.Fatalf("user create printed %v", created)
			}
			out, stderr, err = runEngram(t, "user", "reset-password", "--email", "ada@example.com", "--db", db)
			if err != nil {
				t.Fatalf("reset-password: %v\n%s", err, stderr)
			}
			reset := decode(out)
			if reset["user_id"] != created["user_id"] || reset["password"] == created["password"] || len(reset) != 4 {
				t.Fatalf("reset-password printed %v", reset)
			}
			out, stderr, err = runEngram(t, "user", "create", "--tenant", "acme", "--email", "bob@example.com", "--role", "viewer", "--invite", "--url", "https://kb.example.com", "--db", db)
			if err != nil {
				t.Fatalf("user create --invite: %v\n%s", err, stderr)
			}
			if inv := decode(out); !strings.HasPrefix(inv["invite_url"], "https://kb.example.com/accept-invite?token=egi_") || inv["role"] != "viewer" {
				t.Fatalf("user create --invite printed %v", inv)
			}
			for _, c := range []struct {
				args []string
				want string
			}{
				{[]string{"user", "create", "--tenant", "acme", "--email", "ada@example.com", "--role", "admin"}, "already has an account"},
				{[]string{"user", "create", "--tenant", "nope", "--email", "c@example.com", "--role", "admin"}, "no tenant"},
				{[]string{"user", "create", "--tenant", "acme", "--email", "c@example.com", "--role", "owner"}, "role"},
				{[]string{"user", "reset-password", "--email", "nobody@example.com"}, "no active user"},
				{[]string{"user", "create", "--email", "c@example.com"}, "--tenant, --email and --role are required"},
			} {
				_, stderr, err := runEngram(t, append(c.args, "--db", db)...)
				if err == nil || !strings.Contains(stderr, c.want) {
					t.Errorf("engram %v: %v, stderr %q; want an error naming %q", c.args, err, stderr, c.want)
				}
			}
		})
	}
}
