package providertest

import (
	"bytes"
	"io"
	"net/http"
	"strings"
)

// OpenAI is the wire format of OpenAI's API, which the passthrough
// providers speak: SSE events of data alone, ended by `data: [DONE]`.
var OpenAI = Wire{jsonType: "application/json", streamType: "text/event-stream", pieces: sseEvents}

// OpenAIEvent frames one event of an OpenAI stream.
func OpenAIEvent(data string) string {
	return "data: " + data + "\n\n"
}

// OpenAIError is the body of an OpenAI error; param is null.
func OpenAIError(message, typ, code string) string {
	type detail struct {
		Message string  `json:"message"`
		Type    string  `json:"type"`
		Param   *string `json:"param"`
		Code    string  `json:"code"`
	}
	return encode(map[string]detail{"error": {message, typ, nil, code}})
}

// OpenAIStreamAsAsked streams a short answer to /v1/chat/completions or
// /v1/completions as OpenAI does: a chunk carries `"usage":null` (before
// a chat chunk's trailing obfuscation member) and a usage chunk comes
// last only when the request asks with stream_options.include_usage;
// unasked, no chunk has a usage member at all.
func OpenAIStreamAsAsked(r *http.Request) Reply {
	body, _ := io.ReadAll(r.Body)
	asked := bytes.Contains(body, []byte(`"include_usage":true`))
	chat := r.URL.Path != "/v1/completions"
	object := "text_completion"
	if chat {
		object = "chat.completion.chunk"
	}
	var sse strings.Builder
	for i, part := range []string{"", "Hel", "lo", ""} {
		text, finish := `"text":"`+part+`"`, "null"
		if chat {
			text = `"delta":{"content":"` + part + `"}`
		}
		if i == 3 {
			finish = `"stop"`
		}
		chunk := `{"id":"c-1","object":"` + object + `","created":1735689600,"model":"gpt-4o-mini","choices":[{"index":0,` + text + `,"logprobs":null,"finish_reason":` + finish + `}]`
		if asked {
			chunk += `,"usage":null`
		}
		if chat {
			chunk += `,"obfuscation":"` + strings.Repeat("x", 4-len(part)) + `"`
		}
		sse.WriteString(OpenAIEvent(chunk + "}"))
	}
	if asked {
		sse.WriteString(OpenAIEvent(`{"id":"c-1","object":"` + object + `","created":1735689600,"model":"gpt-4o-mini","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":2,"total_tokens":11}}`))
	}
	return OpenAI.Stream(sse.String() + OpenAIEvent("[DONE]"))
}
