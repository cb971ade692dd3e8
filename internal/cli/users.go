package cli

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"newsletter"
	"newsletter/internal/app"
)

func (r *root) usersCmd() *cobra.Command {
	c := &cobra.Command{Use: "users", Short: "Manage the accounts that sign in to the admin pages and the API"}
	c.AddCommand(r.userAddCmd(), r.userLsCmd(), r.userSetRoleCmd(), r.userRmCmd(), r.userTokenCmd(), r.userTokensCmd())
	return c
}

func (r *root) userAddCmd() *cobra.Command {
	var role string
	var stdin bool
	c := &cobra.Command{Use: "add EMAIL --role admin|editor|viewer --password-stdin", Short: "Add an account; the password is read from standard input",
		Args: exactArgs(1, "users add EMAIL --role admin|editor|viewer --password-stdin"),
		PreRunE: func(cmd *cobra.Command, args []string) error {
			if role == "" {
				return newsletter.Errorf(newsletter.EINVALID, "no role given: pass --role admin, --role editor or --role viewer")
			}
			if !stdin {
				return newsletter.Errorf(newsletter.EINVALID, "no password given: pass --password-stdin and write the password on standard input (e.g. `printf %%s \"$PW\" | newsletter users add %s --role %s --password-stdin`)", args[0], role)
			}
			return nil
		},
		RunE: r.withApp(func(cmd *cobra.Command, a *app.App, args []string) error {
			pw, err := r.readPassword()
			if err != nil {
				return err
			}
			acct, err := a.AddAccount(cmd.Context(), args[0], newsletter.Role(role), pw)
			if err != nil {
				return err
			}
			r.printf("added %s account %s\n", acct.Role, acct.Email)
			return nil
		})}
	c.Flags().StringVar(&role, "role", "", "admin, editor or viewer")
	c.Flags().BoolVar(&stdin, "password-stdin", false, "read the password from standard input")
	return c
}

// readPassword reads the password from standard input: all of it, less
// the one line break `echo` adds.
func (r *root) readPassword() (string, error) {
	if r.env.Stdin == nil {
		return "", newsletter.Errorf(newsletter.EINVALID, "standard input is closed: write the password on it")
	}
	b, err := io.ReadAll(io.LimitReader(r.env.Stdin, 4096))
	if err != nil {
		return "", newsletter.Errorf(newsletter.EINVALID, "cannot read the password from standard input: %v", err)
	}
	pw := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
	if pw == "" {
		return "", newsletter.Errorf(newsletter.EINVALID, "standard input was empty: write the password on it (at least %d characters)", app.MinPasswordLen)
	}
	return pw, nil
}

func (r *root) userLsCmd() *cobra.Command {
	c := &cobra.Command{Use: "ls [--json]", Short: "List the accounts", Args: cobra.NoArgs,
		RunE: r.withApp(func(cmd *cobra.Command, a *app.App, args []string) error {
			accts, err := a.Accounts(cmd.Context())
			if err != nil {
				return err
			}
			type user struct {
				newsletter.Account
				Tokens []newsletter.APIToken `json:"tokens"`
			}
			users := make([]user, 0, len(accts))
			for _, acct := range accts {
				toks, err := a.APITokens(cmd.Context(), acct.Email)
				if err != nil {
					return err
				}
				users = append(users, user{Account: acct, Tokens: nonNil(toks)})
			}
			if r.json {
				return r.printJSON(map[string]any{"users": users})
			}
			tw := tabwriter.NewWriter(r.env.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "EMAIL\tROLE\tLANG\tCREATED\tTOKENS")
			for _, u := range users {
				names := make([]string, len(u.Tokens))
				for i, t := range u.Tokens {
					names[i] = t.Name
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", u.Email, u.Role, u.Lang, u.CreatedAt.Local().Format("2006-01-02 15:04"), strings.Join(names, ","))
			}
			return tw.Flush()
		})}
	c.Flags().BoolVar(&r.json, "json", false, "print JSON")
	return c
}

func (r *root) userSetRoleCmd() *cobra.Command {
	return &cobra.Command{Use: "set-role EMAIL ROLE", Short: "Change an account's role (admin, editor or viewer)",
		Args: exactArgs(2, "users set-role EMAIL admin|editor|viewer"),
		RunE: r.withApp(func(cmd *cobra.Command, a *app.App, args []string) error {
			acct, err := a.SetRole(cmd.Context(), args[0], newsletter.Role(args[1]))
			if err != nil {
				return err
			}
			r.printf("%s is now %s\n", acct.Email, acct.Role)
			return nil
		})}
}

func (r *root) userRmCmd() *cobra.Command {
	return &cobra.Command{Use: "rm EMAIL", Short: "Remove an account and its API tokens", Args: exactArgs(1, "users rm EMAIL"),
		RunE: r.withApp(func(cmd *cobra.Command, a *app.App, args []string) error {
			if err := a.RemoveAccount(cmd.Context(), args[0]); err != nil {
				return err
			}
			r.printf("removed account %s\n", args[0])
			return nil
		})}
}

func (r *root) userTokenCmd() *cobra.Command {
	var name, revoke string
	c := &cobra.Command{Use: "token EMAIL [--name N] [--revoke N]", Short: "Print a new API token for an account (shown once), or revoke one",
		Args: exactArgs(1, "users token EMAIL [--name N]"),
		RunE: r.withApp(func(cmd *cobra.Command, a *app.App, args []string) error {
			if revoke != "" {
				if err := a.RevokeAPIToken(cmd.Context(), args[0], revoke); err != nil {
					return err
				}
				r.printf("revoked token %s of %s\n", revoke, args[0])
				return nil
			}
			tok, err := a.NewAPIToken(cmd.Context(), args[0], name)
			if err != nil {
				return err
			}
			r.printf("%s\n", tok)
			fmt.Fprintf(r.env.Stderr, "This token is shown once: keep it in a secret store. Use it as Authorization: Bearer TOKEN.\n")
			return nil
		})}
	c.Flags().StringVar(&name, "name", "", "a name to tell the account's tokens apart (default: token-DATE-TIME)")
	c.Flags().StringVar(&revoke, "revoke", "", "revoke the token with this name instead")
	return c
}

func (r *root) userTokensCmd() *cobra.Command {
	c := &cobra.Command{Use: "tokens EMAIL [--json]", Short: "List an account's API tokens by name", Args: exactArgs(1, "users tokens EMAIL"),
		RunE: r.withApp(func(cmd *cobra.Command, a *app.App, args []string) error {
			toks, err := a.APITokens(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if r.json {
				return r.printJSON(map[string]any{"tokens": nonNil(toks)})
			}
			for _, t := range toks {
				r.printf("%s\t%s\n", t.Name, t.CreatedAt.Local().Format("2006-01-02 15:04"))
			}
			return nil
		})}
	c.Flags().BoolVar(&r.json, "json", false, "print JSON")
	return c
}
