package app

import (
	"context"
	"fmt"
	"strings"

	"newsletter"
	"newsletter/internal/address"
	"newsletter/internal/ses"
)

// needReason is the one check that a person's change to who is mailed
// says why: the reason goes into the audit log.
func needReason(action, reason string) error {
	if strings.TrimSpace(reason) == "" {
		return newsletter.Errorf(newsletter.EINVALID,
			"%s needs a reason, kept in the audit log: give one (--reason R on the command line, \"reason\" in the API)", action)
	}
	return nil
}

// Suppressions lists every suppressed address with its reason.
func (a *App) Suppressions(ctx context.Context) ([]newsletter.Suppression, error) {
	return a.store.Suppressions(ctx)
}

// Suppress adds an address to the suppression list by hand.
func (a *App) Suppress(ctx context.Context, rawEmail, reason string) (string, error) {
	email, err := address.Normalize(rawEmail)
	if err != nil {
		return "", err
	}
	if err := needReason("suppressing an address", reason); err != nil {
		return "", err
	}
	return email, a.audited(ctx, a.store.Suppress(ctx, email, "manual", reason), "suppression.add", email, nil, map[string]string{"reason": reason})
}

// Unsuppress removes an address from the suppression list and, when
// suppressions are synced with the SES account (NEWSLETTER_SES_SUPPRESSION_SYNC),
// from the SES account-level list too: otherwise SES would go on dropping
// the address silently.
func (a *App) Unsuppress(ctx context.Context, rawEmail, reason string) error {
	email, err := address.Normalize(rawEmail)
	if err != nil {
		return err
	}
	if err := needReason("removing a suppression", reason); err != nil {
		return err
	}
	if err := a.store.Unsuppress(ctx, email, reason); err != nil {
		return err
	}
	a.audit(ctx, "suppression.remove", email, nil, map[string]string{"reason": reason})
	acct, err := a.accountSuppression(ctx)
	if err != nil || acct == nil {
		return err
	}
	if err := acct.Delete(ctx, email); err != nil {
		return fmt.Errorf("removed here, but not from the SES account suppression list (%w): remove it there with `aws sesv2 delete-suppressed-destination`", err)
	}
	return nil
}

// accountSuppression returns the SES account-level suppression list when
// syncing is on, else nil.
func (a *App) accountSuppression(ctx context.Context) (*ses.AccountSuppression, error) {
	if !a.Cfg.SESSuppressionSync {
		return nil, nil
	}
	a.acctOnce.Do(func() {
		if a.Account != nil {
			return
		}
		c, err := a.SESClient(ctx, a.Cfg.SESEndpoint, false)
		if err != nil {
			a.acctErr = err
			return
		}
		a.Account = &ses.AccountSuppression{Client: c}
	})
	return a.Account, a.acctErr
}
