package llmgateway

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
)

func TestProvisionAppliesEveryDefault(t *testing.T) {
	g, err := provision(t, "llm_gateway {\n\tprovider mock\n}")
	if err != nil {
		t.Fatal(err)
	}
	if g.MaxBody != 8<<20 || g.TokenReserve != 1024 || g.BatchConcurrency != 4 || g.BatchMax != 32 {
		t.Errorf("defaults: max_body %d, token_reserve %d, batch_concurrency %d, batch_max %d",
			g.MaxBody, g.TokenReserve, g.BatchConcurrency, g.BatchMax)
	}
	if *g.FailThreshold != 3 || g.Cooldown != caddy.Duration(10*time.Second) {
		t.Errorf("defaults: fail_threshold %d, cooldown %v", *g.FailThreshold, g.Cooldown)
	}
}

// TestProvisionChecksBeforeBuildingThePipeline: a JSON config can hold
// values a Caddyfile cannot; they are refused under their own names
// before the pipeline is built.
func TestProvisionChecksBeforeBuildingThePipeline(t *testing.T) {
	for _, name := range []string{"max_body", "timeout", "max_attempts", "first_token_timeout", "cooldown", "batch_max"} {
		g := new(Gateway)
		config := `{"providers":[{"provider":"mock","name":"mock"}],"` + name + `":-1}`
		if err := json.Unmarshal([]byte(config), g); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
		err := g.Provision(ctx)
		cancel()
		if err == nil || err.Error() != name+" must not be negative" {
			t.Errorf("%s -1: %v", name, err)
		}
		_ = g.Cleanup()
	}
}

func TestProvisionChecksBudgetsAndGroups(t *testing.T) {
	for _, tc := range []struct{ config, want string }{
		{"llm_gateway {\n\tprovider mock\n\tauth keys {\n\t\tkey k1 a {\n\t\t\tgroup ghosts\n\t\t}\n\t}\n\tgroup team\n}",
			`auth key a: group "ghosts" is not configured (known: team)`},
		{"llm_gateway {\n\tprovider mock\n\tauth jwt {\n\t\tsecret 0123456789abcdef0123456789abcdef\n\t}\n\tgroup team {\n\t\tbudget 5 daily\n\t}\n}",
			"auth jwt: groups are configured but no group_claim names the claim"},
	} {
		if _, err := provision(t, tc.config); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want %q", tc.config, err, tc.want)
		}
	}
	if _, err := provision(t, "llm_gateway {\n\tprovider mock\n\tbudget 5 daily\n\tgroup team {\n\t\tbudget 50 monthly\n\t}\n}"); err != nil {
		t.Errorf("budgets with a memory store: %v", err)
	}
}
