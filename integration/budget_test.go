package integration

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/llmgateway/caddy-llm-gateway/internal/testkit/redistest"
)

// A call of "metered" costs $0.00001: the mock answers the ask's twenty
// words cut at max_tokens 10, and only output is priced, at $1 per
// million tokens; the most it can cost is the same.
const (
	meteredPrice = "\t\tprice metered {\n\t\t\tinput 0\n\t\t\toutput 1\n\t\t}\n"
	meteredAsk   = `{"model":"metered","max_tokens":10,"messages":[{"role":"user","content":"a b c d e f g h i j k l m n o p q r s t"}]}`
)

// askMetered sends the metered ask with key (none when "").
func askMetered(t *testing.T, client *http.Client, url, key, body string) call {
	t.Helper()
	var headers map[string]string
	if key != "" {
		headers = map[string]string{"Authorization": "Bearer " + key}
	}
	return postCall(t, client, url+"/v1/chat/completions", body, headers)
}

// askConcurrently sends the metered ask n times at once, spread over urls.
func askConcurrently(t *testing.T, urls []string, key string, n int) map[int]int {
	client := freshHTTP()
	var mu sync.Mutex
	statuses := map[int]int{}
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			got := askMetered(t, client, urls[i%len(urls)], key, meteredAsk)
			if got.status == http.StatusTooManyRequests {
				if ra, err := strconv.Atoi(got.header.Get("Retry-After")); err != nil || ra < 1 ||
					!strings.Contains(got.body, `"type":"insufficient_quota"`) || !strings.Contains(got.body, `"code":"budget_exceeded"`) {
					t.Errorf("429 %q %s", got.header.Get("Retry-After"), got.body)
				}
			}
			mu.Lock()
			statuses[got.status]++
			mu.Unlock()
		})
	}
	wg.Wait()
	return statuses
}

// keyUsage reads the spend GET /api/v1/key reports, and the group's.
func keyUsage(t *testing.T, url, key string) (usage, groupUsage float64) {
	t.Helper()
	req, _ := http.NewRequest("GET", url+"/api/v1/key", nil)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := freshHTTP().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Data struct {
			Usage float64 `json:"usage"`
			Group *struct {
				Usage float64 `json:"usage"`
			} `json:"group"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/v1/key: %d %v", resp.StatusCode, err)
	}
	if out.Data.Group != nil {
		groupUsage = out.Data.Group.Usage
	}
	return out.Data.Usage, groupUsage
}

// TestBudgetsThroughCaddy: per-key and group budgets in one Caddy, its
// memory store: 40 concurrent calls on a budget for 10 serve exactly 10
// and spend it all, as GET /api/v1/key and the cost metric both say; two
// keys share their team's budget; a stream the client leaves is charged
// what was relayed.
func TestBudgetsThroughCaddy(t *testing.T) {
	tester := caddyTester(t)
	tester.InitServer(testGlobals("")+`

http://localhost:9080 {
	llm_gateway {
		provider words mock
		provider slow mock {
			delay 100ms
		}
		model metered words
		model slow slow
`+meteredPrice+strings.Replace(meteredPrice, "metered", "slow", 1)+`		auth keys {
			key solo-key solo {
				budget 0.0001 daily
			}
			key team-a-key team-a {
				group team
			}
			key team-b-key team-b {
				group team
			}
			key stream-key streamer {
				budget 1 monthly
			}
		}
		group team {
			budget 0.00003 weekly
		}
	}
}
`, "caddyfile")
	if got := askConcurrently(t, []string{gatewayURL}, "solo-key", 40); got[200] != 10 || got[429] != 30 {
		t.Fatalf("statuses %v, want exactly 10×200 and 30×429", got)
	}
	if usage, _ := keyUsage(t, gatewayURL, "solo-key"); usage != 0.0001 {
		t.Errorf("solo's usage %v, want its whole budget, 0.0001", usage)
	}
	if cost := metricValue(t, `llm_gateway_cost_usd_total{model="metered",provider="words"}`); cost != 0.0001 {
		t.Errorf("cost metric %v, want 0.0001 (every call so far was solo's)", cost)
	}

	client := freshHTTP()
	for i, key := range []string{"team-a-key", "team-b-key", "team-a-key", "team-b-key"} {
		want := http.StatusOK
		if i == 3 {
			want = http.StatusTooManyRequests
		}
		if got := askMetered(t, client, gatewayURL, key, meteredAsk); got.status != want {
			t.Errorf("team call %d by %s: %d, want %d", i+1, key, got.status, want)
		}
	}
	if _, group := keyUsage(t, gatewayURL, "team-b-key"); group != 0.00003 {
		t.Errorf("the team's usage %v, want 0.00003", group)
	}

	// A stream the client leaves after its first chunks is charged what
	// was relayed: at least those chunks, less than its whole answer.
	req, _ := http.NewRequest("POST", gatewayURL+"/v1/chat/completions",
		strings.NewReader(strings.Replace(meteredAsk, `"model":"metered","max_tokens":10`, `"model":"slow","stream":true,"max_tokens":10`, 1)))
	req.Header.Set("Authorization", "Bearer stream-key")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1)
	if _, err := io.ReadFull(resp.Body, buf); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	// Until the gateway notices the client is gone, the call's whole
	// reservation (0.00001) stands; then it settles.
	var usage float64
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) { // polling a settlement no event announces
		if usage, _ = keyUsage(t, gatewayURL, "stream-key"); usage != 0.00001 {
			break
		}
	}
	if usage <= 0 || usage >= 0.00001 {
		t.Errorf("the stream left after its first byte was charged %v, want more than 0 and less than its whole 0.00001", usage)
	}
}

// TestDistributedBudgetAcrossTwoInstances: two Caddy processes keep one
// budget in one Redis: 40 concurrent calls on a budget for 10, spread over
// both, serve exactly 10, and both report the whole budget spent.
func TestDistributedBudgetAcrossTwoInstances(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two Caddy processes and a redis-server")
	}
	redis := redistest.Start(t)
	bin := buildCaddy(t)
	block := "\t\tprovider words mock\n\t\tmodel metered words\n" + meteredPrice +
		"\t\tbudget 0.0001 daily\n\t\trate_limit_store redis " + redis.URL + "\n"
	urls := []string{startCaddyProcess(t, bin, block), startCaddyProcess(t, bin, block)}
	if got := askConcurrently(t, urls, "", 40); got[200] != 10 || got[429] != 30 {
		t.Fatalf("statuses %v, want exactly 10×200 and 30×429 across both instances", got)
	}
	for _, url := range urls {
		if usage, _ := keyUsage(t, url, ""); usage != 0.0001 {
			t.Errorf("%s reports usage %v, want the whole budget, 0.0001", url, usage)
		}
	}
}
