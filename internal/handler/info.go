package handler

import (
	"net/http"
	"time"
)

// serviceInfo is the body of GET /.
type serviceInfo struct {
	Service     string         `json:"service"`
	Description string         `json:"description"`
	Version     string         `json:"version"`
	Endpoints   []endpointInfo `json:"endpoints"`
	Usage       []string       `json:"usage"`
}

type endpointInfo struct {
	Method  string `json:"method"`
	Path    string `json:"path"`
	Summary string `json:"summary"`
}

// serveInfo answers GET / with what the service is and how to call it.
func (h *Handler) serveInfo(w http.ResponseWriter, r *http.Request) {
	x := &exchange{start: time.Now()}
	info := serviceInfo{
		Service:     "llm_gateway",
		Description: "OpenAI-compatible LLM gateway (a Caddy module)",
		Version:     Version(),
		Usage: []string{
			"OpenAI SDKs: base_url = <this site>/v1, api_key = your gateway key (or your provider key under auth passthrough)",
			`curl <this site>/v1/chat/completions -H "Authorization: Bearer $KEY" -H "Content-Type: application/json" -d '{"model":"<model>","messages":[{"role":"user","content":"Hello"}]}'`,
			"GET /v1/models lists the models you may use; GET /openapi.json describes every endpoint",
		},
	}
	for _, e := range h.endpoints {
		info.Endpoints = append(info.Endpoints, endpointInfo{e.method, e.path, e.summary})
	}
	x.writeOverhead(w.Header())
	writeJSONStatus(w, http.StatusOK, info)
}
