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
	"newsletter/internal/address"
	"newsletter/internal/app"
)

func (r *root) listsCmd() *cobra.Command {
	c := &cobra.Command{Use: "lists", Short: "Manage partner lists"}
	var name, desc string
	var doi bool
	create := &cobra.Command{Use: "create SLUG", Short: "Create a list", Args: exactArgs(1, "lists create SLUG --name NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			a, err := r.open(cmd.Context(), app.Need{})
			if err != nil {
				return err
			}
			defer a.Close()
			if err := a.Store.CreateList(cmd.Context(), newsletter.List{Slug: args[0], Name: name, Description: desc, DoubleOptIn: doi}); err != nil {
				return err
			}
			if r.json {
				l, err := a.Store.GetList(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				return r.printJSON(l)
			}
			r.printf("created list %s\n", args[0])
			return nil
		}}
	create.Flags().StringVar(&name, "name", "", "display name")
	create.Flags().StringVar(&desc, "description", "", "what the list is for")
	create.Flags().BoolVar(&doi, "double-opt-in", false, "new members must confirm by email")
	create.Flags().BoolVar(&r.json, "json", false, "print JSON")

	ls := &cobra.Command{Use: "ls", Short: "List the lists", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			a, err := r.open(cmd.Context(), app.Need{})
			if err != nil {
				return err
			}
			defer a.Close()
			lists, err := a.Store.Lists(cmd.Context())
			if err != nil {
				return err
			}
			if r.json {
				return r.printJSON(map[string]any{"lists": nonNil(lists)})
			}
			tw := tabwriter.NewWriter(r.env.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "SLUG\tNAME\tSUBSCRIBED\tUNCONFIRMED\tUNSUBSCRIBED\tDOUBLE OPT-IN")
			for _, l := range lists {
				fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%s\n", l.Slug, l.Name, l.Counts.Subscribed, l.Counts.Unconfirmed, l.Counts.Unsubscribed, yesNo(l.DoubleOptIn))
			}
			return tw.Flush()
		}}
	ls.Flags().BoolVar(&r.json, "json", false, "print JSON")

	var newName string
	rename := &cobra.Command{Use: "rename SLUG --name NAME", Short: "Rename a list", Args: exactArgs(1, "lists rename SLUG --name NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			a, err := r.open(cmd.Context(), app.Need{})
			if err != nil {
				return err
			}
			defer a.Close()
			return a.Store.UpdateList(cmd.Context(), args[0], &newName, nil, nil)
		}}
	rename.Flags().StringVar(&newName, "name", "", "new display name")
	del := &cobra.Command{Use: "delete SLUG", Short: "Delete a list (history is kept)", Args: exactArgs(1, "lists delete SLUG"),
		RunE: func(cmd *cobra.Command, args []string) error {
			a, err := r.open(cmd.Context(), app.Need{})
			if err != nil {
				return err
			}
			defer a.Close()
			return a.Store.DeleteList(cmd.Context(), args[0])
		}}
	c.AddCommand(create, ls, rename, del)
	c.AddCommand(r.listAdminCommands()...)
	return c
}

func (r *root) subscribersCmd() *cobra.Command {
	c := &cobra.Command{Use: "subscribers", Short: "Import and export subscribers"}
	var list, mode string
	var override bool
	imp := &cobra.Command{Use: "import --list SLUG FILE.csv", Short: "Import a CSV (header: email,name[,organisation,...]; ; or , separated)",
		Args: exactArgs(1, "subscribers import --list SLUG FILE.csv"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if list == "" {
				return newsletter.Errorf(newsletter.EINVALID, "no list given: pass --list SLUG (see `newsletter lists ls`)")
			}
			if mode != string(newsletter.ImportAdd) && mode != string(newsletter.ImportUpdate) {
				return newsletter.Errorf(newsletter.EINVALID, "--mode %q is unknown: use add (never change existing subscribers) or update", mode)
			}
			f, err := os.Open(args[0])
			if err != nil {
				return newsletter.Errorf(newsletter.EINVALID, "cannot open %s: %v", args[0], err)
			}
			defer f.Close()
			a, err := r.open(cmd.Context(), app.Need{})
			if err != nil {
				return err
			}
			defer a.Close()
			rep, err := a.Import(cmd.Context(), list, f, newsletter.ImportOptions{Mode: newsletter.ImportMode(mode), Override: override})
			if err != nil {
				return err
			}
			if r.json {
				return r.printJSON(rep)
			}
			r.printf("%s: %d imported, %d updated, %d unchanged, %d rejected\n", list, rep.Imported, rep.Updated, rep.Unchanged, len(rep.Rejected))
			for _, rj := range rep.Rejected {
				r.printf("  line %d: %s\n", rj.Line, rj.Reason)
			}
			return nil
		}}
	imp.Flags().StringVar(&list, "list", "", "target list slug")
	imp.Flags().StringVar(&mode, "mode", "add", "add (new only) or update (also update names and attributes)")
	imp.Flags().BoolVar(&override, "override", false, "re-subscribe addresses that unsubscribed, bounced, complained or were erased (only with their new consent)")
	imp.Flags().BoolVar(&r.json, "json", false, "print the report as JSON")

	var elist string
	exp := &cobra.Command{Use: "export [--list SLUG]", Short: "Export subscribers as CSV on stdout", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			a, err := r.open(cmd.Context(), app.Need{})
			if err != nil {
				return err
			}
			defer a.Close()
			return a.Export(cmd.Context(), elist, r.env.Stdout)
		}}
	exp.Flags().StringVar(&elist, "list", "", "only this list")
	c.AddCommand(imp, exp)
	c.AddCommand(r.subscriberAdminCommands()...)
	return c
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// listAdminCommands are the further `lists` subcommands.
func (r *root) listAdminCommands() []*cobra.Command {
	var desc string
	var doi bool
	describe := &cobra.Command{Use: "describe SLUG [--description TEXT] [--double-opt-in=true|false]",
		Short: "Set a list's description or its double opt-in", Args: exactArgs(1, "lists describe SLUG --description TEXT"),
		RunE: func(cmd *cobra.Command, args []string) error {
			var d *string
			var o *bool
			if cmd.Flags().Changed("description") {
				d = &desc
			}
			if cmd.Flags().Changed("double-opt-in") {
				o = &doi
			}
			if d == nil && o == nil {
				return newsletter.Errorf(newsletter.EINVALID, "nothing to change: pass --description TEXT and/or --double-opt-in=true|false")
			}
			a, err := r.open(cmd.Context(), app.Need{})
			if err != nil {
				return err
			}
			defer a.Close()
			if err := a.Store.UpdateList(cmd.Context(), args[0], nil, d, o); err != nil {
				return err
			}
			l, err := a.Store.GetList(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if r.json {
				return r.printJSON(l)
			}
			r.printf("list %s: description %q, double opt-in %s\n", l.Slug, l.Description, yesNo(l.DoubleOptIn))
			return nil
		}}
	describe.Flags().StringVar(&desc, "description", "", "what the list is for (shown on the preferences page)")
	describe.Flags().BoolVar(&doi, "double-opt-in", false, "new members must confirm by email")
	describe.Flags().BoolVar(&r.json, "json", false, "print JSON")
	return []*cobra.Command{describe}
}

// subscriberAdminCommands are the further `subscribers` subcommands (add,
// update, remove, search, show, block, counts, privacy export and erase).
func (r *root) subscriberAdminCommands() []*cobra.Command {
	withApp := func(fn func(cmd *cobra.Command, a *app.App, args []string) error) func(*cobra.Command, []string) error {
		return func(cmd *cobra.Command, args []string) error {
			a, err := r.open(cmd.Context(), app.Need{})
			if err != nil {
				return err
			}
			defer a.Close()
			return fn(cmd, a, args)
		}
	}
	var list, name, org string
	var attrs []string
	var override bool
	add := &cobra.Command{Use: "add ADDR --list SLUG [--name N] [--organisation O] [--attr k=v]...", Short: "Add a subscriber to a list",
		Args: exactArgs(1, "subscribers add ADDR --list SLUG"),
		PreRunE: func(cmd *cobra.Command, args []string) error {
			if list == "" {
				return newsletter.Errorf(newsletter.EINVALID, "no list given: pass --list SLUG (see `newsletter lists ls`)")
			}
			return nil
		},
		RunE: withApp(func(cmd *cobra.Command, a *app.App, args []string) error {
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
	add.Flags().StringVar(&list, "list", "", "list slug")
	add.Flags().StringVar(&name, "name", "", "name")
	add.Flags().StringVar(&org, "organisation", "", "organisation")
	add.Flags().StringArrayVar(&attrs, "attr", nil, "attribute key=value (repeatable)")
	add.Flags().BoolVar(&override, "override", false, "re-subscribe an address that unsubscribed, bounced, complained or was erased (only with new consent)")
	add.Flags().BoolVar(&r.json, "json", false, "print JSON")

	var uname, uorg, status string
	var uattrs []string
	update := &cobra.Command{Use: "update ADDR [--name N] [--organisation O] [--attr k=v] [--status active|unsubscribed]", Short: "Change a subscriber (--attr k= removes k)",
		Args: exactArgs(1, "subscribers update ADDR --name N"),
		RunE: withApp(func(cmd *cobra.Command, a *app.App, args []string) error {
			email, err := address.Normalize(args[0])
			if err != nil {
				return err
			}
			var u newsletter.SubscriberUpdate
			if cmd.Flags().Changed("name") {
				u.Name = &uname
			}
			if cmd.Flags().Changed("organisation") {
				u.Organisation = &uorg
			}
			if cmd.Flags().Changed("status") {
				st := newsletter.SubscriberStatus(status)
				u.Status = &st
			}
			if u.Attributes, err = parseAttrs(uattrs, true); err != nil {
				return err
			}
			if u.Name == nil && u.Organisation == nil && u.Status == nil && len(u.Attributes) == 0 {
				return newsletter.Errorf(newsletter.EINVALID, "nothing to change: pass --name, --organisation, --attr k=v or --status")
			}
			return a.Store.UpdateSubscriber(cmd.Context(), email, u)
		})}
	update.Flags().StringVar(&uname, "name", "", "name")
	update.Flags().StringVar(&uorg, "organisation", "", "organisation")
	update.Flags().StringArrayVar(&uattrs, "attr", nil, "attribute key=value; key= removes it (repeatable)")
	update.Flags().StringVar(&status, "status", "", "global status: active or unsubscribed")

	var rlist string
	remove := &cobra.Command{Use: "remove ADDR --list SLUG", Short: "Take an address off a list (an admin correction, not an opt-out)",
		Args: exactArgs(1, "subscribers remove ADDR --list SLUG"),
		PreRunE: func(cmd *cobra.Command, args []string) error {
			if rlist == "" {
				return newsletter.Errorf(newsletter.EINVALID, "no list given: pass --list SLUG; to delete everything about the address use `newsletter subscribers erase ADDR`")
			}
			return nil
		},
		RunE: withApp(func(cmd *cobra.Command, a *app.App, args []string) error {
			email, err := address.Normalize(args[0])
			if err != nil {
				return err
			}
			return a.Store.RemoveMembership(cmd.Context(), email, rlist)
		})}
	remove.Flags().StringVar(&rlist, "list", "", "list slug")

	var limit int
	var cursor string
	search := &cobra.Command{Use: "search QUERY [--limit N] [--cursor C] [--json]", Short: "Find subscribers by address, name or organisation",
		Args: exactArgs(1, "subscribers search QUERY (use \"\" for everyone)"),
		RunE: withApp(func(cmd *cobra.Command, a *app.App, args []string) error {
			res, err := a.Store.Search(cmd.Context(), args[0], limit, cursor)
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
	search.Flags().IntVar(&limit, "limit", 50, "results per page (at most 1000)")
	search.Flags().StringVar(&cursor, "cursor", "", "next_cursor of the previous page")
	search.Flags().BoolVar(&r.json, "json", false, "print JSON")

	show := &cobra.Command{Use: "show ADDR [--json]", Short: "Show one subscriber", Args: exactArgs(1, "subscribers show ADDR"),
		RunE: withApp(func(cmd *cobra.Command, a *app.App, args []string) error {
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
	show.Flags().BoolVar(&r.json, "json", false, "print JSON")

	var reason string
	block := &cobra.Command{Use: "block ADDR --reason R", Short: "Blocklist an address (never mailed, never re-imported without override)",
		Args: exactArgs(1, "subscribers block ADDR --reason R"),
		RunE: withApp(func(cmd *cobra.Command, a *app.App, args []string) error {
			email, err := address.Normalize(args[0])
			if err != nil {
				return err
			}
			return a.Store.Block(cmd.Context(), email, reason)
		})}
	block.Flags().StringVar(&reason, "reason", "", "why (kept in the audit log)")

	counts := &cobra.Command{Use: "counts [--json]", Short: "Count subscribers per status and per list", Args: cobra.NoArgs,
		RunE: withApp(func(cmd *cobra.Command, a *app.App, args []string) error {
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
	counts.Flags().BoolVar(&r.json, "json", false, "print JSON")

	exportPerson := &cobra.Command{Use: "export-person ADDR", Short: "Print everything stored about one address as JSON (AVG/GDPR access request)",
		Args: exactArgs(1, "subscribers export-person ADDR"),
		RunE: withApp(func(cmd *cobra.Command, a *app.App, args []string) error {
			pd, err := a.PersonalData(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return r.printJSON(pd)
		})}

	erase := &cobra.Command{Use: "erase ADDR", Short: "Erase everything about one address, keeping only its hash (AVG/GDPR)",
		Args: exactArgs(1, "subscribers erase ADDR"),
		RunE: withApp(func(cmd *cobra.Command, a *app.App, args []string) error {
			rep, err := a.Erase(cmd.Context(), args[0])
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
	erase.Flags().BoolVar(&r.json, "json", false, "print JSON")
	return []*cobra.Command{add, update, remove, search, show, block, counts, exportPerson, erase}
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
