package redisproc

import (
	"fmt"
	"net"
	"testing"
)

// A cluster node's port and its bus port (port + 10000) are both free and
// below Linux's ephemeral range (32768-60999), where an outgoing
// connection could take the bus port between the check and the start.
func TestClusterPortPairIsFreeAndBelowEphemeral(t *testing.T) {
	for range 50 {
		p, err := clusterPort()
		if err != nil {
			t.Fatal(err)
		}
		if p < 1024 || p+10000 >= 32768 {
			t.Fatalf("port %d: its bus port %d is in or above the ephemeral range", p, p+10000)
		}
		for _, q := range []int{p, p + 10000} {
			l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", q))
			if err != nil {
				t.Fatalf("port %d was given as free: %v", q, err)
			}
			l.Close()
		}
	}
}
