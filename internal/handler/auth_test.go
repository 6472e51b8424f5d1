package handler

import (
	"crypto/sha256"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

func TestKeyAuth(t *testing.T) {
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(chatCompletion)) })
	p := openAIProvider(t, "oai", up.URL)
	auth := NewKeyAuth([]APIKey{
		{SHA256: sha256.Sum256([]byte("team-a-key")), Name: "team-a"},
		{SHA256: sha256.Sum256([]byte("intern-key")), Models: []string{"small"}},
	})
	gw := gateway(t, Config{Auth: auth, Routes: []Route{route("big", Target{Provider: p}), route("small", Target{Provider: p})}})

	cases := []struct {
		name, header, value, model string
		status                     int
		code                       string
	}{
		{"no key", "", "", "big", 401, "missing_api_key"},
		{"wrong key", "Authorization", "Bearer nope", "big", 401, "invalid_api_key"},
		{"bearer", "Authorization", "Bearer team-a-key", "big", 200, ""},
		{"azure header", "Api-Key", "team-a-key", "big", 200, ""},
		{"anthropic header", "X-Api-Key", "team-a-key", "big", 200, ""},
		{"allowed model", "Authorization", "Bearer intern-key", "small", 200, ""},
		{"model outside allow-list", "Authorization", "Bearer intern-key", "big", 403, "model_not_allowed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest("POST", gw.URL+"/v1/chat/completions", strings.NewReader(`{"model":"`+tc.model+`","messages":[]}`))
			if tc.header != "" {
				req.Header.Set(tc.header, tc.value)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body := readAll(t, resp.Body)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, body)
			}
			if tc.code != "" {
				if e := decodeError(t, body); e.Error.Code == nil || *e.Error.Code != tc.code {
					t.Errorf("body %s, want code %s", body, tc.code)
				}
				if strings.Contains(body, tc.value) && tc.value != "" {
					t.Errorf("the error echoes the presented key: %s", body)
				}
			}
			if got := up.last; tc.status == 200 {
				if r := got(t); r.header.Get("Authorization") != "Bearer sk-upstream-secret" || r.header.Get("Api-Key") != "" || r.header.Get("X-Api-Key") != "" {
					t.Errorf("the caller's key reached the upstream: %v", r.header)
				}
			}
		})
	}

	req, _ := http.NewRequest("GET", gw.URL+"/v1/models", nil)
	req.Header.Set("Authorization", "Bearer intern-key")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var list struct {
		Data []struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil || len(list.Data) != 1 || list.Data[0].ID != "small" {
		t.Errorf("a key limited to one model sees %+v (%v)", list.Data, err)
	}
}
