package metrics

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// GroupStat is one consumer group of a stream.
type GroupStat struct {
	Group   string
	Pending int64 // delivered to a consumer, not acknowledged
	Lag     int64 // entries not yet delivered to the group (-1: Redis cannot tell)
}

// StreamStat is one stream and its groups.
type StreamStat struct {
	Topic  string
	Length int64
	Groups []GroupStat
}

// Snapshot is what a scrape reads from Redis.
type Snapshot struct {
	Streams     []StreamStat
	DeadLetters int64
	// Editions counts the recent editions by state.
	Editions map[string]int
	// Sending holds, per edition being sent, its deliveries by state.
	Sending map[string]map[string]int64
}

// Source reads a Snapshot (the store, at scrape time).
type Source func(ctx context.Context) (*Snapshot, error)

// Register adds a collector that reads src at every scrape. A failing read
// shows as newsletter_redis_up 0, never as a failed scrape.
func (m *Metrics) Register(src Source) {
	m.Registry.MustRegister(&collector{src: src})
}

var (
	descUp       = prometheus.NewDesc("newsletter_redis_up", "1 when the scrape could read Redis.", nil, nil)
	descLen      = prometheus.NewDesc("newsletter_stream_length", "Entries in a stream.", []string{"stream"}, nil)
	descPending  = prometheus.NewDesc("newsletter_stream_pending", "Entries delivered to a consumer of the group and not yet acknowledged.", []string{"stream", "group"}, nil)
	descLag      = prometheus.NewDesc("newsletter_stream_lag", "Entries of the stream not yet delivered to the group (consumer lag).", []string{"stream", "group"}, nil)
	descDead     = prometheus.NewDesc("newsletter_dead_letters", "Entries in the poison (dead letter) stream.", nil, nil)
	descEditions = prometheus.NewDesc("newsletter_editions", "Recent editions by state.", []string{"state"}, nil)
	descSending  = prometheus.NewDesc("newsletter_edition_deliveries", "Deliveries of editions being sent, by state.", []string{"edition_id", "state"}, nil)
)

type collector struct{ src Source }

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descUp, descLen, descPending, descLag, descDead, descEditions, descSending} {
		ch <- d
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := c.src(ctx)
	if err != nil {
		ch <- prometheus.MustNewConstMetric(descUp, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(descUp, prometheus.GaugeValue, 1)
	for _, st := range s.Streams {
		ch <- prometheus.MustNewConstMetric(descLen, prometheus.GaugeValue, float64(st.Length), st.Topic)
		for _, g := range st.Groups {
			ch <- prometheus.MustNewConstMetric(descPending, prometheus.GaugeValue, float64(g.Pending), st.Topic, g.Group)
			if g.Lag >= 0 {
				ch <- prometheus.MustNewConstMetric(descLag, prometheus.GaugeValue, float64(g.Lag), st.Topic, g.Group)
			}
		}
	}
	ch <- prometheus.MustNewConstMetric(descDead, prometheus.GaugeValue, float64(s.DeadLetters))
	for state, n := range s.Editions {
		ch <- prometheus.MustNewConstMetric(descEditions, prometheus.GaugeValue, float64(n), state)
	}
	for id, counts := range s.Sending {
		for state, n := range counts {
			ch <- prometheus.MustNewConstMetric(descSending, prometheus.GaugeValue, float64(n), id, state)
		}
	}
}
