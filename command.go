package llmgateway

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"time"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"
)

// keyEnv is the environment variable `caddy llm-gateway check` reads the
// gateway key from when --key is not given.
const keyEnv = "LLM_GATEWAY_KEY"

func init() {
	caddycmd.RegisterCommand(caddycmd.Command{
		Name:  "llm-gateway",
		Usage: "check [<url>] [--key <key>] [--model <name>] [--timeout <duration>]",
		Short: "Checks a running LLM gateway from the outside",
		Long: `
check calls a running gateway the way a client does and prints a pass/fail
report with timings:

  health         GET /health (skipped when the site has no such endpoint)
  models         GET /v1/models
  chat           POST /v1/chat/completions
  stream         the same, streamed: Server-Sent Events up to [DONE]
  unknown model  a model name no route serves must get 404 model_not_found

<url> is the gateway's site, e.g. https://llm.example.com (a trailing /v1 is
ignored); default http://localhost:8080. The key is taken from --key, else
from the LLM_GATEWAY_KEY environment variable, else asked for when a
terminal is attached; an empty key sends none (for auth none). The key is
never printed. The chat and stream use --model, or the first model that
GET /v1/models lists.

The exit status is 0 when no check failed, 1 otherwise.
`,
		Func: cmdCheck,
		Flags: func() *flag.FlagSet {
			fs := flag.NewFlagSet("llm-gateway", flag.ExitOnError)
			fs.String("key", "", "the gateway API key (default: $"+keyEnv+", or asked for on a terminal)")
			fs.String("model", "", "the model for the chat and stream checks (default: the first one listed)")
			fs.Duration("timeout", 30*time.Second, "limit on each check")
			return fs
		}(),
	})
}

func cmdCheck(fl caddycmd.Flags) (int, error) {
	args := fl.Args()
	if len(args) == 0 || args[0] != "check" {
		return usageError("expected the subcommand check: caddy llm-gateway check [<url>]")
	}
	if len(args) > 2 {
		return usageError("too many arguments: caddy llm-gateway check [<url>]")
	}
	opts := checkOptions{
		URL:     "http://localhost:8080",
		Model:   fl.String("model"),
		Timeout: fl.Duration("timeout"),
	}
	if len(args) == 2 {
		opts.URL = args[1]
	}
	var err error
	opts.Key, opts.KeySource, err = resolveKey(fl.String("key"))
	if err != nil {
		return 1, err
	}
	report, err := runCheck(context.Background(), os.Stdout, opts)
	if err != nil {
		return 1, err
	}
	if report.Failed > 0 {
		return 1, fmt.Errorf("llm-gateway check: %d of %d checks failed", report.Failed, len(report.Results))
	}
	return 0, nil
}

func usageError(msg string) (int, error) { return 2, errors.New(msg) }

// resolveKey returns the key from the flag, the environment or, on a
// terminal, a prompt; and where it came from (for the report, never the key).
func resolveKey(flagKey string) (key, source string, err error) {
	if flagKey != "" {
		return flagKey, "--key", nil
	}
	if k := os.Getenv(keyEnv); k != "" {
		return k, "$" + keyEnv, nil
	}
	if fi, err := os.Stdin.Stat(); err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		return "", "none", nil // not interactive: no key
	}
	tty, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	if err != nil {
		return "", "none", nil
	}
	defer tty.Close()
	key, err = promptKey(tty)
	if err != nil {
		return "", "", err
	}
	if key == "" {
		return "", "none", nil
	}
	return key, "prompt", nil
}

// promptKey asks for the key on the terminal with echo turned off (by
// stty, when there is one).
func promptKey(tty *os.File) (string, error) {
	fmt.Fprint(tty, "Gateway API key (empty for none): ")
	if stty(tty, "-echo") == nil {
		defer func() {
			_ = stty(tty, "echo")
			fmt.Fprintln(tty)
		}()
	}
	line, err := bufio.NewReader(tty).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("reading the key: %w", err)
	}
	return strings.TrimSpace(line), nil
}

func stty(tty *os.File, arg string) error {
	cmd := exec.Command("stty", arg)
	cmd.Stdin = tty
	return cmd.Run()
}

type checkOptions struct {
	URL       string // the gateway's site, with or without /v1
	Key       string // empty: no key sent
	KeySource string // where the key came from, shown in the report
	Model     string // empty: the first listed model
	Timeout   time.Duration
	Client    *http.Client // nil: a client without a total timeout (streams)
}

// checkStatus is a check's outcome.
type checkStatus string

const (
	checkPass checkStatus = "PASS"
	checkFail checkStatus = "FAIL"
	checkSkip checkStatus = "SKIP"
)

type checkResult struct {
	Name     string
	Status   checkStatus
	Duration time.Duration
	Detail   string
}

type checkReport struct {
	Results []checkResult
	Failed  int
}

// checker runs the checks against one gateway.
type checker struct {
	opts   checkOptions
	base   string // the site URL without a trailing / or /v1
	client *http.Client
	model  string
}

// runCheck runs every check, writes the report to out and returns it. An
// error means the checks could not run at all (a malformed URL).
func runCheck(ctx context.Context, out io.Writer, opts checkOptions) (checkReport, error) {
	base := strings.TrimRight(strings.TrimSpace(opts.URL), "/")
	base = strings.TrimSuffix(base, "/v1")
	if !strings.HasPrefix(base, "http://") && !strings.HasPrefix(base, "https://") {
		return checkReport{}, fmt.Errorf("gateway URL %q: must start with http:// or https://", opts.URL)
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 30 * time.Second
	}
	c := &checker{opts: opts, base: base, client: opts.Client, model: opts.Model}
	if c.client == nil {
		c.client = &http.Client{}
	}
	source := opts.KeySource
	if source == "" {
		source = "none"
		if opts.Key != "" {
			source = "given"
		}
	}
	fmt.Fprintf(out, "Checking the LLM gateway at %s (key: %s)\n", base, source)

	var report checkReport
	steps := []struct {
		name string
		run  func(context.Context) (checkStatus, string)
	}{
		{"health", c.health},
		{"models", c.models},
		{"chat", c.chat},
		{"stream", c.stream},
		{"unknown model", c.unknownModel},
	}
	for _, s := range steps {
		sctx, cancel := context.WithTimeout(ctx, opts.Timeout)
		start := time.Now()
		status, detail := s.run(sctx)
		cancel()
		r := checkResult{Name: s.name, Status: status, Duration: time.Since(start), Detail: c.redact(detail)}
		report.Results = append(report.Results, r)
		if status == checkFail {
			report.Failed++
		}
		fmt.Fprintf(out, "  %-4s  %-13s %9s  %s\n", r.Status, r.Name, formatDuration(r.Duration), r.Detail)
	}
	var passed, skipped int
	for _, r := range report.Results {
		switch r.Status {
		case checkPass:
			passed++
		case checkSkip:
			skipped++
		}
	}
	fmt.Fprintf(out, "%d passed, %d skipped, %d failed\n", passed, skipped, report.Failed)
	return report, nil
}

func formatDuration(d time.Duration) string {
	return fmt.Sprintf("%.1fms", float64(d.Microseconds())/1000)
}

// redact removes the key from text the gateway or the network produced,
// should any of it ever quote the key.
func (c *checker) redact(s string) string {
	if c.opts.Key == "" {
		return s
	}
	return strings.ReplaceAll(s, c.opts.Key, "[key]")
}

func (c *checker) request(ctx context.Context, method, path string, body any) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.opts.Key != "" {
		req.Header.Set("Authorization", "Bearer "+c.opts.Key)
	}
	req.Header.Set("User-Agent", "caddy-llm-gateway-check")
	return c.client.Do(req)
}

// apiError is OpenAI's error shape, which the gateway answers with.
type apiError struct {
	Error *struct {
		Message string  `json:"message"`
		Type    string  `json:"type"`
		Code    *string `json:"code"`
	} `json:"error"`
}

// describeFailure says what a non-2xx answer means, with the hint that
// usually fixes it.
func describeFailure(resp *http.Response, body []byte) string {
	msg := fmt.Sprintf("HTTP %d", resp.StatusCode)
	var e apiError
	if json.Unmarshal(body, &e) == nil && e.Error != nil {
		if e.Error.Code != nil {
			msg += " " + *e.Error.Code
		}
		msg += ": " + e.Error.Message
	} else if s := strings.TrimSpace(string(body)); s != "" {
		msg += ": " + truncate(s, 120)
	}
	switch resp.StatusCode {
	case http.StatusUnauthorized:
		msg += " (give the gateway's key with --key or $" + keyEnv + ")"
	case http.StatusForbidden:
		msg += " (the key may not use this model: try --model)"
	case http.StatusTooManyRequests:
		if ra := resp.Header.Get("Retry-After"); ra != "" {
			msg += " (rate limited; retry after " + ra + "s)"
		}
	}
	return msg
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}

func readBody(resp *http.Response) []byte {
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return b
}

func (c *checker) health(ctx context.Context) (checkStatus, string) {
	resp, err := c.request(ctx, http.MethodGet, "/health", nil)
	if err != nil {
		return checkFail, "cannot reach the gateway: " + err.Error()
	}
	body := readBody(resp)
	var h struct {
		Status string `json:"status"`
	}
	isJSON := json.Unmarshal(body, &h) == nil
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return checkSkip, "no /health endpoint on this site (HTTP 404)"
	case resp.StatusCode == http.StatusOK && !isJSON:
		if len(bytes.TrimSpace(body)) == 0 {
			return checkSkip, "GET /health answered 200 with an empty body: not the gateway's health endpoint"
		}
		return checkPass, "HTTP 200: " + truncate(strings.TrimSpace(string(body)), 60)
	case resp.StatusCode == http.StatusOK:
		if h.Status == "" {
			return checkPass, "HTTP 200"
		}
		return checkPass, "HTTP 200, status " + h.Status
	default:
		return checkFail, describeFailure(resp, body)
	}
}

// emptyAnswer explains an empty 200, which Caddy sends when no route of
// the site handled the request.
func emptyAnswer(path string) string {
	return "GET " + path + " answered 200 with an empty body: no llm_gateway handled it. " +
		"Either the Caddyfile's site address does not match the host in this URL (a site `http://localhost:8080` " +
		"answers only requests for localhost; write `:8080` to answer on any host), or the llm_gateway directive " +
		"sits in a route or handle block that does not match this path"
}

func (c *checker) models(ctx context.Context) (checkStatus, string) {
	resp, err := c.request(ctx, http.MethodGet, "/v1/models", nil)
	if err != nil {
		return checkFail, err.Error()
	}
	body := readBody(resp)
	if resp.StatusCode != http.StatusOK {
		return checkFail, describeFailure(resp, body)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return checkFail, emptyAnswer("/v1/models")
	}
	var list struct {
		Object string `json:"object"`
		Data   []struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &list); err != nil || list.Object != "list" {
		return checkFail, "not an OpenAI model list: " + truncate(string(body), 80)
	}
	ids := make([]string, 0, len(list.Data))
	for _, m := range list.Data {
		ids = append(ids, m.ID)
	}
	if c.model == "" && len(ids) > 0 {
		c.model = ids[0]
	}
	shown := ids
	if len(shown) > 5 {
		shown = append(shown[:5:5], "…")
	}
	return checkPass, fmt.Sprintf("%d models: %s", len(ids), strings.Join(shown, ", "))
}

func (c *checker) chatBody(stream bool, model string) map[string]any {
	b := map[string]any{
		"model":      model,
		"messages":   []map[string]string{{"role": "user", "content": "Reply with one short sentence: is the gateway up?"}},
		"max_tokens": 32,
	}
	if stream {
		b["stream"] = true
	}
	return b
}

func (c *checker) chat(ctx context.Context) (checkStatus, string) {
	if c.model == "" {
		return checkFail, "no model to ask: /v1/models listed none; pass --model"
	}
	resp, err := c.request(ctx, http.MethodPost, "/v1/chat/completions", c.chatBody(false, c.model))
	if err != nil {
		return checkFail, err.Error()
	}
	body := readBody(resp)
	if resp.StatusCode != http.StatusOK {
		return checkFail, describeFailure(resp, body)
	}
	var r struct {
		Object  string `json:"object"`
		Choices []struct {
			Message struct {
				Content *string `json:"content"`
			} `json:"message"`
		} `json:"choices"`
		Usage *struct {
			Total int `json:"total_tokens"`
		} `json:"usage"`
	}
	if err := json.Unmarshal(body, &r); err != nil || r.Object != "chat.completion" || len(r.Choices) == 0 {
		return checkFail, "not an OpenAI chat completion: " + truncate(string(body), 80)
	}
	detail := "model " + c.model
	if content := r.Choices[0].Message.Content; content != nil {
		detail += fmt.Sprintf(": %q", truncate(*content, 40))
	}
	if r.Usage != nil {
		detail += fmt.Sprintf(", %d tokens", r.Usage.Total)
	}
	if rem, lim := resp.Header.Get("X-RateLimit-Remaining"), resp.Header.Get("X-RateLimit-Limit"); rem != "" {
		detail += fmt.Sprintf(", rate limit %s of %s left", rem, lim)
	}
	return checkPass, detail
}

func (c *checker) stream(ctx context.Context) (checkStatus, string) {
	if c.model == "" {
		return checkFail, "no model to ask: /v1/models listed none; pass --model"
	}
	start := time.Now()
	resp, err := c.request(ctx, http.MethodPost, "/v1/chat/completions", c.chatBody(true, c.model))
	if err != nil {
		return checkFail, err.Error()
	}
	if resp.StatusCode != http.StatusOK {
		return checkFail, describeFailure(resp, readBody(resp))
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		return checkFail, fmt.Sprintf("Content-Type %q, want text/event-stream", ct)
	}
	var chunks int
	var first time.Duration
	var text strings.Builder
	done := false
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		data, ok := strings.CutPrefix(line, "data:")
		if !ok {
			continue
		}
		data = strings.TrimSpace(data)
		if data == "[DONE]" {
			done = true
			break
		}
		var chunk struct {
			Object  string          `json:"object"`
			Error   json.RawMessage `json:"error"`
			Choices []struct {
				Delta struct {
					Content string `json:"content"`
				} `json:"delta"`
			} `json:"choices"`
		}
		if err := json.Unmarshal([]byte(data), &chunk); err != nil {
			return checkFail, "an event that is not JSON: " + truncate(data, 80)
		}
		if chunk.Error != nil {
			return checkFail, "the stream failed: " + truncate(string(chunk.Error), 120)
		}
		if chunk.Object != "chat.completion.chunk" {
			return checkFail, fmt.Sprintf("chunk object %q, want chat.completion.chunk", chunk.Object)
		}
		if chunks == 0 {
			first = time.Since(start)
		}
		chunks++
		if len(chunk.Choices) > 0 {
			text.WriteString(chunk.Choices[0].Delta.Content)
		}
	}
	if err := sc.Err(); err != nil {
		return checkFail, fmt.Sprintf("after %d chunks: %v", chunks, err)
	}
	if !done {
		return checkFail, fmt.Sprintf("the stream ended after %d chunks without data: [DONE]", chunks)
	}
	return checkPass, fmt.Sprintf("%d chunks, first after %s, then [DONE]: %q",
		chunks, formatDuration(first), truncate(text.String(), 30))
}

func (c *checker) unknownModel(ctx context.Context) (checkStatus, string) {
	name := fmt.Sprintf("llm-gateway-check-no-such-model-%d", time.Now().UnixNano())
	resp, err := c.request(ctx, http.MethodPost, "/v1/chat/completions", c.chatBody(false, name))
	if err != nil {
		return checkFail, err.Error()
	}
	body := readBody(resp)
	var e apiError
	shaped := json.Unmarshal(body, &e) == nil && e.Error != nil && e.Error.Message != ""
	switch {
	case resp.StatusCode == http.StatusNotFound && shaped:
		code := "null"
		if e.Error.Code != nil {
			code = *e.Error.Code
		}
		return checkPass, "HTTP 404 " + code + ", in OpenAI's error shape"
	case resp.StatusCode == http.StatusNotFound:
		return checkFail, "HTTP 404 without OpenAI's error shape: " + truncate(string(body), 80)
	case resp.StatusCode == http.StatusOK:
		return checkSkip, "HTTP 200: a `model *` route sends every model name upstream"
	default:
		return checkFail, describeFailure(resp, body) + " (want 404 model_not_found)"
	}
}
