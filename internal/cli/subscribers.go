package cli

import (
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"newsletter"
	"newsletter/internal/app"
)

func (r *root) subscribersCmd() *cobra.Command {
	c := &cobra.Command{Use: "subscribers", Short: "Import, export and manage subscribers"}
	c.AddCommand(r.subscriberImportCmd(), r.subscriberExportCmd(), r.subscriberAddCmd(), r.subscriberUpdateCmd(),
		r.subscriberRemoveCmd(), r.subscriberSearchCmd(), r.subscriberShowCmd(), r.subscriberBlockCmd(),
		r.subscriberCountsCmd(), r.subscriberExportPersonCmd(), r.subscriberEraseCmd())
	return c
}

// needList is the PreRunE of commands that act on one list.
func needList(list *string, hint string) func(*cobra.Command, []string) error {
	return func(*cobra.Command, []string) error {
		if *list == "" {
			return newsletter.Errorf(newsletter.EINVALID, "no list given: pass --list SLUG%s", hint)
		}
		return nil
	}
}

func (r *root) subscriberImportCmd() *cobra.Command {
	var list, mode string
	var override bool
	c := &cobra.Command{Use: "import --list SLUG FILE.csv", Short: "Import a CSV (header: email,name[,organisation,...]; ; or , separated)",
		Args: exactArgs(1, "subscribers import --list SLUG FILE.csv"),
		PreRunE: func(cmd *cobra.Command, args []string) error {
			if err := needList(&list, " (see `newsletter lists ls`)")(cmd, args); err != nil {
				return err
			}
			if mode != string(newsletter.ImportAdd) && mode != string(newsletter.ImportUpdate) {
				return newsletter.Errorf(newsletter.EINVALID, "--mode %q is unknown: use add (never change existing subscribers) or update", mode)
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := os.Open(args[0])
			if err != nil {
				return newsletter.Errorf(newsletter.EINVALID, "cannot open %s: %v", args[0], err)
			}
			defer f.Close()
			return r.withApp(func(cmd *cobra.Command, a *app.App, args []string) error {
				rep, err := a.Import(cmd.Context(), list, f, newsletter.ImportOptions{Mode: newsletter.ImportMode(mode), Override: override})
				if err != nil {
					return err
				}
				if r.json {
					return r.printJSON(rep)
				}
				r.printf("%s: %d imported, %d updated, %d unchanged, %d rejected\n", list, rep.Imported, rep.Updated, rep.Unchanged, len(rep.Rejected))
				if rep.ToConfirm > 0 {
					r.printf("%d asked to confirm by email (a double opt-in list, or they had opted out): not mailed until they do\n", rep.ToConfirm)
				}
				for _, rj := range rep.Rejected {
					r.printf("  line %d: %s\n", rj.Line, rj.Reason)
				}
				return nil
			})(cmd, args)
		}}
	c.Flags().StringVar(&list, "list", "", "target list slug")
	c.Flags().StringVar(&mode, "mode", "add", "add (new only) or update (also update names and attributes)")
	c.Flags().BoolVar(&override, "override", false, "re-admit addresses that bounced, complained, were blocklisted or erased (only with their new consent); addresses that unsubscribed are asked to confirm by email instead")
	c.Flags().BoolVar(&r.json, "json", false, "print the report as JSON")
	return c
}

func (r *root) subscriberExportCmd() *cobra.Command {
	var list string
	c := &cobra.Command{Use: "export [--list SLUG]", Short: "Export subscribers as CSV on stdout", Args: cobra.NoArgs,
		RunE: r.withApp(func(cmd *cobra.Command, a *app.App, args []string) error {
			return a.Export(cmd.Context(), list, r.env.Stdout)
		})}
	c.Flags().StringVar(&list, "list", "", "only this list")
	return c
}

func (r *root) subscriberAddCmd() *cobra.Command {
	var list, name, org string
	var attrs []string
	var override bool
	c := &cobra.Command{Use: "add ADDR --list SLUG [--name N] [--organisation O] [--attr k=v]...", Short: "Add a subscriber to a list",
		Args:    exactArgs(1, "subscribers add ADDR --list SLUG"),
		PreRunE: needList(&list, " (see `newsletter lists ls`)"),
		RunE: r.withApp(func(cmd *cobra.Command, a *app.App, args []string) error {
			kv, err := parseAttrs(attrs, false)
			if err != nil {
				return err
			}
			res, err := a.AddSubscriber(cmd.Context(), list, app.AddInput{Email: args[0], Name: name, Organisation: org, Attributes: kv, Override: override})
			if err != nil {
				return err
			}
			if r.json {
				return r.printJSON(res)
			}
			r.printf("%s on %s: %s (%s)\n", res.Email, res.List, res.Membership, res.Outcome)
			if res.Membership == newsletter.MemberUnconfirmed {
				r.printf("a confirmation email was queued; %s is not mailed until it confirms\n", res.Email)
			}
			return nil
		})}
	c.Flags().StringVar(&list, "list", "", "list slug")
	c.Flags().StringVar(&name, "name", "", "name")
	c.Flags().StringVar(&org, "organisation", "", "organisation")
	c.Flags().StringArrayVar(&attrs, "attr", nil, "attribute key=value (repeatable)")
	c.Flags().BoolVar(&override, "override", false, "re-admit an address that bounced, complained, was blocklisted or erased (only with new consent); one that unsubscribed is asked to confirm by email instead")
	c.Flags().BoolVar(&r.json, "json", false, "print JSON")
	return c
}

func (r *root) subscriberUpdateCmd() *cobra.Command {
	var name, org, status string
	var attrs []string
	c := &cobra.Command{Use: "update ADDR [--name N] [--organisation O] [--attr k=v] [--status active|unsubscribed]", Short: "Change a subscriber (--attr k= removes k)",
		Args:       exactArgs(1, "subscribers update ADDR --name N"),
		SuggestFor: []string{"unsubscribe", "resubscribe", "edit", "set"},
		RunE: r.withApp(func(cmd *cobra.Command, a *app.App, args []string) error {
			var u newsletter.SubscriberUpdate
			if cmd.Flags().Changed("name") {
				u.Name = &name
			}
			if cmd.Flags().Changed("organisation") {
				u.Organisation = &org
			}
			if cmd.Flags().Changed("status") {
				st := newsletter.SubscriberStatus(status)
				u.Status = &st
			}
			var err error
			if u.Attributes, err = parseAttrs(attrs, true); err != nil {
				return err
			}
			return a.UpdateSubscriber(cmd.Context(), args[0], u)
		})}
	c.Flags().StringVar(&name, "name", "", "name")
	c.Flags().StringVar(&org, "organisation", "", "organisation")
	c.Flags().StringArrayVar(&attrs, "attr", nil, "attribute key=value; key= removes it (repeatable)")
	c.Flags().StringVar(&status, "status", "", "global status: unsubscribed (on the person's behalf), or active to lift a block (an opt-out is undone only by the person)")
	return c
}

func (r *root) subscriberRemoveCmd() *cobra.Command {
	var list string
	c := &cobra.Command{Use: "remove ADDR --list SLUG", Short: "Take an address off a list (an admin correction, not an opt-out)",
		Args:       exactArgs(1, "subscribers remove ADDR --list SLUG"),
		SuggestFor: []string{"rm", "delete"},
		PreRunE:    needList(&list, "; to delete everything about the address use `newsletter subscribers erase ADDR`"),
		RunE: r.withApp(func(cmd *cobra.Command, a *app.App, args []string) error {
			return a.RemoveMembership(cmd.Context(), args[0], list)
		})}
	c.Flags().StringVar(&list, "list", "", "list slug")
	return c
}

func (r *root) subscriberSearchCmd() *cobra.Command {
	var limit int
	var cursor string
	c := &cobra.Command{Use: "search QUERY [--limit N] [--cursor C] [--json]", Short: "Find subscribers by address, name or organisation",
		Args:       exactArgs(1, "subscribers search QUERY (use \"\" for everyone)"),
		SuggestFor: []string{"ls", "list", "find"},
		RunE: r.withApp(func(cmd *cobra.Command, a *app.App, args []string) error {
			res, err := a.SearchSubscribers(cmd.Context(), args[0], limit, cursor)
			if err != nil {
				return err
			}
			if r.json {
				return r.printJSON(res)
			}
			tw := tabwriter.NewWriter(r.env.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "EMAIL\tNAME\tORGANISATION\tSTATUS\tLISTS")
			for _, h := range res.Subscribers {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", h.Email, h.Name, h.Organisation, h.Status, membershipLine(h.Lists))
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			if res.NextCursor != "" {
				r.printf("more: --cursor %s\n", res.NextCursor)
			}
			return nil
		})}
	c.Flags().IntVar(&limit, "limit", 50, "results per page (at most 1000)")
	c.Flags().StringVar(&cursor, "cursor", "", "next_cursor of the previous page")
	c.Flags().BoolVar(&r.json, "json", false, "print JSON")
	return c
}

func (r *root) subscriberShowCmd() *cobra.Command {
	c := &cobra.Command{Use: "show ADDR [--json]", Short: "Show one subscriber", Args: exactArgs(1, "subscribers show ADDR"),
		RunE: r.withApp(func(cmd *cobra.Command, a *app.App, args []string) error {
			d, err := a.ShowSubscriber(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if r.json {
				return r.printJSON(d)
			}
			s := d.Subscriber
			r.printf("email:        %s\nname:         %s\norganisation: %s\nstatus:       %s\nlists:        %s\n", s.Email, s.Name, s.Organisation, s.Status, membershipLine(d.Lists))
			for _, k := range slices.Sorted(maps.Keys(s.Attributes)) {
				r.printf("attr %s: %s\n", k, s.Attributes[k])
			}
			if d.Suppressed != nil {
				r.printf("suppressed:   %s (%s)\n", d.Suppressed.Reason, d.Suppressed.Detail)
			}
			return nil
		})}
	c.Flags().BoolVar(&r.json, "json", false, "print JSON")
	return c
}

func (r *root) subscriberBlockCmd() *cobra.Command {
	var reason string
	c := &cobra.Command{Use: "block ADDR --reason R", Short: "Blocklist an address (never mailed, never re-imported without override)",
		Args: exactArgs(1, "subscribers block ADDR --reason R"),
		RunE: r.withApp(func(cmd *cobra.Command, a *app.App, args []string) error {
			return a.Block(cmd.Context(), args[0], reason)
		})}
	c.Flags().StringVar(&reason, "reason", "", "why (kept in the audit log)")
	return c
}

func (r *root) subscriberCountsCmd() *cobra.Command {
	c := &cobra.Command{Use: "counts [--json]", Short: "Count subscribers per status and per list", Args: cobra.NoArgs,
		RunE: r.withApp(func(cmd *cobra.Command, a *app.App, args []string) error {
			c, err := a.Counts(cmd.Context())
			if err != nil {
				return err
			}
			if r.json {
				return r.printJSON(c)
			}
			sc := c.Subscribers
			r.printf("subscribers: %d total, %d active, %d unsubscribed, %d blocklisted; %d suppressed, %d erased\n",
				sc.Total, sc.Active, sc.Unsubscribed, sc.Blocklisted, sc.Suppressed, sc.Erased)
			for _, slug := range slices.Sorted(maps.Keys(c.Lists)) {
				l := c.Lists[slug]
				r.printf("  %-20s %d subscribed, %d unconfirmed, %d unsubscribed\n", slug, l.Subscribed, l.Unconfirmed, l.Unsubscribed)
			}
			return nil
		})}
	c.Flags().BoolVar(&r.json, "json", false, "print JSON")
	return c
}

func (r *root) subscriberExportPersonCmd() *cobra.Command {
	return &cobra.Command{Use: "export-person ADDR", Short: "Print everything stored about one address as JSON (AVG/GDPR access request)",
		Args: exactArgs(1, "subscribers export-person ADDR"),
		RunE: r.withApp(func(cmd *cobra.Command, a *app.App, args []string) error {
			pd, err := a.PersonalData(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return r.printJSON(pd)
		})}
}

func (r *root) subscriberEraseCmd() *cobra.Command {
	var block bool
	c := &cobra.Command{Use: "erase ADDR [--block]", Short: "Erase everything about one address, keeping only its hash (AVG/GDPR)",
		Args: exactArgs(1, "subscribers erase ADDR"),
		RunE: r.withApp(func(cmd *cobra.Command, a *app.App, args []string) error {
			rep, err := a.Erase(cmd.Context(), args[0], block)
			if err != nil {
				return err
			}
			if r.json {
				return r.printJSON(rep)
			}
			r.printf("erased (hash %s): %d keys, %d list sets, %d editions, %d message ids, %d audit lines hashed, %d stream entries trimmed\n",
				rep.Hash, rep.KeysDeleted, rep.SetsLeft, rep.EditionsCleaned, rep.MessageIDs, rep.AuditLinesHashed, rep.StreamTrimmed)
			for k, n := range rep.PendingStreamEntries {
				r.printf("  %d unprocessed entries of %s still mention the address; run erase again when the workers are idle\n", n, k)
			}
			return nil
		})}
	c.Flags().BoolVar(&block, "block", false, "also when the address is not stored: record it as erased, so it is never mailed or imported")
	c.Flags().BoolVar(&r.json, "json", false, "print JSON")
	return c
}

// parseAttrs reads --attr k=v flags; allowEmpty lets k= mean "remove k".
func parseAttrs(kvs []string, allowEmpty bool) (map[string]string, error) {
	out := map[string]string{}
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" || (v == "" && !allowEmpty) {
			return nil, newsletter.Errorf(newsletter.EINVALID, "--attr %q is not key=value: write e.g. --attr regio=utrecht", kv)
		}
		out[k] = v
	}
	return out, nil
}

func membershipLine(m map[string]newsletter.MembershipStatus) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, k+"="+string(m[k]))
	}
	return strings.Join(parts, " ")
}
