package handler

import (
	"net/http"

	"github.com/llmgateway/caddy-llm-gateway/providers"
)

// writeJSONStatus writes v as JSON with status.
func writeJSONStatus(w http.ResponseWriter, status int, v any) {
	body, err := providers.MarshalJSON(v)
	if err != nil {
		writeError(w, providers.NewError(http.StatusInternalServerError, "", "encoding the response failed"))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
