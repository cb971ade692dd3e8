package redisproc

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Cluster is a running Redis Cluster of child processes.
type Cluster struct {
	// URL is go-redis's cluster form: redis://h:p1?addr=h:p2&addr=h:p3.
	URL     string
	servers []*Server
	dir     string
}

// StartCluster starts n masters (cluster-enabled, memory only, no
// replicas) on free ports, creates the cluster with redis-cli, and waits
// until every node reports cluster_state:ok.
func StartCluster(n int) (*Cluster, error) {
	cli, err := exec.LookPath("redis-cli")
	if err != nil {
		return nil, fmt.Errorf("redis-cli is not on the PATH (Debian: apt-get install redis-tools): %w", ErrNoServer)
	}
	dir, err := os.MkdirTemp("", "redis-cluster")
	if err != nil {
		return nil, err
	}
	c := &Cluster{dir: dir}
	var addrs []string
	for i := range n {
		ndir := fmt.Sprintf("%s/%d", dir, i)
		if err := os.MkdirAll(ndir, 0o755); err != nil {
			c.Close()
			return nil, err
		}
		s, err := StartWith(ndir, Options{PickPort: clusterPort, Args: []string{"--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "5000"}})
		if err != nil {
			c.Close()
			return nil, err
		}
		c.servers = append(c.servers, s)
		addrs = append(addrs, fmt.Sprintf("127.0.0.1:%d", s.Port))
	}
	args := append(append([]string{"--cluster", "create"}, addrs...), "--cluster-replicas", "0", "--cluster-yes")
	if out, err := exec.Command(cli, args...).CombinedOutput(); err != nil {
		c.Close()
		return nil, fmt.Errorf("redis-cli --cluster create: %v\n%s", err, out)
	}
	deadline := time.Now().Add(30 * time.Second)
	for _, a := range addrs {
		rc := redis.NewClient(&redis.Options{Addr: a})
		for {
			info, err := rc.ClusterInfo(context.Background()).Result()
			if err == nil && strings.Contains(info, "cluster_state:ok") {
				break
			}
			if time.Now().After(deadline) {
				rc.Close()
				c.Close()
				return nil, fmt.Errorf("cluster node %s not ok after 30s: %v %s", a, err, info)
			}
			time.Sleep(50 * time.Millisecond)
		}
		rc.Close()
	}
	c.URL = "redis://" + addrs[0] + "?addr=" + strings.Join(addrs[1:], "&addr=")
	return c, nil
}

// clusterPort picks a cluster node's port. A node also listens on its
// port + 10000 (the cluster bus); with a port the kernel picks, both are in
// the ephemeral range, where any outgoing connection can take the bus port
// and the node exits at start ("Address already in use", seen in a CI
// run). StartWith tries again should it still happen (a node that failed
// leaves a nodes.conf, which the next start on another port takes up with
// its new port).
//
// It is a port in 20000-22767 that is free, and whose bus port
// (30000-32767, below Linux's ephemeral range 32768-60999) is free too.
func clusterPort() (int, error) {
	for range 200 {
		p := 20000 + rand.IntN(2768)
		a, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			continue
		}
		b, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p+10000))
		a.Close()
		if err != nil {
			continue
		}
		b.Close()
		return p, nil
	}
	return 0, fmt.Errorf("no free port pair for a cluster node in 20000-32767: %w", ErrPortTaken)
}

// Close stops every node and removes their files.
func (c *Cluster) Close() {
	for _, s := range c.servers {
		s.Close()
	}
	_ = os.RemoveAll(c.dir)
}
