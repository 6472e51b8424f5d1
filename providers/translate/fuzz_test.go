package translate

import (
	"net/http"
	"testing"
)

// FuzzDecodeChat checks that DecodeChat never panics, that its errors are
// 400s, and that a request it accepts has messages.
func FuzzDecodeChat(f *testing.F) {
	for _, s := range []string{
		`{"model":"m","messages":[{"role":"user","content":"hi"}]}`,
		`{"model":"m","messages":[{"role":"system","content":"be brief"},{"role":"user","content":[{"type":"text","text":"a"},{"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA","detail":"low"}}]}],"stream":true,"n":1,"max_completion_tokens":5,"stop":"x","tool_choice":"auto"}`,
		`{"messages":[{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{}"}}]},{"role":"tool","tool_call_id":"c1","content":"ok"}],"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":{"type":"function","function":{"name":"f"}},"stop":["a","b"]}`,
		`{"messages":[]}`,
		`{"messages":"hi"}`,
		`{"messages":[{"role":"wizard","content":1}]}`,
		`{"messages":[{"role":"user","content":"x"}],"n":-1,"max_tokens":1e400,"temperature":"hot"}`,
		`{"messages":[{"role":"user","content":[{"type":"audio"}]}],"stop":[1],"tool_choice":7}`,
		`null`,
		`[]`,
		`{"messages":[null]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, perr := DecodeChat(body)
		if perr != nil {
			if perr.Status != http.StatusBadRequest {
				t.Fatalf("DecodeChat(%q): status %d", body, perr.Status)
			}
			return
		}
		if req == nil || len(req.Messages) == 0 {
			t.Fatalf("DecodeChat(%q) accepted a request without messages: %+v", body, req)
		}
		if req.MaxTokens < 0 || req.N < 0 {
			t.Fatalf("DecodeChat(%q): max_tokens %d, n %d", body, req.MaxTokens, req.N)
		}
	})
}
