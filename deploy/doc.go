// Package deploy holds the deployment files (compose, Dockerfile,
// Kubernetes manifests, redis.conf, systemd units) and, in its tests, the
// offline checks that each of them is well-formed and says what the program
// needs: AOF and noeviction, probes on /healthz and /readyz, a non-root
// user.
package deploy
