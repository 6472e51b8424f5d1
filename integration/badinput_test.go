package integration

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/llmgateway/caddy-llm-gateway/internal/testkit/openaischema"
)

// strictOpenAI is an OpenAI-compatible upstream that checks a chat request
// the way OpenAI does and answers 400 in OpenAI's shape when it is wrong,
// so the passthrough path shows how an upstream's refusal reaches clients.
func strictOpenAI(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		refuse := func(param, code, msg string) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{
				"message": msg, "type": "invalid_request_error", "param": param, "code": code}})
		}
		var req struct {
			Messages  json.RawMessage `json:"messages"`
			MaxTokens *json.Number    `json:"max_tokens"`
			N         *json.Number    `json:"n"`
		}
		dec := json.NewDecoder(r.Body)
		dec.UseNumber()
		if err := dec.Decode(&req); err != nil {
			refuse("", "invalid_json", "We could not parse the JSON body of your request.")
			return
		}
		var msgs []struct {
			Role string `json:"role"`
		}
		if err := json.Unmarshal(req.Messages, &msgs); err != nil {
			refuse("messages", "invalid_type", "Invalid type for 'messages': expected an array.")
			return
		}
		if len(msgs) == 0 {
			refuse("messages", "empty_array", "Invalid 'messages': empty array. Expected an array with minimum length 1.")
			return
		}
		for i, m := range msgs {
			switch m.Role {
			case "system", "developer", "user", "assistant", "tool":
			default:
				refuse(fmt.Sprintf("messages[%d].role", i), "invalid_value", "Invalid value for 'role'.")
				return
			}
		}
		if req.MaxTokens != nil {
			if n, err := req.MaxTokens.Int64(); err != nil || n < 1 {
				refuse("max_tokens", "integer_below_min_value", "Invalid 'max_tokens': expected an integer of at least 1.")
				return
			}
		}
		if req.N != nil {
			if n, err := req.N.Int64(); err != nil || n < 1 || n > 128 {
				refuse("n", "integer_out_of_range", "Invalid 'n': expected an integer between 1 and 128.")
				return
			}
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"id":"chatcmpl-1","object":"chat.completion","created":1735689600,"model":"gpt-4o-mini-2024-07-18","choices":[{"index":0,"message":{"role":"assistant","content":"Hello from upstream.","refusal":null,"annotations":[]},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":9,"completion_tokens":3,"total_tokens":12}}`)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// badInputBlock routes `echo` to the mock provider, `fast` to an
// OpenAI-compatible upstream (passthrough) and `sonnet` to Anthropic
// (translating), with a 1 MB body limit.
func badInputBlock(openaiURL, anthropicURL string) string {
	return `		provider up openai {
			base_url ` + openaiURL + `/v1
			api_key sk-upstream
		}
		provider echo mock {
			models echo
		}
		provider claude anthropic {
			base_url ` + anthropicURL + `
			api_key ` + anthropicUpstreamKey + `
			max_tokens 1000
		}
		model fast up/gpt-4o-mini
		model echo echo
		model sonnet claude/claude-sonnet-4-5
		max_body 1MB
		auth keys {
			key ` + clientKey + ` tests
		}`
}

const badInputLimit = 1000 * 1000 // max_body 1MB

type badCase struct {
	name string
	path string // default /v1/chat/completions
	body string
	// header overrides the default Authorization and Content-Type; an
	// empty value removes the header.
	header map[string]string
	// raw, when set, is sent as the request's header lines over a raw TCP
	// connection (for bytes Go's client refuses to send), with body.
	raw string
	// declare, when set, is the Content-Length of a raw request that then
	// stops sending.
	declare int

	status int
	code   string // the error's code; "null" for null; "" when not checked
	param  string // the error's param, when not empty
	// goRejects: Go's HTTP server refuses the request before the gateway
	// sees it, with a plain-text 400 of its own.
	goRejects bool
	schema    string // the schema a 2xx body must match
	// secret must not come back whole, in the body or any header.
	secret string
}

func chatBody(model, extra string) string {
	return `{"model":"` + model + `","messages":[{"role":"user","content":"hi"}]` + extra + `}`
}

func TestBadInput(t *testing.T) {
	up := strictOpenAI(t)
	ant := newFakeAnthropicAPI(t)
	startGateway(t, badInputBlock(up.URL, ant.URL))

	long := strings.Repeat("m", 10<<10)
	longKey := "sk-" + strings.Repeat("k", 10<<10)
	deep := strings.Repeat("[", 100000)
	deepObj := strings.Repeat(`{"a":`, 100000)
	msgs := `[{"role":"user","content":"hi"}]`
	cases := []badCase{
		// Not JSON, or not an object.
		{name: "empty body", body: "", status: 400, code: "invalid_request_body"},
		{name: "truncated object", body: `{"model":"echo","messages":[`, status: 400, code: "invalid_request_body"},
		{name: "trailing comma", body: `{"model":"echo",}`, status: 400, code: "invalid_request_body"},
		{name: "plain text", body: `hello gateway`, status: 400, code: "invalid_request_body"},
		{name: "array", body: `[` + chatBody("echo", "") + `]`, status: 400, code: "invalid_request_body"},
		{name: "string", body: `"hi"`, status: 400, code: "invalid_request_body"},
		{name: "null", body: `null`, status: 400, code: "invalid_request_body"},
		{name: "two objects", body: chatBody("echo", "") + chatBody("echo", ""), status: 400, code: "invalid_request_body"},
		{name: "NUL after object", body: chatBody("echo", "") + "\x00", status: 400, code: "invalid_request_body"},
		{name: "raw newline in string", body: `{"model":"echo","messages":[{"role":"user","content":"a` + "\n" + `b"}]}`, status: 400, code: "invalid_request_body"},
		{name: "bad escape", body: `{"model":"ec\ho","messages":` + msgs + `}`, status: 400, code: "invalid_request_body"},
		// Wrong types.
		{name: "model number", body: `{"model":4,"messages":` + msgs + `}`, status: 400, code: "invalid_type", param: "model"},
		{name: "model object", body: `{"model":{"name":"echo"},"messages":` + msgs + `}`, status: 400, code: "invalid_type", param: "model"},
		{name: "model array", body: `{"model":["echo"],"messages":` + msgs + `}`, status: 400, code: "invalid_type", param: "model"},
		{name: "stream yes", body: chatBody("echo", `,"stream":"yes"`), status: 400, code: "invalid_type", param: "stream"},
		{name: "stream 1", body: chatBody("echo", `,"stream":1`), status: 400, code: "invalid_type", param: "stream"},
		{name: "messages string mock", body: `{"model":"echo","messages":"hi"}`, status: 400},
		{name: "messages string passthrough", body: `{"model":"fast","messages":"hi"}`, status: 400, code: "invalid_type", param: "messages"},
		{name: "messages string translating", body: `{"model":"sonnet","messages":"hi"}`, status: 400},
		{name: "temperature string translating", body: chatBody("sonnet", `,"temperature":"hot"`), status: 400},
		// Missing or empty messages.
		{name: "no messages mock", body: `{"model":"echo"}`, status: 400, param: "messages"},
		{name: "empty messages mock", body: `{"model":"echo","messages":[]}`, status: 400, param: "messages"},
		{name: "empty messages passthrough", body: `{"model":"fast","messages":[]}`, status: 400, code: "empty_array", param: "messages"},
		{name: "no messages translating", body: `{"model":"sonnet"}`, status: 400, param: "messages"},
		{name: "empty messages translating", body: `{"model":"sonnet","messages":[]}`, status: 400, param: "messages"},
		{name: "no model", body: `{"messages":` + msgs + `}`, status: 400, code: "null"},
		// Roles.
		{name: "unknown role passthrough", body: `{"model":"fast","messages":[{"role":"wizard","content":"hi"}]}`, status: 400, code: "invalid_value", param: "messages[0].role"},
		{name: "unknown role translating", body: `{"model":"sonnet","messages":[{"role":"wizard","content":"hi"}]}`, status: 400, param: "messages[0].role"},
		{name: "long CRLF role translating", body: `{"model":"sonnet","messages":[{"role":"x\r\nX-Injected: 1` + long + `","content":"hi"}]}`, status: 400, param: "messages[0].role", secret: long},
		{name: "function role translating", body: `{"model":"sonnet","messages":[{"role":"function","content":"hi"}]}`, status: 400, param: "messages[0].role"},
		// Invalid UTF-8: JSON syntax does not care; the answer stays valid JSON.
		{name: "invalid UTF-8 content", body: "{\"model\":\"echo\",\"messages\":[{\"role\":\"user\",\"content\":\"a\xff\xfe b\xc3\"}]}", status: 200, schema: openaischema.ChatCompletion},
		{name: "invalid UTF-8 model", body: "{\"model\":\"ec\xffho\",\"messages\":" + msgs + "}", status: 404, code: "model_not_found", param: "model"},
		{name: "invalid UTF-8 content translating", body: "{\"model\":\"sonnet\",\"messages\":[{\"role\":\"user\",\"content\":\"\xc0\xaf\"}]}", status: 200, schema: openaischema.ChatCompletion},
		// Huge and absurd numbers.
		{name: "max_tokens 1e400 mock", body: chatBody("echo", `,"max_tokens":1e400`), status: 400},
		{name: "max_tokens 2^70 mock", body: chatBody("echo", `,"max_tokens":1180591620717411303424`), status: 400},
		{name: "max_tokens 1e400 translating", body: chatBody("sonnet", `,"max_tokens":1e400`), status: 400},
		{name: "max_tokens 2^70 passthrough", body: chatBody("fast", `,"max_tokens":1180591620717411303424`), status: 400, param: "max_tokens"},
		{name: "max_tokens 2^63 passthrough", body: chatBody("fast", `,"max_tokens":9223372036854775808`), status: 400, param: "max_tokens"},
		{name: "max_tokens -1 passthrough", body: chatBody("fast", `,"max_tokens":-1`), status: 400, param: "max_tokens"},
		{name: "max_tokens -1 translating", body: chatBody("sonnet", `,"max_tokens":-1`), status: 400, param: "max_tokens"},
		{name: "max_completion_tokens 1.5 translating", body: chatBody("sonnet", `,"max_completion_tokens":1.5`), status: 400},
		{name: "n -1 translating", body: chatBody("sonnet", `,"n":-1`), status: 400, param: "n"},
		{name: "n 0 passthrough", body: chatBody("fast", `,"n":0`), status: 400, param: "n"},
		{name: "n 1e9 passthrough", body: chatBody("fast", `,"n":1000000000`), status: 400, param: "n"},
		{name: "n 1e400 translating", body: chatBody("sonnet", `,"n":1e400`), status: 400},
		// Negative counts are the gateway's to refuse: never sent upstream.
		{name: "max_tokens -5 mock", body: chatBody("echo", `,"max_tokens":-5`), status: 400, code: "integer_below_min_value", param: "max_tokens"},
		{name: "max_completion_tokens -1 passthrough", body: chatBody("fast", `,"max_completion_tokens":-1`), status: 400, code: "integer_below_min_value", param: "max_completion_tokens"},
		{name: "n -2 passthrough", body: chatBody("fast", `,"n":-2`), status: 400, code: "integer_below_min_value", param: "n"},
		{name: "top_logprobs -1 translating", body: chatBody("sonnet", `,"top_logprobs":-1`), status: 400, code: "integer_below_min_value", param: "top_logprobs"},
		{name: "dimensions -3 embeddings", path: "/v1/embeddings", body: `{"model":"fast","input":"hi","dimensions":-3}`, status: 400, code: "integer_below_min_value", param: "dimensions"},
		// Nesting far past any parser's depth limit.
		{name: "100k [", body: deep, status: 400, code: "invalid_request_body"},
		{name: "100k [ in messages", body: `{"model":"echo","messages":` + deep + `}`, status: 400, code: "invalid_request_body"},
		{name: "100k nested objects", body: `{"model":"echo","x":` + deepObj + `1` + strings.Repeat("}", 100000) + `}`, status: 400, code: "invalid_request_body"},
		// Content types: the body is read as JSON whatever the label says.
		{name: "text/plain JSON", body: chatBody("echo", ""), header: map[string]string{"Content-Type": "text/plain"}, status: 200, schema: openaischema.ChatCompletion},
		{name: "no content type", body: chatBody("echo", ""), header: map[string]string{"Content-Type": ""}, status: 200, schema: openaischema.ChatCompletion},
		{name: "form encoded", body: `model=echo&messages=hi`, header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, status: 400, code: "invalid_request_body"},
		{name: "multipart", body: "--b\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\necho\r\n--b--\r\n", header: map[string]string{"Content-Type": "multipart/form-data; boundary=b"}, status: 400, code: "invalid_request_body"},
		// Model names.
		{name: "model with CRLF", body: `{"model":"echo\r\nX-Injected: 1","messages":` + msgs + `}`, status: 404, code: "model_not_found", param: "model"},
		{name: "model with ../", body: `{"model":"../../../etc/passwd","messages":` + msgs + `}`, status: 404, code: "model_not_found", param: "model"},
		{name: "model with ../ and provider", body: `{"model":"up/../echo","messages":` + msgs + `}`, status: 404, code: "model_not_found", param: "model"},
		{name: "model 10 KB", body: `{"model":"` + long + `","messages":` + msgs + `}`, status: 404, code: "model_not_found", param: "model", secret: long},
		{name: "model empty", body: `{"model":"","messages":` + msgs + `}`, status: 404, code: "model_not_found"},
		{name: "model NUL", body: `{"model":"echo\u0000","messages":` + msgs + `}`, status: 404, code: "model_not_found"},
		{name: "model escaped key", body: `{"model":"echo","mod\u0065l":"fast","messages":` + msgs + `}`, status: 400, code: "invalid_request_body"},
		{name: "model other case key", body: `{"model":"echo","Model":"fast","messages":` + msgs + `}`, status: 400, code: "invalid_request_body"},
		{name: "stream escaped key", body: chatBody("fast", `,"str\u0065am":true`), status: 400, code: "invalid_request_body"},
		// Authorization forms.
		{name: "no key", body: chatBody("echo", ""), header: map[string]string{"Authorization": ""}, status: 401, code: "missing_api_key"},
		{name: "Bearer alone", body: chatBody("echo", ""), header: map[string]string{"Authorization": "Bearer"}, status: 401, code: "missing_api_key"},
		{name: "Bearer space alone", body: chatBody("echo", ""), header: map[string]string{"Authorization": "Bearer "}, status: 401, code: "missing_api_key"},
		{name: "Bearer two spaces", body: chatBody("echo", ""), header: map[string]string{"Authorization": "Bearer  x"}, status: 401, code: "invalid_api_key"},
		{name: "bearer lower case wrong key", body: chatBody("echo", ""), header: map[string]string{"Authorization": "bearer x"}, status: 401, code: "invalid_api_key"},
		{name: "bearer lower case right key", body: chatBody("echo", ""), header: map[string]string{"Authorization": "bearer " + clientKey}, status: 200, schema: openaischema.ChatCompletion},
		{name: "Basic", body: chatBody("echo", ""), header: map[string]string{"Authorization": "Basic dXNlcjpwYXNz"}, status: 401, code: "missing_api_key"},
		{name: "Basic with the key", body: chatBody("echo", ""), header: map[string]string{"Authorization": "Basic " + clientKey}, status: 401, code: "missing_api_key", secret: clientKey},
		{name: "Bearer tab", body: chatBody("echo", ""), header: map[string]string{"Authorization": "Bearer\t" + clientKey}, status: 401, code: "missing_api_key", secret: clientKey},
		{name: "10 KB token", body: chatBody("echo", ""), header: map[string]string{"Authorization": "Bearer " + longKey}, status: 401, code: "invalid_api_key", secret: longKey},
		{name: "10 KB api-key", body: chatBody("echo", ""), header: map[string]string{"Authorization": "", "Api-Key": longKey}, status: 401, code: "invalid_api_key", secret: longKey},
		{name: "token with high bytes", raw: "Authorization: Bearer sk-\x80\xff\xfe\r\n", body: chatBody("echo", ""), status: 401, code: "invalid_api_key"},
		{name: "token with SOH", raw: "Authorization: Bearer " + clientKey + "\x01\r\n", body: chatBody("echo", ""), status: 400, goRejects: true, secret: clientKey},
		{name: "token with NUL", raw: "Authorization: Bearer \x00" + clientKey + "\r\n", body: chatBody("echo", ""), status: 400, goRejects: true, secret: clientKey},
		{name: "token with DEL", raw: "Authorization: Bearer " + clientKey + "\x7f\r\n", body: chatBody("echo", ""), status: 400, goRejects: true, secret: clientKey},
		{name: "bare CR in token", raw: "Authorization: Bearer x\rX-Injected: 1\r\n", body: chatBody("echo", ""), status: 400, goRejects: true},
		{name: "bare LF ends the header", raw: "Authorization: Bearer x\nX-Injected: 1\r\n", body: chatBody("echo", ""), status: 401, code: "invalid_api_key"},
		// obs-fold: Go's server joins the lines with a space, as RFC 9112 allows.
		{name: "folded Authorization", raw: "Authorization: Bearer\r\n " + clientKey + "\r\n", body: chatBody("echo", ""), status: 200, schema: openaischema.ChatCompletion},
		// Other header values with control characters.
		{name: "request id with SOH", raw: "Authorization: Bearer " + clientKey + "\r\nX-Request-Id: a\x01b\r\n", body: chatBody("echo", ""), status: 400, goRejects: true},
		{name: "request id with high bytes", raw: "Authorization: Bearer " + clientKey + "\r\nX-Request-Id: id-\xff\xfe\r\n", body: chatBody("echo", ""), status: 200, schema: openaischema.ChatCompletion, secret: "id-\xff\xfe"},
		{name: "request id 10 KB", body: chatBody("echo", ""), header: map[string]string{"X-Request-Id": long}, status: 200, schema: openaischema.ChatCompletion, secret: long},
		{name: "body shorter than Content-Length", raw: "Authorization: Bearer " + clientKey + "\r\n", declare: 4096, body: chatBody("echo", ""), status: 400, code: "invalid_request_body"},
	}
	if len(cases) < 40 {
		t.Fatalf("only %d cases", len(cases))
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var resp *http.Response
			var body []byte
			if tc.raw != "" {
				resp, body = sendRaw(t, tc)
			} else {
				resp, body = sendBad(t, tc)
			}
			checkBadAnswer(t, tc, resp, body)
			assertServing(t)
		})
	}
}

func sendBad(t *testing.T, tc badCase) (*http.Response, []byte) {
	t.Helper()
	path := tc.path
	if path == "" {
		path = "/v1/chat/completions"
	}
	req, err := http.NewRequest(http.MethodPost, gatewayURL+path, strings.NewReader(tc.body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+clientKey)
	req.Header.Set("Content-Type", "application/json")
	for k, v := range tc.header {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := freshHTTP().Do(req)
	if err != nil {
		t.Fatalf("request: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading the answer: %v", err)
	}
	return resp, body
}

// sendRaw writes a handwritten HTTP/1.1 request: Go's client will not
// send control characters in header values.
func sendRaw(t *testing.T, tc badCase) (*http.Response, []byte) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", "localhost:9080", 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	length := len(tc.body)
	if tc.declare != 0 {
		length = tc.declare
	}
	req := "POST /v1/chat/completions HTTP/1.1\r\nHost: localhost:9080\r\nContent-Type: application/json\r\n" +
		fmt.Sprintf("Content-Length: %d\r\n", length) + tc.raw + "\r\n" + tc.body
	if _, err := io.WriteString(conn, req); err != nil {
		t.Fatal(err)
	}
	if length != len(tc.body) {
		_ = conn.(*net.TCPConn).CloseWrite()
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("reading the answer: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, body
}

func checkBadAnswer(t *testing.T, tc badCase, resp *http.Response, body []byte) {
	t.Helper()
	if resp.StatusCode != tc.status {
		t.Fatalf("status %d, want %d; body %.300q", resp.StatusCode, tc.status, body)
	}
	text := string(body)
	for _, leak := range []string{"goroutine ", "panic", "runtime error", ".go:", "sk-upstream", anthropicUpstreamKey, "127.0.0.1"} {
		if strings.Contains(text, leak) {
			t.Errorf("answer contains %q: %.300q", leak, body)
		}
	}
	for name, values := range resp.Header {
		for _, v := range values {
			if strings.ContainsAny(v, "\r\n") || strings.Contains(strings.ToLower(name), "injected") {
				t.Errorf("injected header %s: %q", name, v)
			}
			if tc.secret != "" && strings.Contains(v, tc.secret) {
				t.Errorf("header %s echoes the input (%d bytes)", name, len(v))
			}
		}
	}
	if id := resp.Header.Get("X-Request-Id"); len(id) > 128 {
		t.Errorf("X-Request-Id of %d bytes", len(id))
	}
	if tc.secret != "" && strings.Contains(text, tc.secret) {
		t.Errorf("the answer echoes the %d-byte input whole", len(tc.secret))
	}
	if tc.goRejects {
		// Go's server answered before the gateway ran: plain text, no echo.
		if len(body) > 200 {
			t.Errorf("Go's refusal is %d bytes", len(body))
		}
		return
	}
	if tc.status >= 300 {
		if resp.Header.Get("Content-Type") != "application/json" {
			t.Errorf("Content-Type %q", resp.Header.Get("Content-Type"))
		}
		if err := openaischema.Validate(openaischema.Error, body); err != nil {
			t.Fatalf("error shape: %v\n%s", err, body)
		}
		var e struct {
			Error struct {
				Code  *string `json:"code"`
				Param *string `json:"param"`
			} `json:"error"`
		}
		if err := json.Unmarshal(body, &e); err != nil {
			t.Fatal(err)
		}
		code := "null"
		if e.Error.Code != nil {
			code = *e.Error.Code
		}
		if tc.code != "" && code != tc.code {
			t.Errorf("code %q, want %q; body %.300q", code, tc.code, body)
		}
		if tc.param != "" && (e.Error.Param == nil || *e.Error.Param != tc.param) {
			t.Errorf("param %v, want %q; body %.300q", e.Error.Param, tc.param, body)
		}
		return
	}
	if tc.schema != "" {
		if err := openaischema.Validate(tc.schema, body); err != nil {
			t.Errorf("answer shape: %v\n%.300s", err, body)
		}
	}
}

// assertServing checks that the gateway still answers a normal request.
func assertServing(t *testing.T) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, gatewayURL+"/v1/chat/completions", strings.NewReader(chatBody("echo", "")))
	req.Header.Set("Authorization", "Bearer "+clientKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := freshHTTP().Do(req)
	if err != nil {
		t.Fatalf("the gateway stopped answering: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("a normal request after the bad one: %d %s", resp.StatusCode, body)
	}
	if err := openaischema.Validate(openaischema.ChatCompletion, body); err != nil {
		t.Fatalf("a normal request after the bad one: %v", err)
	}
}

// generatedBody yields a chat request of exactly size bytes without
// holding it in memory, counting what has been read.
type generatedBody struct {
	size, read int64
	counted    *atomic.Int64
}

const genHead, genTail = `{"model":"echo","messages":[{"role":"user","content":"`, `"}]}`

func (g *generatedBody) Read(p []byte) (int, error) {
	if g.read >= g.size {
		return 0, io.EOF
	}
	n := int64(len(p))
	if rest := g.size - g.read; n > rest {
		n = rest
	}
	for i := range p[:n] {
		at := g.read + int64(i)
		switch {
		case at < int64(len(genHead)):
			p[i] = genHead[at]
		case at >= g.size-int64(len(genTail)):
			p[i] = genTail[at-(g.size-int64(len(genTail)))]
		default:
			p[i] = 'a'
		}
	}
	g.read += n
	g.counted.Add(n)
	return int(n), nil
}

// TestBadInputLargeBodies streams 10 MB (with Content-Length) and 100 MB
// (chunked, no length) bodies: the 413 must arrive while the client is
// still writing, and the gateway must keep serving.
func TestBadInputLargeBodies(t *testing.T) {
	up := strictOpenAI(t)
	ant := newFakeAnthropicAPI(t)
	startGateway(t, badInputBlock(up.URL, ant.URL))
	for _, tc := range []struct {
		name    string
		size    int64
		chunked bool
	}{
		{"10 MB with Content-Length", 10 << 20, false},
		{"10 MB chunked", 10 << 20, true},
		{"100 MB chunked", 100 << 20, true},
		{"100 MB with Content-Length", 100 << 20, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conn, err := net.DialTimeout("tcp", "localhost:9080", 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			_ = conn.SetDeadline(time.Now().Add(60 * time.Second))
			head := "POST /v1/chat/completions HTTP/1.1\r\nHost: localhost:9080\r\nAuthorization: Bearer " + clientKey + "\r\nContent-Type: application/json\r\n"
			if tc.chunked {
				head += "Transfer-Encoding: chunked\r\n\r\n"
			} else {
				head += fmt.Sprintf("Content-Length: %d\r\n\r\n", tc.size)
			}
			if _, err := io.WriteString(conn, head); err != nil {
				t.Fatal(err)
			}
			var sent atomic.Int64
			writeDone := make(chan error, 1)
			go func() {
				gen := &generatedBody{size: tc.size, counted: &sent}
				var w io.Writer = conn
				var cw io.WriteCloser
				if tc.chunked {
					cw = httputil.NewChunkedWriter(conn)
					w = cw
				}
				_, err := io.CopyBuffer(w, gen, make([]byte, 32<<10))
				if err == nil && cw != nil {
					if err = cw.Close(); err == nil {
						_, err = io.WriteString(conn, "\r\n")
					}
				}
				writeDone <- err
			}()
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatalf("reading the answer: %v", err)
			}
			atAnswer := sent.Load()
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusRequestEntityTooLarge {
				t.Fatalf("status %d, want 413: %.300q", resp.StatusCode, body)
			}
			if err := openaischema.Validate(openaischema.Error, body); err != nil {
				t.Fatalf("error shape: %v\n%s", err, body)
			}
			if !strings.Contains(string(body), `"code":"request_too_large"`) {
				t.Errorf("body %s", body)
			}
			// What the client wrote before the answer came is what the
			// gateway read plus what the kernel's socket buffers on both
			// sides held, a few MB on loopback: only a body much larger
			// than those tells a gateway that stopped at the limit from
			// one that read it all.
			if tc.size > 64<<20 && atAnswer > 16<<20 {
				t.Errorf("the 413 came only after %d of %d bytes were written", atAnswer, tc.size)
			}
			t.Logf("413 after %d of %d bytes written", atAnswer, tc.size)
			conn.Close() // stops the writer
			select {
			case <-writeDone:
			case <-time.After(30 * time.Second):
				t.Fatal("the writer did not stop")
			}
			assertServing(t)
		})
	}
}
