package cli

import (
	"fmt"
	"os"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"newsletter"
	"newsletter/internal/app"
	"newsletter/internal/redisstore"
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
			fmt.Fprintln(tw, "SLUG\tNAME\tMEMBERS")
			for _, l := range lists {
				fmt.Fprintf(tw, "%s\t%s\t%d\n", l.Slug, l.Name, l.Members)
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
			if mode != string(redisstore.ImportAdd) && mode != string(redisstore.ImportUpdate) {
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
			rep, err := a.Import(cmd.Context(), list, f, redisstore.ImportOptions{Mode: redisstore.ImportMode(mode), Override: override})
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

// subscriberAdminCommands are the further `subscribers` subcommands (add,
// update, remove, search, counts, privacy export and erase).
func (r *root) subscriberAdminCommands() []*cobra.Command { return nil }

// listAdminCommands are the further `lists` subcommands.
func (r *root) listAdminCommands() []*cobra.Command { return nil }
