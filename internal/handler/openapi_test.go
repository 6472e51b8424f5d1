package handler

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/llmgateway/caddy-llm-gateway/inbound"
	"github.com/llmgateway/caddy-llm-gateway/inbound/messages"
	"github.com/llmgateway/caddy-llm-gateway/inbound/native"
	"github.com/llmgateway/caddy-llm-gateway/inbound/responses"
)

// TestOpenAPIMatchesEndpoints keeps the OpenAPI document and the endpoint
// table, with the doors the gateway is built with, in step both ways.
func TestOpenAPIMatchesEndpoints(t *testing.T) {
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(openAPIDocument, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi = %q", doc.OpenAPI)
	}
	documented := map[string]bool{}
	for path, ops := range doc.Paths {
		for method := range ops {
			documented[strings.ToUpper(method)+" "+path] = true
		}
	}
	served := map[string]bool{}
	for _, e := range withDoors([]inbound.Door{&native.Door{}, &messages.Door{}, &responses.Door{}}) {
		served[e.method+" "+e.path] = true
		if !documented[e.method+" "+e.path] {
			t.Errorf("%s %s is served but not in openapi.json", e.method, e.path)
		}
	}
	for op := range documented {
		if !served[op] {
			t.Errorf("%s is in openapi.json but not served", op)
		}
	}
}
