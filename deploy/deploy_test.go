package deploy_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.yaml.in/yaml/v3"

	"newsletter/internal/redisproc"
)

// decodeAll parses every YAML document of path.
func decodeAll(t *testing.T, path string) []map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	var docs []map[string]any
	for {
		var d map[string]any
		err := dec.Decode(&d)
		if errors.Is(err, io.EOF) {
			return docs
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if d != nil {
			docs = append(docs, d)
		}
	}
}

// at walks a decoded document: at(d, "spec", "template", 0, "name").
func at(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[k]
		case int:
			l, ok := v.([]any)
			if !ok || k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

func str(v any) string { return fmt.Sprint(v) }

func TestCompose(t *testing.T) {
	docs := decodeAll(t, "compose.yaml")
	if len(docs) != 1 {
		t.Fatalf("compose.yaml has %d documents", len(docs))
	}
	c := docs[0]
	redisCmd := strings.Join(strings.Fields(strings.Trim(str(at(c, "services", "redis", "command")), "[]")), " ")
	for _, want := range []string{"--appendonly yes", "--maxmemory-policy noeviction"} {
		if !strings.Contains(redisCmd, want) {
			t.Errorf("compose redis command %q lacks %q", redisCmd, want)
		}
	}
	if at(c, "services", "redis", "volumes") == nil {
		t.Error("compose redis keeps its AOF in no volume")
	}
	for _, svc := range []string{"serve", "work"} {
		if got := str(at(c, "services", svc, "command", 0)); got != svc {
			t.Errorf("compose %s runs %q", svc, got)
		}
		if got := str(at(c, "services", svc, "environment", "NEWSLETTER_REDIS_URL")); !strings.HasPrefix(got, "redis://redis:") {
			t.Errorf("compose %s NEWSLETTER_REDIS_URL = %q", svc, got)
		}
		df := str(at(c, "services", svc, "build", "dockerfile"))
		if _, err := os.Stat(filepath.Join("..", df)); err != nil {
			t.Errorf("compose %s builds with %s: %v", svc, df, err)
		}
	}
	if n, _ := at(c, "services", "work", "deploy", "replicas").(int); n < 2 {
		t.Errorf("compose work replicas = %v, want several", at(c, "services", "work", "deploy", "replicas"))
	}
	if at(c, "services", "work", "environment", "NEWSLETTER_METRICS_ADDR") == nil {
		t.Error("compose work has no NEWSLETTER_METRICS_ADDR")
	}
	if got := str(at(c, "services", "ses", "profiles", 0)); got != "staging" {
		t.Errorf("compose ses emulator profile = %q, want staging", got)
	}
	if got := str(at(c, "services", "ses", "command", 0)); got != "ses-emulator" {
		t.Errorf("compose ses runs %q, want ses-emulator", got)
	}
}

// docker compose config, where the compose plugin is installed.
func TestComposeConfig(t *testing.T) {
	if exec.Command("docker", "compose", "version").Run() != nil {
		t.Skip("docker compose is not installed; TestCompose checks the file")
	}
	cmd := exec.Command("docker", "compose", "-f", "compose.yaml", "--profile", "staging", "config", "--quiet")
	cmd.Env = append(os.Environ(), "NEWSLETTER_SECRET=x")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("docker compose config: %v\n%s", err, out)
	}
}

func TestKubernetes(t *testing.T) {
	files, err := filepath.Glob("kubernetes/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	byKind := map[string][]map[string]any{}
	var listed []string
	for _, f := range files {
		for _, d := range decodeAll(t, f) {
			kind := str(d["kind"])
			if kind == "Kustomization" {
				for _, r := range d["resources"].([]any) {
					listed = append(listed, "kubernetes/"+str(r))
				}
				continue
			}
			if d["apiVersion"] == nil || at(d, "metadata", "name") == nil {
				t.Errorf("%s: a %s without apiVersion or metadata.name", f, kind)
			}
			byKind[kind] = append(byKind[kind], d)
		}
	}
	for _, f := range files {
		if !strings.HasSuffix(f, "kustomization.yaml") && !slices.Contains(listed, f) {
			t.Errorf("%s is not in kustomization.yaml", f)
		}
	}
	for kind, n := range map[string]int{"Deployment": 2, "Service": 1, "ConfigMap": 1, "Secret": 1, "HorizontalPodAutoscaler": 1} {
		if len(byKind[kind]) != n {
			t.Errorf("%d %s manifests, want %d", len(byKind[kind]), kind, n)
		}
	}
	deployments := map[string]map[string]any{}
	for _, d := range byKind["Deployment"] {
		name := str(at(d, "metadata", "name"))
		deployments[name] = d
		spec := at(d, "spec", "template", "spec")
		if at(spec, "securityContext", "runAsNonRoot") != true {
			t.Errorf("%s does not run as non-root", name)
		}
		ctr := at(spec, "containers", 0)
		var ports []string
		for _, p := range at(ctr, "ports").([]any) {
			ports = append(ports, str(at(p, "name")))
		}
		for probe, path := range map[string]string{"livenessProbe": "/healthz", "readinessProbe": "/readyz"} {
			if got := str(at(ctr, probe, "httpGet", "path")); got != path {
				t.Errorf("%s %s on %q, want %s", name, probe, got, path)
			}
			if port := str(at(ctr, probe, "httpGet", "port")); !slices.Contains(ports, port) {
				t.Errorf("%s %s on port %q, which the container does not name (%v)", name, probe, port, ports)
			}
		}
		refs := fmt.Sprint(at(ctr, "envFrom"))
		if !strings.Contains(refs, "configMapRef") || !strings.Contains(refs, "secretRef") {
			t.Errorf("%s takes its environment from %s, want the ConfigMap and the Secret", name, refs)
		}
		if got := str(at(ctr, "args", 0)); !strings.HasSuffix(name, got) {
			t.Errorf("%s runs %q", name, got)
		}
	}
	work := deployments["newsletter-work"]
	if !strings.Contains(fmt.Sprint(at(work, "spec", "template", "spec", "containers", 0, "env")), "NEWSLETTER_METRICS_ADDR") {
		t.Error("the work Deployment sets no NEWSLETTER_METRICS_ADDR, so its probes have nothing to ask")
	}
	hpa := byKind["HorizontalPodAutoscaler"][0]
	if target := str(at(hpa, "spec", "scaleTargetRef", "name")); deployments[target] == nil || target != "newsletter-work" {
		t.Errorf("the HPA scales %q, want newsletter-work", target)
	}
	svc := byKind["Service"][0]
	sel := at(svc, "spec", "selector").(map[string]any)
	labels := at(deployments["newsletter-serve"], "spec", "template", "metadata", "labels").(map[string]any)
	for k, v := range sel {
		if labels[k] != v {
			t.Errorf("the Service selects %s=%v, which serve's pods do not carry (%v)", k, v, labels)
		}
	}
	cm := byKind["ConfigMap"][0]
	if !strings.HasPrefix(str(at(cm, "data", "NEWSLETTER_REDIS_URL")), "redis://") {
		t.Error("the ConfigMap has no NEWSLETTER_REDIS_URL")
	}
}

// kubectl kustomize builds the manifests offline, where kubectl is.
func TestKustomizeBuild(t *testing.T) {
	if _, err := exec.LookPath("kubectl"); err != nil {
		t.Skip("kubectl is not installed; TestKubernetes checks the files")
	}
	if out, err := exec.Command("kubectl", "kustomize", "kubernetes").CombinedOutput(); err != nil {
		t.Errorf("kubectl kustomize: %v\n%s", err, out)
	}
}

func TestDockerfile(t *testing.T) {
	b, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	var stages, user, entry string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || strings.HasPrefix(f[0], "#") {
			continue
		}
		switch strings.ToUpper(f[0]) {
		case "FROM":
			stages = f[1]
		case "USER":
			user = f[1]
		case "ENTRYPOINT":
			entry = strings.Join(f[1:], " ")
		}
	}
	if !strings.Contains(stages, "static") {
		t.Errorf("the final image is %q, want a static (distroless) base", stages)
	}
	if u, _, _ := strings.Cut(user, ":"); u == "" || u == "0" || u == "root" {
		t.Errorf("the image runs as %q, want a non-root user", user)
	}
	if !strings.Contains(string(b), "CGO_ENABLED=0") || !strings.Contains(string(b), "./cmd/newsletter") {
		t.Error("the Dockerfile does not build a static ./cmd/newsletter")
	}
	if !strings.Contains(entry, "newsletter") {
		t.Errorf("ENTRYPOINT %s does not run newsletter", entry)
	}
}

// The units pass systemd-analyze verify (with ExecStart pointed at a
// binary that exists here); any complaint fails.
func TestSystemdUnits(t *testing.T) {
	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("systemd-analyze is not installed (Debian: apt-get install systemd)")
		}
		t.Skip("systemd-analyze is not installed")
	}
	dir := t.TempDir()
	for _, u := range []string{"newsletter-serve.service", "newsletter-work@.service"} {
		b, err := os.ReadFile(u)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(b, []byte("ExecStart=/usr/local/bin/newsletter ")) {
			t.Errorf("%s does not run /usr/local/bin/newsletter", u)
		}
		b = bytes.ReplaceAll(b, []byte("/usr/local/bin/newsletter"), []byte("/bin/true"))
		if err := os.WriteFile(filepath.Join(dir, u), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("systemd-analyze", "verify", "--man=no", "./newsletter-serve.service", "./newsletter-work@1.service")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
	b, _ := os.ReadFile("newsletter-work@.service")
	if !bytes.Contains(b, []byte("NEWSLETTER_METRICS_ADDR=")) || !bytes.Contains(b, []byte("NEWSLETTER_WORKER_ID=%i")) {
		t.Error("the worker template sets no per-instance metrics address or worker id")
	}
}

// redis-server starts with redis.conf (on a free port, in a temporary
// folder) and runs with AOF on and noeviction.
func TestRedisConf(t *testing.T) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatal("redis-server is not on the PATH (Debian: apt-get install redis-server)")
	}
	port, err := redisproc.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cmd := exec.Command(bin, "redis.conf", "--port", fmt.Sprint(port), "--dir", dir, "--bind", "127.0.0.1")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() { _ = cmd.Process.Kill(); <-done })
	c := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", port)})
	defer c.Close()
	ctx := context.Background()
	deadline := time.Now().Add(30 * time.Second)
	for c.Ping(ctx).Err() != nil {
		select {
		case <-done:
			t.Fatalf("redis-server refused redis.conf:\n%s", out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("redis-server with redis.conf does not answer:\n%s", out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	for k, want := range map[string]string{"maxmemory-policy": "noeviction", "appendonly": "yes", "appendfsync": "everysec"} {
		got, err := c.ConfigGet(ctx, k).Result()
		if err != nil || got[k] != want {
			t.Errorf("%s = %v (%v), want %s", k, got, err, want)
		}
	}
}
