// Package sesevent parses the Amazon SES notifications carried in the
// Message field of an SNS notification, in both shapes SES publishes:
// identity feedback notifications (notificationType) and configuration-set
// event publishing (eventType). It reduces them to one Event that the
// tracker can apply to deliveries, counters and the suppression list.
package sesevent
