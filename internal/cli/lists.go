package cli

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"newsletter"
	"newsletter/internal/app"
)

func (r *root) listsCmd() *cobra.Command {
	c := &cobra.Command{Use: "lists", Short: "Manage partner lists"}
	c.AddCommand(r.listCreateCmd(), r.listLsCmd(), r.listRenameCmd(), r.listDeleteCmd(), r.listDescribeCmd())
	return c
}

func (r *root) listCreateCmd() *cobra.Command {
	var name, desc string
	var doi, public bool
	c := &cobra.Command{Use: "create SLUG", Short: "Create a list", Args: exactArgs(1, "lists create SLUG --name NAME"),
		RunE: r.withApp(func(cmd *cobra.Command, a *app.App, args []string) error {
			l, err := a.CreateList(cmd.Context(), newsletter.List{Slug: args[0], Name: name, Description: desc, DoubleOptIn: doi, Public: public})
			if err != nil {
				return err
			}
			if r.json {
				return r.printJSON(l)
			}
			r.printf("created list %s\n", l.Slug)
			return nil
		})}
	c.Flags().StringVar(&name, "name", "", "display name")
	c.Flags().StringVar(&desc, "description", "", "what the list is for")
	c.Flags().BoolVar(&doi, "double-opt-in", false, "new members must confirm by email")
	c.Flags().BoolVar(&public, "public", false, "offer the list on the preferences page and the subscribe form")
	c.Flags().BoolVar(&r.json, "json", false, "print JSON")
	return c
}

func (r *root) listLsCmd() *cobra.Command {
	c := &cobra.Command{Use: "ls", Short: "List the lists", Args: cobra.NoArgs,
		RunE: r.withApp(func(cmd *cobra.Command, a *app.App, args []string) error {
			lists, err := a.Lists(cmd.Context())
			if err != nil {
				return err
			}
			if r.json {
				return r.printJSON(map[string]any{"lists": nonNil(lists)})
			}
			tw := tabwriter.NewWriter(r.env.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "SLUG\tNAME\tSUBSCRIBED\tNOT MAILED\tUNCONFIRMED\tUNSUBSCRIBED\tDOUBLE OPT-IN\tPUBLIC")
			for _, l := range lists {
				fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%s\t%s\n", l.Slug, l.Name, l.Counts.Subscribed, l.Counts.NotMailed, l.Counts.Unconfirmed, l.Counts.Unsubscribed, yesNo(l.DoubleOptIn), yesNo(l.Public))
			}
			return tw.Flush()
		})}
	c.Flags().BoolVar(&r.json, "json", false, "print JSON")
	return c
}

func (r *root) listRenameCmd() *cobra.Command {
	var name string
	c := &cobra.Command{Use: "rename SLUG --name NAME", Short: "Rename a list", Args: exactArgs(1, "lists rename SLUG --name NAME"),
		RunE: r.withApp(func(cmd *cobra.Command, a *app.App, args []string) error {
			_, err := a.UpdateList(cmd.Context(), args[0], app.ListChange{Name: &name})
			return err
		})}
	c.Flags().StringVar(&name, "name", "", "new display name")
	return c
}

func (r *root) listDeleteCmd() *cobra.Command {
	return &cobra.Command{Use: "delete SLUG", Short: "Delete a list (history is kept)", Args: exactArgs(1, "lists delete SLUG"),
		RunE: r.withApp(func(cmd *cobra.Command, a *app.App, args []string) error {
			return a.DeleteList(cmd.Context(), args[0])
		})}
}

func (r *root) listDescribeCmd() *cobra.Command {
	var desc string
	var doi, public bool
	c := &cobra.Command{Use: "describe SLUG [--description TEXT] [--double-opt-in=true|false] [--public=true|false]",
		Short: "Set a list's description, double opt-in or public flag", Args: exactArgs(1, "lists describe SLUG --description TEXT"),
		PreRunE: func(cmd *cobra.Command, args []string) error {
			if !cmd.Flags().Changed("description") && !cmd.Flags().Changed("double-opt-in") && !cmd.Flags().Changed("public") {
				return newsletter.Errorf(newsletter.EINVALID, "nothing to change: pass --description TEXT, --double-opt-in=true|false and/or --public=true|false")
			}
			return nil
		},
		RunE: r.withApp(func(cmd *cobra.Command, a *app.App, args []string) error {
			var ch app.ListChange
			if cmd.Flags().Changed("description") {
				ch.Description = &desc
			}
			if cmd.Flags().Changed("double-opt-in") {
				ch.DoubleOptIn = &doi
			}
			if cmd.Flags().Changed("public") {
				ch.Public = &public
			}
			l, err := a.UpdateList(cmd.Context(), args[0], ch)
			if err != nil {
				return err
			}
			if r.json {
				return r.printJSON(l)
			}
			r.printf("list %s: description %q, double opt-in %s, public %s\n", l.Slug, l.Description, yesNo(l.DoubleOptIn), yesNo(l.Public))
			return nil
		})}
	c.Flags().StringVar(&desc, "description", "", "what the list is for (shown on the preferences page)")
	c.Flags().BoolVar(&doi, "double-opt-in", false, "new members must confirm by email")
	c.Flags().BoolVar(&public, "public", false, "offer the list on the preferences page and the subscribe form")
	c.Flags().BoolVar(&r.json, "json", false, "print JSON")
	return c
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
