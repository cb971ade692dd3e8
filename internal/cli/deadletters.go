package cli

import (
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"newsletter/internal/app"
)

func (r *root) deadlettersCmd() *cobra.Command {
	c := &cobra.Command{Use: "deadletters", Short: "Messages the workers gave up on: inspect and replay them"}
	c.AddCommand(r.deadletterLsCmd(), r.deadletterShowCmd(), r.deadletterReplayCmd())
	return c
}

func (r *root) deadletterLsCmd() *cobra.Command {
	var before string
	var limit int
	c := &cobra.Command{Use: "ls [--before ID] [--limit N] [--json]", Short: "List dead letters, newest first", Args: exactArgs(0, "deadletters ls [--before ID] [--limit N] [--json]"),
		RunE: r.withApp(func(cmd *cobra.Command, a *app.App, args []string) error {
			ds, err := a.DeadLetters(cmd.Context(), before, limit)
			if err != nil {
				return err
			}
			if r.json {
				return r.printJSON(map[string]any{"deadletters": nonNil(ds)})
			}
			if len(ds) == 0 {
				r.printf("no dead letters\n")
				return nil
			}
			tw := tabwriter.NewWriter(r.env.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tAT\tHANDLER\tREASON")
			for _, d := range ds {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", d.ID, d.At.Local().Format(time.DateTime), d.Handler, oneLine(d.Reason, 100))
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			if len(ds) == limit {
				r.printf("more: newsletter deadletters ls --before %s\n", ds[len(ds)-1].ID)
			}
			return nil
		})}
	c.Flags().StringVar(&before, "before", "", "list those older than this id (paging)")
	c.Flags().IntVar(&limit, "limit", 50, "at most this many")
	c.Flags().BoolVar(&r.json, "json", false, "print JSON")
	return c
}

func (r *root) deadletterShowCmd() *cobra.Command {
	c := &cobra.Command{Use: "show ID [--json]", Short: "Show one dead letter with its payload", Args: exactArgs(1, "deadletters show ID [--json]"),
		RunE: r.withApp(func(cmd *cobra.Command, a *app.App, args []string) error {
			d, err := a.DeadLetter(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if r.json {
				return r.printJSON(d)
			}
			r.printf("id:        %s\nat:        %s\nstream:    %s\nhandler:   %s\nmalformed: %v\nreason:    %s\npayload:   %s\n",
				d.ID, d.At.Local().Format(time.RFC3339), d.Stream, d.Handler, d.Malformed, d.Reason, d.Payload)
			return nil
		})}
	c.Flags().BoolVar(&r.json, "json", false, "print JSON")
	return c
}

func (r *root) deadletterReplayCmd() *cobra.Command {
	c := &cobra.Command{Use: "replay ID [--json]", Short: "Put a dead letter back on its stream with a fresh retry budget", Args: exactArgs(1, "deadletters replay ID [--json]"),
		RunE: r.withApp(func(cmd *cobra.Command, a *app.App, args []string) error {
			d, err := a.ReplayDeadLetter(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if r.json {
				return r.printJSON(map[string]any{"id": d.ID, "replayed": true, "stream": d.Stream})
			}
			r.printf("dead letter %s put back on %s\n", d.ID, d.Stream)
			return nil
		})}
	c.Flags().BoolVar(&r.json, "json", false, "print JSON")
	return c
}

func oneLine(s string, n int) string {
	out := []rune{}
	for _, c := range s {
		if c == '\n' || c == '\r' || c == '\t' {
			c = ' '
		}
		out = append(out, c)
		if len(out) >= n {
			return string(out) + "…"
		}
	}
	return string(out)
}
