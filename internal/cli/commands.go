package cli

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"newsletter"
	"newsletter/internal/address"
	"newsletter/internal/app"
	"newsletter/internal/edition"
)

func (r *root) editionsCmd() *cobra.Command {
	c := &cobra.Command{Use: "editions", Short: "Create, preview, publish and follow editions"}
	c.AddCommand(r.editionLsCmd(), r.editionCreateCmd(), r.editionPreviewCmd(), r.editionPublishCmd(), r.editionStatusCmd(), r.editionFixCmd(), r.editionTestCmd(), r.editionCancelCmd(), r.editionResendCmd(),
		r.editionPauseCmd(), r.editionResumeCmd(), r.editionDeliveriesCmd())
	return c
}

func (r *root) editionLsCmd() *cobra.Command {
	var state string
	c := &cobra.Command{Use: "ls [--state S] [--json]", Short: "List every edition, newest first", Args: cobra.NoArgs,
		RunE: r.withApp(func(cmd *cobra.Command, a *app.App, args []string) error {
			eds, err := a.ListEditions(cmd.Context(), state)
			if err != nil {
				return err
			}
			if r.json {
				return r.printJSON(map[string]any{"editions": eds})
			}
			tw := tabwriter.NewWriter(r.env.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tSTATE\tWHEN\tLISTS\tSUBJECT")
			for _, e := range eds {
				when := e.CreatedAt
				switch {
				case !e.ScheduledAt.IsZero() && e.State == string(newsletter.EditionScheduled):
					when = e.ScheduledAt
				case !e.PublishedAt.IsZero():
					when = e.PublishedAt
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", e.ID, e.State, when.Local().Format("2006-01-02 15:04"), strings.Join(e.Lists, ","), e.Subject)
			}
			return tw.Flush()
		})}
	c.Flags().StringVar(&state, "state", "", "only editions in this state: draft, scheduled, published, sending, paused, sent, unresolved, cancelled")
	c.Flags().BoolVar(&r.json, "json", false, "print JSON")
	return c
}

func (r *root) editionCreateCmd() *cobra.Command {
	var file string
	create := &cobra.Command{Use: "create --file FILE", Short: "Create a draft from Markdown (.md) or plain text; prints the id", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if file == "" {
				return newsletter.Errorf(newsletter.EINVALID, "no file given: pass --file FILE (.md with front matter, or plain text)")
			}
			data, err := os.ReadFile(file)
			if err != nil {
				return newsletter.Errorf(newsletter.EINVALID, "cannot read %s: %v", file, err)
			}
			a, err := r.open(cmd.Context(), app.Need{})
			if err != nil {
				return err
			}
			defer a.Close()
			e, findings, err := a.CreateEdition(cmd.Context(), file, data)
			if err != nil {
				return err
			}
			links := edition.Links(e)
			if r.json {
				return r.printJSON(map[string]any{"id": e.ID, "subject": e.Subject, "findings": nonNil(findings), "links": nonNil(links)})
			}
			r.printf("%s\n", e.ID)
			for _, f := range findings {
				fmt.Fprintf(r.env.Stderr, "%s:%d:%d: %s: %q → %q (fix with `newsletter editions fix %s`)\n", file, f.Line, f.Column, f.Kind, f.Found, f.Suggested, e.ID)
			}
			for _, l := range links {
				if l.Problem != "" {
					fmt.Fprintf(r.env.Stderr, "link %s: %s\n", l.URL, l.Problem)
				}
			}
			return nil
		}}
	create.Flags().StringVar(&file, "file", "", "edition file")
	create.Flags().BoolVar(&r.json, "json", false, "print JSON")
	return create
}

func (r *root) editionPreviewCmd() *cobra.Command {
	var htmlOut, textOut string
	preview := &cobra.Command{Use: "preview ID", Short: "Write the rendered email (HTML and text)", Args: exactArgs(1, "editions preview ID [--html FILE] [--text FILE]"),
		RunE: r.withApp(func(cmd *cobra.Command, a *app.App, args []string) error {
			html, text, _, err := a.Preview(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if htmlOut == "" && textOut == "" {
				_, err := r.env.Stdout.Write(text)
				return err
			}
			if htmlOut != "" {
				if err := os.WriteFile(htmlOut, html, 0o644); err != nil {
					return err
				}
			}
			if textOut != "" {
				if err := os.WriteFile(textOut, text, 0o644); err != nil {
					return err
				}
			}
			return nil
		})}
	preview.Flags().StringVar(&htmlOut, "html", "", "write the HTML part here")
	preview.Flags().StringVar(&textOut, "text", "", "write the text part here (default: stdout)")
	return preview
}

func (r *root) editionPublishCmd() *cobra.Command {
	var lists, at string
	var wait, allow, allowLinks, now bool
	publish := &cobra.Command{Use: "publish ID --lists SLUG[,SLUG...]", Short: "Publish to lists (now or --at TIME)", Args: exactArgs(1, "editions publish ID --lists SLUG[,SLUG...]"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts := app.PublishOptions{AllowEncodingFindings: allow, AllowLinkFindings: allowLinks, Now: now}
			if at != "" {
				t, err := time.Parse(time.RFC3339, at)
				if err != nil {
					return newsletter.Errorf(newsletter.EINVALID, "--at %q is not an RFC 3339 time: write e.g. 2026-12-01T09:00:00+01:00", at)
				}
				opts.At = t
			}
			a, err := r.open(cmd.Context(), app.Need{})
			if err != nil {
				return err
			}
			defer a.Close()
			res, err := a.Publish(cmd.Context(), args[0], splitComma(lists), opts)
			if err != nil {
				return err
			}
			if wait && !res.Scheduled {
				st, err := a.Wait(cmd.Context(), args[0], 200*time.Millisecond)
				if err != nil {
					if cmd.Context().Err() != nil {
						return fmt.Errorf("stopped waiting; the edition keeps sending: follow it with `newsletter editions status %s`", args[0])
					}
					return err
				}
				if r.json {
					return r.printJSON(statusJSON(st))
				}
				r.printf("%s\n", res.Message)
				r.printStatus(st)
				return nil
			}
			if r.json {
				return r.printJSON(map[string]any{"id": res.Edition.ID, "state": res.Edition.State, "lists": res.Edition.Lists, "new_lists": nonNil(res.NewLists), "scheduled": res.Scheduled, "message": res.Message})
			}
			r.printf("%s\n", res.Message)
			return nil
		}}
	publish.Flags().StringVar(&lists, "lists", "", "comma-separated list slugs")
	publish.Flags().StringVar(&at, "at", "", "publish at this RFC 3339 time instead of now")
	publish.Flags().BoolVar(&wait, "wait", false, "wait until every delivery is done")
	publish.Flags().BoolVar(&allow, "allow-encoding-findings", false, "publish despite encoding-guard findings")
	publish.Flags().BoolVar(&allowLinks, "allow-link-findings", false, "publish despite links the link check found broken")
	publish.Flags().BoolVar(&now, "now", false, "send a scheduled edition now instead of at its time")
	publish.Flags().BoolVar(&r.json, "json", false, "print JSON")
	return publish
}

func (r *root) editionStatusCmd() *cobra.Command {
	status := &cobra.Command{Use: "status ID", Short: "Show an edition's state and delivery counts", Args: exactArgs(1, "editions status ID"),
		RunE: r.withApp(func(cmd *cobra.Command, a *app.App, args []string) error {
			st, err := a.EditionStatus(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if r.json {
				return r.printJSON(statusJSON(st))
			}
			r.printStatus(st)
			return nil
		})}
	status.Flags().BoolVar(&r.json, "json", false, "print JSON")
	return status
}

func (r *root) editionFixCmd() *cobra.Command {
	fix := &cobra.Command{Use: "fix ID", Short: "Repair encoding findings and print what changed", Args: exactArgs(1, "editions fix ID"),
		RunE: r.withApp(func(cmd *cobra.Command, a *app.App, args []string) error {
			changed, err := a.FixEdition(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if r.json {
				return r.printJSON(map[string]any{"id": args[0], "changed": nonNil(changed)})
			}
			if len(changed) == 0 {
				r.printf("nothing to fix\n")
			}
			for _, f := range changed {
				r.printf("%s line %d column %d: %q → %q\n", f.Field, f.Line, f.Column, f.Found, f.Suggested)
			}
			return nil
		})}
	fix.Flags().BoolVar(&r.json, "json", false, "print JSON")
	return fix
}

func (r *root) editionTestCmd() *cobra.Command {
	var to string
	test := &cobra.Command{Use: "test ID --to ADDR[,ADDR...]", Short: "Send a test (not counted as the edition's send)", Args: exactArgs(1, "editions test ID --to ADDR[,ADDR...]"),
		RunE: func(cmd *cobra.Command, args []string) error {
			var addrs []string
			for _, s := range splitComma(to) {
				n, err := address.Normalize(s)
				if err != nil {
					return err
				}
				addrs = append(addrs, n)
			}
			a, err := r.open(cmd.Context(), app.Need{})
			if err != nil {
				return err
			}
			defer a.Close()
			if err := a.TestSend(cmd.Context(), args[0], addrs); err != nil {
				return err
			}
			r.printf("test of %s queued for %s\n", args[0], strings.Join(addrs, ", "))
			return nil
		}}
	test.Flags().StringVar(&to, "to", "", "comma-separated addresses")
	return test
}

func (r *root) editionCancelCmd() *cobra.Command {
	cancel := &cobra.Command{Use: "cancel ID", Short: "Cancel a scheduled edition, or stop one being sent", Args: exactArgs(1, "editions cancel ID"),
		RunE: r.withApp(func(cmd *cobra.Command, a *app.App, args []string) error {
			e, err := a.Cancel(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			r.printf("edition %s is %s\n", e.ID, e.State)
			return nil
		})}
	return cancel
}

func (r *root) editionResendCmd() *cobra.Command {
	var force bool
	resend := &cobra.Command{Use: "resend-unknown ID [--force] [--json]", Short: "Send again the deliveries whose outcome is unknown and that no SES Send event settled", Args: exactArgs(1, "editions resend-unknown ID [--force]"),
		RunE: r.withApp(func(cmd *cobra.Command, a *app.App, args []string) error {
			res, err := a.ResendUnknownOpts(cmd.Context(), args[0], force)
			if err != nil {
				return err
			}
			if r.json {
				return r.printJSON(res)
			}
			r.printf("%s\n", res.Message)
			return nil
		})}
	resend.Flags().BoolVar(&force, "force", false, "resend although no SES Send events show which were accepted (may send duplicates)")
	resend.Flags().BoolVar(&r.json, "json", false, "print JSON")
	return resend
}

func statusJSON(st *app.Status) map[string]any {
	out := map[string]any{"id": st.ID, "state": st.State, "subject": st.Subject, "lists": nonNil(st.Lists)}
	for k, v := range st.Counts {
		out[k] = v
	}
	out["unknown_open"] = st.UnknownOpen
	out["unknown_resolved"] = st.UnknownResolved
	if !st.PausedAt.IsZero() {
		out["paused_at"] = st.PausedAt
	}
	out["bounce_rate"] = st.Rates.BounceRate
	out["complaint_rate"] = st.Rates.ComplaintRate
	out["per_list"] = st.PerList
	if st.SendingPaused != "" {
		out["sending_paused"] = st.SendingPaused
	}
	return out
}

func (r *root) printStatus(st *app.Status) {
	r.printf("%s  %s  %q\n", st.ID, st.State, st.Subject)
	for _, s := range newsletter.DeliveryStates {
		if n := st.Counts[string(s)]; n > 0 {
			r.printf("  %-10s %d\n", s, n)
		}
	}
	r.printf("  %-10s %d\n", "total", st.Counts["total"])
	if st.UnknownOpen+st.UnknownResolved > 0 {
		r.printf("  unknown outcomes: %d open, %d resolved (by SES Send events or a resend)\n", st.UnknownOpen, st.UnknownResolved)
	}
	if !st.PausedAt.IsZero() {
		r.printf("  paused since %s: continue with `newsletter editions resume %s`\n", st.PausedAt.Local().Format(time.RFC3339), st.ID)
	}
	r.printf("  bounce rate %.2f%%, complaint rate %.3f%%\n", 100*st.Rates.BounceRate, 100*st.Rates.ComplaintRate)
	if st.SendingPaused != "" {
		r.printf("  %s\n", st.SendingPaused)
	}
}

func (r *root) reportCmd() *cobra.Command {
	var limit int
	c := &cobra.Command{Use: "report", Short: "Bounce and complaint rates per edition and per list", Args: cobra.NoArgs,
		RunE: r.withApp(func(cmd *cobra.Command, a *app.App, args []string) error {
			rep, err := a.BuildReport(cmd.Context(), limit)
			if err != nil {
				return err
			}
			if r.json {
				return r.printJSON(rep)
			}
			tw := tabwriter.NewWriter(r.env.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "EDITION\tACCEPTED\tBOUNCE\tCOMPLAINT\tSUBJECT")
			for _, e := range rep.Editions {
				fmt.Fprintf(tw, "%s\t%d\t%.2f%%\t%.3f%%\t%s\n", e.ID, e.Rates.Accepted, 100*e.Rates.BounceRate, 100*e.Rates.ComplaintRate, e.Subject)
			}
			fmt.Fprintln(tw, "\nLIST\tACCEPTED\tBOUNCE\tCOMPLAINT\t")
			lists := make([]string, 0, len(rep.Lists))
			for l := range rep.Lists {
				lists = append(lists, l)
			}
			sort.Strings(lists)
			for _, l := range lists {
				x := rep.Lists[l]
				fmt.Fprintf(tw, "%s\t%d\t%.2f%%\t%.3f%%\t\n", l, x.Accepted, 100*x.BounceRate, 100*x.ComplaintRate)
			}
			return tw.Flush()
		})}
	c.Flags().IntVar(&limit, "limit", 20, "how many recent editions (0 = all)")
	c.Flags().BoolVar(&r.json, "json", false, "print JSON")
	return c
}

func (r *root) suppressionsCmd() *cobra.Command {
	c := &cobra.Command{Use: "suppressions", Short: "Addresses that are never mailed"}
	c.AddCommand(r.suppressionLsCmd(), r.suppressionAddCmd(), r.suppressionRmCmd())
	return c
}

func (r *root) suppressionLsCmd() *cobra.Command {
	c := &cobra.Command{Use: "ls", Short: "List suppressed addresses with reasons", Args: cobra.NoArgs,
		RunE: r.withApp(func(cmd *cobra.Command, a *app.App, args []string) error {
			sp, err := a.Suppressions(cmd.Context())
			if err != nil {
				return err
			}
			if r.json {
				return r.printJSON(map[string]any{"suppressions": nonNil(sp)})
			}
			tw := tabwriter.NewWriter(r.env.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "EMAIL\tREASON\tSINCE\tDETAIL")
			for _, s := range sp {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", s.Email, s.Reason, s.CreatedAt.Format(time.DateOnly), s.Detail)
			}
			return tw.Flush()
		})}
	c.Flags().BoolVar(&r.json, "json", false, "print JSON")
	return c
}

func (r *root) suppressionAddCmd() *cobra.Command {
	var reason string
	c := &cobra.Command{Use: "add ADDR --reason R", Short: "Suppress an address", Args: exactArgs(1, "suppressions add ADDR --reason R"),
		RunE: r.withApp(func(cmd *cobra.Command, a *app.App, args []string) error {
			_, err := a.Suppress(cmd.Context(), args[0], reason)
			return err
		})}
	c.Flags().StringVar(&reason, "reason", "", "why (kept in the audit log)")
	return c
}

func (r *root) suppressionRmCmd() *cobra.Command {
	var reason string
	c := &cobra.Command{Use: "rm ADDR --reason R", SuggestFor: []string{"remove", "delete", "unsuppress"}, Short: "Remove a suppression (also from the SES account list when synced)", Args: exactArgs(1, "suppressions rm ADDR --reason R"),
		RunE: r.withApp(func(cmd *cobra.Command, a *app.App, args []string) error {
			return a.Unsuppress(cmd.Context(), args[0], reason)
		})}
	c.Flags().StringVar(&reason, "reason", "", "why (kept in the audit log)")
	return c
}

func exactArgs(n int, usage string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return newsletter.Errorf(newsletter.EINVALID, "expected %d argument(s), got %d: usage: newsletter %s", n, len(args), usage)
		}
		return nil
	}
}

func splitComma(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
