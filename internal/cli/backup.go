package cli

import (
	"github.com/spf13/cobra"

	"newsletter/internal/app"
)

func (r *root) backupCmd() *cobra.Command {
	return &cobra.Command{Use: "backup", Short: "Write every list, subscriber, edition, delivery, suppression and account as JSON lines on stdout",
		Args: cobra.NoArgs,
		RunE: r.withApp(func(cmd *cobra.Command, a *app.App, _ []string) error {
			n, err := a.Backup(cmd.Context(), r.env.Stdout)
			if err != nil {
				return err
			}
			r.log.Info("backup written", "records", n)
			return nil
		})}
}

func (r *root) restoreCmd() *cobra.Command {
	c := &cobra.Command{Use: "restore FILE", Short: "Load a backup into an empty Redis (refuses one that holds data)",
		Args: exactArgs(1, "restore FILE"),
		RunE: r.withApp(func(cmd *cobra.Command, a *app.App, args []string) error {
			rep, err := a.Restore(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if r.json {
				return r.printJSON(rep)
			}
			r.printf("restored %d records\n", rep.Records)
			return nil
		})}
	c.Flags().BoolVar(&r.json, "json", false, "print JSON")
	return c
}
