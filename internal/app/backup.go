package app

import (
	"context"
	"io"
	"os"

	"newsletter"
	"newsletter/internal/redisstore"
)

// Backup writes every record under the prefix to w as versioned JSON
// lines (see redisstore.Backup) and returns how many.
func (a *App) Backup(ctx context.Context, w io.Writer) (int, error) {
	return a.store.Backup(ctx, w)
}

// Restore loads the backup in path into an empty Redis. The whole file is
// checked first, so a bad line (named by its number) leaves Redis empty.
func (a *App) Restore(ctx context.Context, path string) (*redisstore.RestoreReport, error) {
	load := func(dry bool) (*redisstore.RestoreReport, error) {
		f, err := os.Open(path)
		if err != nil {
			return nil, newsletter.Errorf(newsletter.EINVALID, "cannot read the backup: %v", err)
		}
		defer f.Close()
		return a.store.Restore(ctx, f, dry)
	}
	if _, err := load(true); err != nil {
		return nil, err
	}
	return load(false)
}
