package integration

import (
	"bufio"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/caddyconfig"
	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/golang-jwt/jwt/v5"
	"github.com/spf13/pflag"

	"github.com/llmgateway/caddy-llm-gateway/providers/providertest"
)

// The secrets of the hygiene test. Their letters are random, so that any
// run of eight of them found elsewhere can only have come from them.
const (
	hygieneGatewayKey  = "sk-gw-Qx7Lm2Vb9Tz4Kp8Rw3Nd6Hy1"
	hygieneUpstreamKey = "sk-up-Jc5Fv0Xs8Bq3Mw7Gk2Pz9Ld4"
	hygieneStaleKey    = "sk-st-Ye6Rn1Ua4Hv8Ct3Wq0Km5Zs7"
	hygieneOllamaKey   = "sk-ol-Ib2Oe9Tj6Na3Dx7Fp1Rk8Gv4"
	hygieneCallerKey   = "sk-cl-Wm4Sz8Ek1Qb5Lh9Ay2Jt6Uo3"
	hygieneWrongKey    = "sk-wr-Pd3Gn7Vc0Xf4Kr8Bi2Mz6Hl1"
	hygieneJWTSecret   = "jwt-Tq8Zc3Lw6Hn1Rv5Yb9Kf2Ds7Mx4Ea0Uj"
)

// maskKey renders a key the way OpenAI quotes a wrong one.
func maskKey(key string) string { return key[:5] + "***" + key[len(key)-4:] }

// hygieneUpstream is an OpenAI-compatible upstream that accepts the
// configured key and the caller's key, and refuses any other with OpenAI's
// 401, which quotes the key masked. Model "breaks" streams one chunk and
// drops the connection; model "quotes" is refused with a 400 that quotes
// the key whole.
func hygieneUpstream(t *testing.T) *providertest.Upstream {
	t.Helper()
	return providertest.NewUpstream(t, providertest.Script(func(r *http.Request) providertest.Reply {
		body, _ := io.ReadAll(r.Body)
		key := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		if key != hygieneUpstreamKey && key != hygieneCallerKey {
			return providertest.OpenAI.JSON(http.StatusUnauthorized, providertest.OpenAIError("Incorrect API key provided: "+maskKey(key)+
				". You can find your API key at https://platform.openai.com/account/api-keys.", "invalid_request_error", "invalid_api_key"))
		}
		switch {
		case strings.Contains(string(body), `"model":"quotes"`):
			return providertest.OpenAI.JSON(http.StatusBadRequest, fmt.Sprintf(`{"error":{"message":"The key %s may not use this model.","type":"invalid_request_error","param":"model","code":null}}`, key))
		case strings.HasSuffix(r.URL.Path, "/models"):
			return providertest.OpenAI.JSON(http.StatusOK, `{"object":"list","data":[{"id":"m","object":"model","created":1,"owned_by":"o"}]}`)
		case strings.HasSuffix(r.URL.Path, "/embeddings"):
			return providertest.OpenAI.JSON(http.StatusOK, `{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.1]}],"model":"m","usage":{"prompt_tokens":1,"total_tokens":1}}`)
		case strings.HasSuffix(r.URL.Path, "/completions") && !strings.HasSuffix(r.URL.Path, "/chat/completions"):
			return providertest.OpenAI.JSON(http.StatusOK, `{"id":"c","object":"text_completion","created":1,"model":"m","choices":[{"index":0,"text":"ok","logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}`)
		case strings.Contains(string(body), `"stream":true`) && strings.Contains(string(body), `"model":"breaks"`):
			return providertest.OpenAI.Stream(heldChunk).Cut()
		case strings.Contains(string(body), `"stream":true`):
			return providertest.OpenAI.Stream(heldChunk +
				providertest.OpenAIEvent(`{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}`) +
				providertest.OpenAIEvent("[DONE]"))
		}
		return providertest.OpenAI.JSON(http.StatusOK, `{"id":"c","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"ok","refusal":null},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}`)
	}))
}

// refusingOllama refuses every call with a message that quotes the key
// whole, as a careless upstream might.
func refusingOllama(t *testing.T) *providertest.Upstream {
	t.Helper()
	return providertest.NewUpstream(t, providertest.Script(func(r *http.Request) providertest.Reply {
		return providertest.Ollama.JSON(http.StatusForbidden, providertest.OllamaError("key "+r.Header.Get("Authorization")+" is not allowed here"))
	}))
}

func hygieneCaddyfile(logFile, upURL, ollamaURL string) string {
	// The README's filter for the key headers Caddy does not redact.
	output := `
		output file ` + logFile + `
		format filter {
			wrap json
			request>headers>X-Api-Key replace REDACTED
			request>headers>Api-Key replace REDACTED
		}`
	return testGlobals("\tlog {"+output+"\n\t\tlevel DEBUG\n\t}\n") + `
http://localhost:9080 {
	log {` + output + `
	}
	handle_path /keys/* {
		llm_gateway {
			provider up openai {
				base_url ` + upURL + `/v1
				api_key {env.HYGIENE_UPSTREAM_KEY}
			}
			provider stale openai {
				base_url ` + upURL + `/v1
				api_key {env.HYGIENE_STALE_KEY}
			}
			provider local ollama {
				base_url ` + ollamaURL + `
				api_key {env.HYGIENE_OLLAMA_KEY}
			}
			model chat up
			model breaks up/breaks
			model quotes up/quotes
			model refused stale
			model llama local/llama3.2
			auth keys {
				key {env.HYGIENE_GATEWAY_KEY} team
			}
		}
	}
	handle_path /jwt/* {
		llm_gateway {
			provider up openai {
				base_url ` + upURL + `/v1
				api_key {env.HYGIENE_UPSTREAM_KEY}
			}
			auth jwt {
				secret {env.HYGIENE_JWT_SECRET}
			}
		}
	}
	handle_path /pt/* {
		llm_gateway {
			provider mine openai {
				base_url ` + upURL + `/v1
			}
			provider stale openai {
				base_url ` + upURL + `/v1
				api_key {env.HYGIENE_STALE_KEY}
			}
			model chat mine
			model breaks mine/breaks
			model quotes mine/quotes
			model refused stale
			auth passthrough
		}
	}
}
`
}

// hygieneRequest is one request of the hygiene test.
type hygieneRequest struct {
	method, path, body string
	header             map[string]string
}

func hygieneRequests(jwtValid, jwtForged, jwtExpired string) []hygieneRequest {
	chat := func(model string, stream bool) string {
		return fmt.Sprintf(`{"model":%q,"stream":%v,"messages":[{"role":"user","content":"hi"}]}`, model, stream)
	}
	bearer := func(k string) map[string]string { return map[string]string{"Authorization": "Bearer " + k} }
	gk := bearer(hygieneGatewayKey)
	var out []hygieneRequest
	// Every endpoint with the gateway key, and the ways calls fail upstream.
	for _, prefix := range []string{"/keys", "/pt"} {
		auth := gk
		if prefix == "/pt" {
			auth = bearer(hygieneCallerKey)
		}
		for _, r := range []hygieneRequest{
			{"POST", "/v1/chat/completions", chat("chat", false), nil},
			{"POST", "/v1/chat/completions", chat("chat", true), nil},
			{"POST", "/v1/chat/completions", chat("breaks", true), nil},
			{"POST", "/v1/chat/completions", chat("refused", false), nil},
			{"POST", "/v1/chat/completions", chat("refused", true), nil},
			{"POST", "/v1/chat/completions", chat("nope", false), nil},
			{"POST", "/v1/chat/completions", chat("quotes", false), nil},
			{"POST", "/v1/chat/completions", chat("quotes", true), nil},
			{"POST", "/v1/completions", `{"model":"chat","prompt":"hi"}`, nil},
			{"POST", "/v1/embeddings", `{"model":"chat","input":"hi"}`, nil},
			{"POST", "/v1/embeddings", `{"model":"refused","input":"hi"}`, nil},
			{"GET", "/v1/models", "", nil},
			{"GET", "/v1/models/chat", "", nil},
			{"GET", "/v1/models/nope", "", nil},
			{"POST", "/api/v1/generate", `{"prompt":"hi","model":"chat"}`, nil},
			{"POST", "/api/v1/generate", `{"prompt":"hi","model":"refused"}`, nil},
			{"POST", "/api/v1/generate/stream", `{"prompt":"hi","model":"chat"}`, nil},
			{"POST", "/api/v1/generate/stream", `{"prompt":"hi","model":"breaks"}`, nil},
			{"POST", "/api/v1/batch/generate", `{"model":"chat","requests":[{"prompt":"a"},{"prompt":"b","model":"refused"}]}`, nil},
			{"GET", "/api/v1/models", "", nil},
			{"POST", "/api/v1/models/llama/load", "", nil},
			{"POST", "/api/chat", `{"model":"chat","messages":[{"role":"user","content":"hi"}]}`, nil},
			{"POST", "/api/chat", `{"model":"refused","messages":[{"role":"user","content":"hi"}]}`, nil},
			{"GET", "/health", "", nil},
			{"GET", "/", "", nil},
			{"GET", "/openapi.json", "", nil},
		} {
			r.path, r.header = prefix+r.path, auth
			out = append(out, r)
		}
	}
	// Wrong and malformed credentials.
	wrongs := []map[string]string{
		bearer(hygieneWrongKey),
		{"Api-Key": hygieneWrongKey},
		{"X-Api-Key": hygieneWrongKey},
		{"Authorization": "Bearer\t" + hygieneWrongKey},
		{"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte("u:"+hygieneWrongKey))},
		{"Authorization": hygieneWrongKey},
		bearer(hygieneGatewayKey + "x"),
		bearer(jwtForged),
		bearer(jwtExpired),
	}
	for _, h := range wrongs {
		for _, prefix := range []string{"/keys", "/jwt"} {
			out = append(out, hygieneRequest{"POST", prefix + "/v1/chat/completions", chat("chat", false), h},
				hygieneRequest{"POST", prefix + "/api/v1/generate", `{"prompt":"hi","model":"chat"}`, h})
		}
	}
	// A caller's wrong key under passthrough goes upstream and is refused.
	out = append(out, hygieneRequest{"POST", "/pt/v1/chat/completions", chat("chat", false), bearer(hygieneWrongKey)},
		hygieneRequest{"POST", "/pt/v1/chat/completions", chat("chat", true), map[string]string{"X-Api-Key": hygieneWrongKey}})
	// A valid JWT.
	for _, path := range []string{"/jwt/v1/chat/completions", "/jwt/v1/models"} {
		method, body := "POST", chat("m", false)
		if strings.HasSuffix(path, "models") {
			method, body = "GET", ""
		}
		out = append(out, hygieneRequest{method, path, body, bearer(jwtValid)})
	}
	return out
}

// findSecret says where in text a secret shows: whole, as any run of 8 of
// its characters, or as an upstream's masked rendering of it.
func findSecret(text string, secrets []string) string {
	for _, s := range secrets {
		if strings.Contains(text, maskKey(s)) {
			return "the masked " + maskKey(s)
		}
		for i := 0; i+8 <= len(s); i++ {
			if strings.Contains(text, s[i:i+8]) {
				return fmt.Sprintf("%q of %s…", s[i:i+8], s[:6])
			}
		}
	}
	return ""
}

// TestSecretHygiene runs every endpoint and error path with recognisable
// secrets: the gateway's own keys, provider keys from {env.*}, callers'
// keys under passthrough, a JWT and its signing secret, wrong keys, and
// upstreams that refuse and quote the key (masked as OpenAI does, or
// whole). No secret may show in any answer's body or headers, any log
// line at any level (Caddy's access log and its handlers' debug lines
// included, filtered as the README shows), /metrics, /health, the adapted config or the output of
// `caddy llm-gateway check`.
func TestSecretHygiene(t *testing.T) {
	up := hygieneUpstream(t)
	ollama := refusingOllama(t)
	for name, value := range map[string]string{
		"HYGIENE_GATEWAY_KEY": hygieneGatewayKey, "HYGIENE_UPSTREAM_KEY": hygieneUpstreamKey, "HYGIENE_STALE_KEY": hygieneStaleKey,
		"HYGIENE_OLLAMA_KEY": hygieneOllamaKey, "HYGIENE_JWT_SECRET": hygieneJWTSecret,
	} {
		t.Setenv(name, value)
	}
	now := time.Now()
	sign := func(secret string, exp time.Time) string {
		return token(t, jwt.SigningMethodHS256, []byte(secret), jwt.MapClaims{"sub": "alice", "exp": exp.Unix()})
	}
	jwtValid := sign(hygieneJWTSecret, now.Add(time.Hour))
	jwtForged := sign("another-secret-of-thirty-two-bytes!!", now.Add(time.Hour))
	jwtExpired := sign(hygieneJWTSecret, now.Add(-time.Hour))
	signature := func(tok string) string { return tok[strings.LastIndexByte(tok, '.')+1:] }
	secrets := []string{hygieneGatewayKey, hygieneUpstreamKey, hygieneStaleKey, hygieneOllamaKey, hygieneCallerKey,
		hygieneWrongKey, hygieneJWTSecret, signature(jwtValid), signature(jwtForged), signature(jwtExpired)}

	logFile := filepath.Join(t.TempDir(), "caddy.log")
	config := hygieneCaddyfile(logFile, up.URL, ollama.URL)
	adapted, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(config), nil)
	if err != nil {
		t.Fatal(err)
	}
	if where := findSecret(string(adapted), secrets); where != "" || !strings.Contains(string(adapted), "{env.HYGIENE_UPSTREAM_KEY}") {
		t.Errorf("the adapted config shows %s, or lost its placeholders", where)
	}
	tester := caddyTester(t)
	tester.InitServer(config, "caddyfile")

	client := freshHTTP()
	var answers strings.Builder
	statuses := map[int]int{}
	for _, r := range hygieneRequests(jwtValid, jwtForged, jwtExpired) {
		req, _ := http.NewRequest(r.method, gatewayURL+r.path, strings.NewReader(r.body))
		req.Header.Set("Content-Type", "application/json")
		for k, v := range r.header {
			req.Header.Set(k, v)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", r.method, r.path, err)
		}
		body, _ := io.ReadAll(resp.Body) // a stream that broke ends with an error here
		resp.Body.Close()
		statuses[resp.StatusCode]++
		answer := fmt.Sprintf("%s %s -> %d %v %s\n", r.method, r.path, resp.StatusCode, resp.Header, body)
		if where := findSecret(answer, secrets); where != "" {
			t.Errorf("an answer shows %s: %.600s", where, answer)
		}
		answers.WriteString(answer)
	}
	for _, status := range []int{200, 401, 403, 404} {
		if statuses[status] == 0 {
			t.Errorf("no request got %d (statuses %v): the test misses a path", status, statuses)
		}
	}
	if !strings.Contains(answers.String(), "refused the gateway's credentials") || !strings.Contains(answers.String(), "refused your API key") {
		t.Error("the upstreams' refusals did not come through")
	}

	for _, url := range []string{"http://localhost:2999/metrics", gatewayURL + "/keys/health", gatewayURL + "/pt/health"} {
		if where := findSecret(httpGet(t, url), secrets); where != "" {
			t.Errorf("%s shows %s", url, where)
		}
	}
	if out := runCheckCommand(t, gatewayURL+"/keys"); !strings.Contains(out, "PASS") {
		t.Errorf("the check did not run: %s", out)
	} else if where := findSecret(out, secrets); where != "" {
		t.Errorf("caddy llm-gateway check shows %s:\n%s", where, out)
	}

	tester.InitServer(testGlobals(""), "caddyfile") // flush and close the log file
	logs, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(logs), `"msg":"handled request"`) || !strings.Contains(string(logs), `"level":"debug"`) {
		t.Fatalf("the log file lacks request or debug lines: %.500s", logs)
	}
	for _, line := range strings.Split(string(logs), "\n") {
		if where := findSecret(line, secrets); where != "" {
			t.Errorf("a log line shows %s: %.600s", where, line)
		}
	}
}

// runCheckCommand runs `caddy llm-gateway check <url>` in this process,
// with the gateway key in $LLM_GATEWAY_KEY, and returns what it printed.
func runCheckCommand(t *testing.T, url string) string {
	t.Helper()
	t.Setenv("LLM_GATEWAY_KEY", hygieneGatewayKey)
	cmd, ok := caddycmd.Commands()["llm-gateway"]
	if !ok {
		t.Fatal("the llm-gateway command is not registered")
	}
	flags := pflag.NewFlagSet(cmd.Name, pflag.ContinueOnError)
	flags.AddGoFlagSet(cmd.Flags)
	if err := flags.Parse([]string{"check", url}); err != nil {
		t.Fatal(err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout := os.Stdout
	os.Stdout = w
	printed := make(chan string)
	go func() {
		b, _ := io.ReadAll(bufio.NewReader(r))
		printed <- string(b)
	}()
	_, runErr := cmd.Func(caddycmd.Flags{FlagSet: flags})
	os.Stdout = stdout
	w.Close()
	out := <-printed
	if runErr != nil {
		out += "\n" + runErr.Error()
	}
	return out
}
