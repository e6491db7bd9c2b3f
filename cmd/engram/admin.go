package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/engram-kb/engram"
	"github.com/engram-kb/engram/jobs"
)

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func migrateCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("migrate", "migrate up|down|status [--db URL]", stderr)
	var db dbFlags
	db.register(fs, false)
	if len(args) == 0 || (args[0] != "up" && args[0] != "down" && args[0] != "status") {
		return subcommandHelp(fs, args, stdout, "migrate needs one of up, down, status")
	}
	action := args[0]
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	st, err := db.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	// engram's migrations, then River's (see jobs.Migrator).
	s, err := jobs.NewMigrator(st, st.river)
	if err != nil {
		return err
	}
	switch action {
	case "up":
		applied, err := s.MigrateUp(ctx)
		for _, name := range applied {
			fmt.Fprintln(stdout, "applied", name)
		}
		if err == nil && len(applied) == 0 {
			fmt.Fprintln(stdout, "no pending migrations")
		}
		return err
	case "down":
		name, err := s.MigrateDown(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, "rolled back", name)
		return nil
	default:
		st, err := s.MigrationStatus(ctx)
		if err != nil {
			return err
		}
		for _, m := range st {
			state := "pending"
			if m.Applied {
				state = "applied"
				if m.AppliedAt != nil {
					state += " " + m.AppliedAt.Format("2006-01-02 15:04:05Z")
				}
			}
			fmt.Fprintf(stdout, "%-56s %s\n", m.Name, state)
		}
		return nil
	}
}

func tenantCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("tenant", "tenant create --name NAME [--slug SLUG] [--db URL]", stderr)
	var db dbFlags
	db.register(fs, false)
	name := fs.String("name", "", "the tenant's display name (required)")
	slug := fs.String("slug", "", "the tenant's slug, lowercase letters, digits and dashes (default: made from the name)")
	if len(args) == 0 || args[0] != "create" {
		return subcommandHelp(fs, args, stdout, "tenant needs the subcommand create")
	}
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	if *name == "" {
		fs.Usage()
		return fmt.Errorf("--name is required")
	}
	if *slug == "" {
		*slug = engram.Slugify(*name)
	}
	s, err := db.open(ctx)
	if err != nil {
		return err
	}
	defer s.Close()
	if err := ensureMigrated(ctx, s); err != nil {
		return err
	}
	t, key, err := s.CreateTenant(ctx, *name, *slug)
	if err != nil {
		return cliError(err)
	}
	return writeJSON(stdout, map[string]string{"tenant_id": t.ID, "slug": t.Slug, "api_key": key.Secret})
}

func apikeyCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("apikey", "apikey create --tenant SLUG --role admin|member|viewer [--name N] [--expires 90d|RFC3339] [--db URL]\n       engram apikey list --tenant SLUG [--db URL]\n       engram apikey revoke KEY_ID --tenant SLUG [--db URL]", stderr)
	var db dbFlags
	db.register(fs, false)
	tenant := fs.String("tenant", "", "the tenant's slug (required)")
	role := fs.String("role", "", "create: admin, member or viewer (required)")
	name := fs.String("name", "", "create: a label for the key")
	expires := fs.String("expires", "", "create: when the key stops working, as a duration from now (90d, 12h) or an RFC 3339 time; default never")
	if len(args) == 0 || (args[0] != "create" && args[0] != "list" && args[0] != "revoke") {
		return subcommandHelp(fs, args, stdout, "apikey needs the subcommand create, list or revoke")
	}
	sub, rest := args[0], args[1:]
	var keyID string
	if sub == "revoke" {
		if len(rest) == 0 || strings.HasPrefix(rest[0], "-") {
			fs.Usage()
			return fmt.Errorf("apikey revoke needs the key's id")
		}
		keyID, rest = rest[0], rest[1:]
	}
	if err := parse(fs, rest); err != nil {
		return err
	}
	if *tenant == "" || (sub == "create" && *role == "") {
		fs.Usage()
		if sub == "create" {
			return fmt.Errorf("--tenant and --role are required")
		}
		return fmt.Errorf("--tenant is required")
	}
	var expiresAt *time.Time
	if *expires != "" {
		t, err := parseExpiry(*expires, time.Now())
		if err != nil {
			return err
		}
		expiresAt = &t
	}
	s, err := db.open(ctx)
	if err != nil {
		return err
	}
	defer s.Close()
	if err := ensureMigrated(ctx, s); err != nil {
		return err
	}
	switch sub {
	case "create":
		key, err := s.CreateAPIKey(ctx, *tenant, engram.Role(*role), *name, expiresAt)
		if err != nil {
			return cliError(err)
		}
		out := map[string]any{"id": key.ID, "api_key": key.Secret, "role": string(key.Role)}
		if key.ExpiresAt != nil {
			out["expires_at"] = key.ExpiresAt.Format(time.RFC3339)
		}
		return writeJSON(stdout, out)
	}
	tn, err := s.TenantBySlug(ctx, *tenant)
	if err != nil {
		return cliError(err)
	}
	if sub == "list" {
		keys, err := s.ListAPIKeys(ctx, tn.ID)
		if err != nil {
			return cliError(err)
		}
		return writeJSON(stdout, map[string]any{"api_keys": keys})
	}
	if err := s.RevokeAPIKey(ctx, tn.ID, "", keyID); err != nil {
		return cliError(err)
	}
	return writeJSON(stdout, map[string]any{"id": keyID, "revoked": true})
}

// parseExpiry reads --expires: a duration from now in days or Go's units
// (90d, 36h), or an RFC 3339 time.
func parseExpiry(v string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	if d, ok := strings.CutSuffix(v, "d"); ok {
		if n, err := strconv.Atoi(d); err == nil && n > 0 {
			return now.AddDate(0, 0, n), nil
		}
	}
	if d, err := time.ParseDuration(v); err == nil && d > 0 {
		return now.Add(d), nil
	}
	return time.Time{}, fmt.Errorf("--expires %q: give a duration from now (90d, 36h) or an RFC 3339 time", v)
}

// subcommandHelp prints help when asked for it, else reports the missing
// subcommand.
func subcommandHelp(fs *flag.FlagSet, args []string, stdout io.Writer, msg string) error {
	if len(args) > 0 && (args[0] == "--help" || args[0] == "-h" || args[0] == "-help") {
		fs.SetOutput(stdout)
		fs.Usage()
		return nil
	}
	fs.Usage()
	return fmt.Errorf("%s", msg)
}

// openForTenant opens the migrated store and finds the tenant named by
// --tenant (required), for the commands that work on one tenant.
func openForTenant(ctx context.Context, fs *flag.FlagSet, db dbFlags, slug string) (*store, engram.Tenant, error) {
	if slug == "" {
		fs.Usage()
		return nil, engram.Tenant{}, fmt.Errorf("--tenant is required")
	}
	s, err := db.open(ctx)
	if err != nil {
		return nil, engram.Tenant{}, err
	}
	if err := ensureMigrated(ctx, s); err != nil {
		s.Close()
		return nil, engram.Tenant{}, err
	}
	t, err := s.TenantBySlug(ctx, slug)
	if err != nil {
		s.Close()
		return nil, engram.Tenant{}, cliError(err)
	}
	return s, t, nil
}

// pendingChecker reports pending migrations.
type pendingChecker interface {
	MigrationsPending(ctx context.Context) (bool, error)
}

// ensureMigrated refuses to work on a database whose schema is behind.
func ensureMigrated(ctx context.Context, s pendingChecker) error {
	pending, err := s.MigrationsPending(ctx)
	if err != nil {
		return err
	}
	if pending {
		return fmt.Errorf("the database has pending migrations; run `engram migrate up` (or start `engram serve`) first")
	}
	return nil
}

// cliError shows an engram error's message without its code prefix.
func cliError(err error) error {
	if c := engram.ErrorCode(err); c != engram.EInternal {
		return fmt.Errorf("%s", engram.ErrorMessage(err))
	}
	return err
}
