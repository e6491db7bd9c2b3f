package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/engram-kb/engram"
)

// userCmd makes accounts and resets passwords from the server's own
// machine: the way in when sign-up is closed, and when someone is locked
// out.
func userCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("user", "user create --tenant SLUG --email E --role admin|member|viewer [--full-name N] [--invite] [--url URL] [--db URL]\n       engram user reset-password --email E [--db URL]", stderr)
	var db dbFlags
	db.register(fs, false)
	tenant := fs.String("tenant", "", "create: the tenant's slug (required)")
	email := fs.String("email", "", "the user's email (required)")
	role := fs.String("role", "", "create: admin, member or viewer (required)")
	fullName := fs.String("full-name", "", "create: the user's name")
	invite := fs.Bool("invite", false, "create: print an invitation link (valid 7 days) instead of making the account with a password; the server must run with --signup invite or open")
	base := fs.String("url", env("ENGRAM_URL", "http://127.0.0.1:8080"), "create --invite: the server's address, for the link (ENGRAM_URL)")
	if len(args) == 0 || (args[0] != "create" && args[0] != "reset-password") {
		return subcommandHelp(fs, args, stdout, "user needs the subcommand create or reset-password")
	}
	sub := args[0]
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	if *email == "" || (sub == "create" && (*tenant == "" || *role == "")) {
		fs.Usage()
		if sub == "create" {
			return fmt.Errorf("--tenant, --email and --role are required")
		}
		return fmt.Errorf("--email is required")
	}
	s, err := db.open(ctx)
	if err != nil {
		return err
	}
	defer s.Close()
	if err := ensureMigrated(ctx, s); err != nil {
		return err
	}
	if sub == "reset-password" {
		u, pw, err := s.ResetPassword(ctx, *email)
		if err != nil {
			return cliError(err)
		}
		return writeJSON(stdout, map[string]string{"user_id": u.ID, "email": u.Email, "role": string(u.Role), "password": pw})
	}
	if *invite {
		inv, err := s.InviteBySlug(ctx, *tenant, *email, engram.Role(*role))
		if err != nil {
			return cliError(err)
		}
		return writeJSON(stdout, map[string]string{"invitation_id": inv.ID, "email": inv.Email, "role": string(inv.Role),
			"token": inv.Token, "invite_url": strings.TrimRight(*base, "/") + "/accept-invite?token=" + inv.Token,
			"expires_at": inv.ExpiresAt.Format("2006-01-02T15:04:05Z07:00")})
	}
	u, pw, err := s.CreateUser(ctx, *tenant, *email, engram.Role(*role), *fullName)
	if err != nil {
		return cliError(err)
	}
	return writeJSON(stdout, map[string]string{"user_id": u.ID, "email": u.Email, "role": string(u.Role), "password": pw})
}
