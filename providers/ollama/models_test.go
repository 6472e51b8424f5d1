package ollama

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/llmgateway/caddy-llm-gateway/internal/testkit/openaischema"
	"github.com/llmgateway/caddy-llm-gateway/providers"
	"github.com/llmgateway/caddy-llm-gateway/providers/providertest"
)

const tagsBody = `{"models":[
 {"name":"llama3.2:latest","model":"llama3.2:latest","modified_at":"2025-07-07T20:22:19.180Z","size":2019393189,"digest":"a80c4f17acd5",
  "details":{"parent_model":"","format":"gguf","family":"llama","families":["llama"],"parameter_size":"3.2B","quantization_level":"Q4_K_M"}},
 {"name":"hf.co/bartowski/Qwen3-8B-GGUF:Q8_0","model":"hf.co/bartowski/Qwen3-8B-GGUF:Q8_0","modified_at":"2025-08-01T10:00:00+02:00","size":8709519872,"digest":"b1",
  "details":{"format":"gguf","family":"qwen3","parameter_size":"8.2B","quantization_level":"Q8_0"}},
 {"name":"me/assistant:v2","model":"me/assistant:v2","modified_at":"2025-08-02T00:00:00Z","size":1,"digest":"c2","details":{}}]}`

const psBody = `{"models":[{"name":"llama3.2:latest","model":"llama3.2:latest","size":5137025024,"digest":"a80c4f17acd5",
 "details":{"parent_model":"","format":"gguf","family":"llama","families":["llama"],"parameter_size":"3.2B","quantization_level":"Q4_K_M"},
 "expires_at":"2024-06-04T14:38:31-07:00","size_vram":5137025024,"context_length":4096}]}`

// modelServer answers Ollama's model management: the model list, the
// running models, and a preload of llama3.2 through /api/generate.
func modelServer(t *testing.T) *providertest.Upstream {
	return providertest.NewUpstream(t, providertest.Script(func(r *http.Request) providertest.Reply {
		switch {
		case r.Method == http.MethodGet && r.URL.Path == "/api/tags":
			return providertest.Ollama.JSON(http.StatusOK, tagsBody)
		case r.Method == http.MethodGet && r.URL.Path == "/api/ps":
			return providertest.Ollama.JSON(http.StatusOK, psBody)
		case r.Method == http.MethodPost && r.URL.Path == "/api/generate":
			var req struct {
				Model string `json:"model"`
			}
			_ = json.NewDecoder(r.Body).Decode(&req)
			if req.Model != "llama3.2" {
				return providertest.Ollama.JSON(http.StatusNotFound, providertest.OllamaError("model '"+req.Model+"' not found"))
			}
			return providertest.Ollama.JSON(http.StatusOK, `{"model":"llama3.2","created_at":"2025-07-07T20:22:19.18Z","response":"","done":true,"done_reason":"load"}`)
		}
		return providertest.Ollama.JSON(http.StatusNotFound, "404 page not found")
	}))
}

func TestListModels(t *testing.T) {
	up := modelServer(t)
	o := newOllama(t, up.URL, nil)
	got, err := o.ListModels(context.Background(), "sk-caller")
	if err != nil {
		t.Fatal(err)
	}
	want := []providers.Model{
		{ID: "llama3.2:latest", Object: "model", Created: 1751919739, OwnedBy: "library"},
		{ID: "hf.co/bartowski/Qwen3-8B-GGUF:Q8_0", Object: "model", Created: 1754035200, OwnedBy: "bartowski"},
		{ID: "me/assistant:v2", Object: "model", Created: 1754092800, OwnedBy: "me"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("models = %+v\nwant %+v", got, want)
	}
	seen := up.Last(t)
	if seen.Method != http.MethodGet || seen.Path != "/api/tags" || seen.Header.Get("Authorization") != "Bearer sk-caller" {
		t.Errorf("upstream saw %s %s with %q", seen.Method, seen.Path, seen.Header.Get("Authorization"))
	}
	list, _ := json.Marshal(map[string]any{"object": "list", "data": got})
	if err := openaischema.Validate(openaischema.ModelList, list); err != nil {
		t.Error(err)
	}
}

func TestTags(t *testing.T) {
	up := modelServer(t)
	o := newOllama(t, up.URL, nil)
	got, err := o.Tags(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("%d models, want 3", len(got))
	}
	want := providers.LocalModel{Name: "llama3.2:latest", Size: 2019393189, Digest: "a80c4f17acd5",
		ModifiedAt: time.Date(2025, 7, 7, 20, 22, 19, 180e6, time.UTC), Format: "gguf", Family: "llama",
		ParameterSize: "3.2B", QuantizationLevel: "Q4_K_M"}
	if !got[0].ModifiedAt.Equal(want.ModifiedAt) {
		t.Errorf("modified_at = %v", got[0].ModifiedAt)
	}
	got[0].ModifiedAt = want.ModifiedAt
	if got[0] != want {
		t.Errorf("tags[0] = %+v\nwant %+v", got[0], want)
	}
	if h := up.Last(t).Header.Get("Authorization"); h != "" {
		t.Errorf("Authorization sent without a key: %q", h)
	}
}

func TestRunning(t *testing.T) {
	up := modelServer(t)
	o := newOllama(t, up.URL, nil)
	got, err := o.Running(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	want := providers.RunningModel{Name: "llama3.2:latest", Size: 5137025024, SizeVRAM: 5137025024,
		ExpiresAt: time.Date(2024, 6, 4, 21, 38, 31, 0, time.UTC), Format: "gguf", ParameterSize: "3.2B", QuantizationLevel: "Q4_K_M"}
	if len(got) != 1 || !got[0].ExpiresAt.Equal(want.ExpiresAt) {
		t.Fatalf("running = %+v", got)
	}
	got[0].ExpiresAt = want.ExpiresAt
	if got[0] != want {
		t.Errorf("running[0] = %+v\nwant %+v", got[0], want)
	}
	if seen := up.Last(t); seen.Path != "/api/ps" {
		t.Errorf("path = %s", seen.Path)
	}
}

func TestPreload(t *testing.T) {
	cases := []struct {
		name, model, keepAlive, configured string
		wantBody                           string
		wantStatus                         int
	}{
		{"default keep_alive", "llama3.2", "", "", `{"model":"llama3.2","stream":false}`, 0},
		{"provider keep_alive", "llama3.2", "", "1h", `{"model":"llama3.2","stream":false,"keep_alive":"1h"}`, 0},
		{"duration", "llama3.2", "24h", "1h", `{"model":"llama3.2","stream":false,"keep_alive":"24h"}`, 0},
		{"forever", "llama3.2", "-1", "", `{"model":"llama3.2","stream":false,"keep_alive":-1}`, 0},
		{"seconds", "llama3.2", "300", "", `{"model":"llama3.2","stream":false,"keep_alive":300}`, 0},
		{"unknown model", "nope", "", "", `{"model":"nope","stream":false}`, http.StatusNotFound},
		{"bad keep_alive", "llama3.2", "soon", "", "", http.StatusBadRequest},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			up := modelServer(t)
			o := newOllama(t, up.URL, func(o *Ollama) { o.KeepAlive = tc.configured })
			err := o.Preload(context.Background(), tc.model, tc.keepAlive)
			if tc.wantStatus != 0 {
				var e *providers.Error
				if !errors.As(err, &e) || e.Status != tc.wantStatus {
					t.Fatalf("err = %v, want status %d", err, tc.wantStatus)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if tc.wantBody == "" {
				return
			}
			seen := up.Last(t)
			if seen.Method != http.MethodPost || seen.Path != "/api/generate" {
				t.Errorf("upstream saw %s %s", seen.Method, seen.Path)
			}
			if got, want := providertest.Canonical(t, seen.Body), providertest.Canonical(t, []byte(tc.wantBody)); got != want {
				t.Errorf("body %s, want %s", got, want)
			}
		})
	}
}

func TestOwnedBy(t *testing.T) {
	for name, want := range map[string]string{
		"llama3.2": "library", "llama3.2:latest": "library", "user/model:tag": "user",
		"hf.co/org/model:Q4": "org", "registry.example.com:5000/team/m:1": "team", "localhost:5000/m": "localhost:5000",
	} {
		if got := ownedBy(name); got != want {
			t.Errorf("ownedBy(%q) = %q, want %q", name, got, want)
		}
	}
}
