package handler

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/llmgateway/caddy-llm-gateway/internal/jsonscan"
	"github.com/llmgateway/caddy-llm-gateway/providers"
)

// requestBody is what the gateway reads of a client's request body. The body
// itself is never re-encoded: only `model` is rewritten in place.
type requestBody struct {
	body         []byte
	model        string
	modelGiven   bool
	stream       bool
	includeUsage bool
	maxTokens    int64 // max_completion_tokens, else max_tokens; 0 when absent
}

// readBody reads a request body of at most limit bytes. A body of known
// length is read into a buffer of exactly that size: it may stay
// referenced for as long as a stream runs.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, *providers.Error) {
	if r.ContentLength > limit {
		return nil, tooLarge(limit)
	}
	src := http.MaxBytesReader(w, r.Body, limit)
	var body []byte
	var err error
	if r.ContentLength >= 0 {
		body = make([]byte, r.ContentLength)
		_, err = io.ReadFull(src, body)
	} else {
		body, err = io.ReadAll(src)
	}
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return nil, tooLarge(limit)
		}
		// The error may name addresses; the client needs none of it.
		return nil, invalidBody("could not read the whole request body")
	}
	return body, nil
}

func tooLarge(limit int64) *providers.Error {
	return providers.NewError(http.StatusRequestEntityTooLarge, "request_too_large",
		"the request body is larger than the gateway's limit of "+strconv.FormatInt(limit, 10)+" bytes")
}

// parseInbound validates the body as a JSON object and reads the members
// the gateway acts on.
func parseInbound(body []byte) (*requestBody, *providers.Error) {
	if !json.Valid(body) {
		return nil, invalidBody("the request body is not valid JSON")
	}
	in := &requestBody{body: body}
	var bad *providers.Error
	var seen uint8 // bit i: readMembers[i] was met
	err := jsonscan.Members(body, func(key []byte, start, end int) bool {
		raw := body[start:end]
		if i := readMember(key); i >= 0 {
			// Parsers disagree on which of two equal names wins; an
			// upstream must not act on a value the gateway did not check.
			if seen&(1<<i) != 0 {
				bad = invalidBody("the request body has `" + readMembers[i] + "` twice")
				return false
			}
			seen |= 1 << i
		}
		switch string(key) {
		case "model":
			if jsonscan.IsNull(raw) {
				return true
			}
			s, ok := jsonscan.String(raw)
			if !ok {
				bad = fieldError("model", "model must be a string")
				return false
			}
			in.model, in.modelGiven = s, true
		case "stream":
			if jsonscan.IsNull(raw) {
				return true
			}
			v, ok := jsonscan.Bool(raw)
			if !ok {
				bad = fieldError("stream", "stream must be a boolean")
				return false
			}
			in.stream = v
		case "max_tokens", "max_completion_tokens":
			n, err := strconv.ParseInt(string(raw), 10, 64)
			if err == nil && n < 0 {
				bad = belowMinimum(string(key), n)
				return false
			}
			if n > in.maxTokens {
				in.maxTokens = n
			}
		case "n", "best_of", "logprobs", "top_logprobs", "dimensions":
			// Counts an upstream would refuse or misread when negative;
			// `logprobs` is a count in completions (a boolean in chat).
			if n, err := strconv.ParseInt(string(raw), 10, 64); err == nil && n < 0 {
				bad = belowMinimum(string(key), n)
				return false
			}
		case "stream_options":
			if s, e, ok, _ := jsonscan.Find(raw, "include_usage"); ok {
				in.includeUsage, _ = jsonscan.Bool(raw[s:e])
			}
		default:
			if disguised(key) {
				bad = invalidBody("the request body spells a member the gateway reads (" +
					strings.Join(readMembers[:], ", ") + ") with escapes or in another letter case")
				return false
			}
		}
		return true
	})
	if bad != nil {
		return nil, bad
	}
	if err != nil {
		return nil, invalidBody("the request body must be a JSON object")
	}
	if !in.stream {
		in.includeUsage = false
	}
	return in, nil
}

// readMembers are the top-level members parseInbound acts on, spelt as
// OpenAI spells them.
var readMembers = [...]string{"model", "stream", "stream_options", "max_tokens", "max_completion_tokens"}

// readMember is the index of key in readMembers, or -1.
func readMember(key []byte) int {
	for i, m := range readMembers {
		if string(key) == m {
			return i
		}
	}
	return -1
}

// disguised reports whether a raw member name that is not spelt exactly as
// one of readMembers would still be read as one by an upstream's JSON
// parser: written with escapes (`"mod\u0065l"`, which every parser decodes)
// or in another letter case (`"Model"`, which Go's encoding/json matches).
// A passthrough upstream would then act on a value the gateway never saw,
// e.g. a model the caller's key does not allow, or a stream the gateway
// does not relay as one.
func disguised(key []byte) bool {
	if bytes.IndexByte(key, '\\') >= 0 {
		quoted := make([]byte, 0, len(key)+2)
		quoted = append(append(append(quoted, '"'), key...), '"')
		s, ok := jsonscan.String(quoted)
		if !ok {
			return false
		}
		key = []byte(s)
	}
	for _, m := range readMembers {
		if len(key) == len(m) && strings.EqualFold(string(key), m) {
			return true
		}
	}
	return false
}

// withModel returns the body with `model` set to name, rewriting only that
// member.
func (in *requestBody) withModel(name string) ([]byte, error) {
	if in.modelGiven && name == in.model {
		return in.body, nil
	}
	return setModel(in.body, name)
}

// setModel returns body with `model` set to name, rewriting only that
// member.
func setModel(body []byte, name string) ([]byte, error) {
	quoted, err := json.Marshal(name)
	if err != nil {
		return nil, err
	}
	return jsonscan.Set(body, "model", quoted)
}

func invalidBody(msg string) *providers.Error {
	return providers.NewError(http.StatusBadRequest, "invalid_request_body", msg)
}

// belowMinimum refuses a negative count in OpenAI's own words.
func belowMinimum(param string, n int64) *providers.Error {
	e := providers.NewError(http.StatusBadRequest, "integer_below_min_value",
		"Invalid '"+param+"': integer below minimum value. Expected a value >= 0, but got "+strconv.FormatInt(n, 10)+" instead.")
	e.Param = param
	return e
}

func fieldError(param, msg string) *providers.Error {
	e := providers.NewError(http.StatusBadRequest, "invalid_type", msg)
	e.Param = param
	return e
}
