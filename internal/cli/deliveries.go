package cli

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"newsletter"
	"newsletter/internal/app"
)

func (r *root) editionPauseCmd() *cobra.Command {
	return &cobra.Command{Use: "pause ID", Short: "Pause sending an edition (calls in flight finish; the rest waits)", Args: exactArgs(1, "editions pause ID"),
		RunE: r.withApp(func(cmd *cobra.Command, a *app.App, args []string) error {
			e, err := a.PauseEdition(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			r.printf("edition %s is paused since %s; continue with `newsletter editions resume %s`\n", e.ID, e.PausedAt.Local().Format(time.RFC3339), e.ID)
			return nil
		})}
}

func (r *root) editionResumeCmd() *cobra.Command {
	return &cobra.Command{Use: "resume ID", Short: "Continue sending a paused edition", Args: exactArgs(1, "editions resume ID"),
		RunE: r.withApp(func(cmd *cobra.Command, a *app.App, args []string) error {
			e, err := a.ResumeEdition(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			r.printf("edition %s resumed (%s)\n", e.ID, e.State)
			return nil
		})}
}

// ledgerFlush is how many rows the text table aligns at a time: the
// ledger streams, so it is never held whole.
const ledgerFlush = 500

func (r *root) editionDeliveriesCmd() *cobra.Command {
	var state string
	var asCSV bool
	c := &cobra.Command{Use: "deliveries ID [--state S] [--json|--csv]", Short: "The per-recipient ledger: one row per recipient", Args: exactArgs(1, "editions deliveries ID [--state S] [--json|--csv]"),
		RunE: r.withApp(func(cmd *cobra.Command, a *app.App, args []string) error {
			if r.json && asCSV {
				return newsletter.Errorf(newsletter.EINVALID, "--json and --csv both given: choose one")
			}
			out := bufio.NewWriterSize(r.env.Stdout, 64<<10)
			var each func(newsletter.DeliveryRow) error
			var end func() error
			switch {
			case r.json:
				// One object with a deliveries array, written row by row.
				n := 0
				enc := json.NewEncoder(out)
				each = func(d newsletter.DeliveryRow) error {
					if n == 0 {
						out.WriteString(`{"deliveries":[`)
					} else {
						out.WriteString(",")
					}
					n++
					return enc.Encode(d)
				}
				end = func() error {
					if n == 0 {
						out.WriteString(`{"deliveries":[`)
					}
					_, err := out.WriteString("]}\n")
					return err
				}
			case asCSV:
				w := csv.NewWriter(out)
				if err := w.Write([]string{"email", "state", "reason", "message_id", "updated_at"}); err != nil {
					return err
				}
				each = func(d newsletter.DeliveryRow) error {
					return w.Write([]string{d.Email, string(d.State), d.Reason, d.MessageID, formatTime(d.UpdatedAt)})
				}
				end = func() error { w.Flush(); return w.Error() }
			default:
				tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "EMAIL\tSTATE\tUPDATED\tMESSAGE ID\tREASON")
				n := 0
				each = func(d newsletter.DeliveryRow) error {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", d.Email, d.State, formatTime(d.UpdatedAt), d.MessageID, d.Reason)
					if n++; n%ledgerFlush == 0 {
						return tw.Flush()
					}
					return nil
				}
				end = tw.Flush
			}
			if err := a.Deliveries(cmd.Context(), args[0], newsletter.DeliveryState(state), each); err != nil {
				return err
			}
			if err := end(); err != nil {
				return err
			}
			return out.Flush()
		})}
	c.Flags().StringVar(&state, "state", "", "only deliveries in this state: queued, sending, sent, delivered, bounced, complained, skipped, failed, unknown")
	c.Flags().BoolVar(&r.json, "json", false, `print one JSON object {"deliveries": [...]}`)
	c.Flags().BoolVar(&asCSV, "csv", false, "print CSV with a header row")
	return c
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}
