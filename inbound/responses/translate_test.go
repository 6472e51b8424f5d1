package responses

import (
	"bytes"
	"encoding/json"
	"net/http"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/llmgateway/caddy-llm-gateway/internal/testkit/openaischema"
	"github.com/llmgateway/caddy-llm-gateway/providers"
	"github.com/llmgateway/caddy-llm-gateway/providers/providertest"
)

// goldenCases runs each file of testdata/dir that ends in suffix as a
// subtest named after it, with the path the golden file of its result
// takes: the same name ending in goldenSuffix.
func goldenCases(t *testing.T, dir, suffix, goldenSuffix string, run func(t *testing.T, in []byte, golden string)) {
	files, err := filepath.Glob(filepath.Join("testdata", dir, "*"+suffix))
	if err != nil || len(files) == 0 {
		t.Fatalf("no test files in testdata/%s: %v", dir, err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), suffix)
		t.Run(name, func(t *testing.T) {
			run(t, providertest.ReadFile(t, f), strings.TrimSuffix(f, suffix)+goldenSuffix)
		})
	}
}

// translation is a request as the door reads and translates it.
type translation struct {
	req   *createRequest
	input []json.RawMessage
	chat  []byte
	tools *toolSet
}

// translated reads and translates a request body, as the door does before
// it knows the caller.
func translated(body []byte) (*translation, *providers.Error) {
	var tr translation
	var perr *providers.Error
	if tr.req, perr = parseCreate(body, true); perr != nil {
		return nil, perr
	}
	if tr.input, perr = inputItems(tr.req.Input); perr != nil {
		return nil, perr
	}
	if tr.chat, tr.tools, perr = tr.req.chatBody(tr.input, nil); perr != nil {
		return nil, perr
	}
	return &tr, nil
}

func TestRequestToChat(t *testing.T) {
	goldenCases(t, "request", ".responses.json", ".chat.json", func(t *testing.T, in []byte, golden string) {
		tr, perr := translated(in)
		if perr != nil {
			t.Fatal(perr)
		}
		providertest.Golden(t, golden, tr.chat)
	})
}

func TestBuiltInToolsLeftOut(t *testing.T) {
	tr, perr := translated(providertest.ReadFile(t, "testdata/request/tools.responses.json"))
	if perr != nil {
		t.Fatal(perr)
	}
	tools := tr.tools
	if want := []string{"web_search", "namespace mcp"}; !slices.Equal(tools.left, want) {
		t.Errorf("left out %q, want %q", tools.left, want)
	}
}

func TestRequestRefused(t *testing.T) {
	cases := []struct {
		name, body, param, message string
	}{
		{"background", `{"input":"hi","background":true}`, "background", "background responses are not supported"},
		{"conversation", `{"input":"hi","conversation":"conv_1"}`, "conversation", "conversations are not supported"},
		{"stored prompt", `{"prompt":{"id":"pmpt_1"}}`, "prompt", "prompt templates"},
		{"logprobs", `{"input":"hi","top_logprobs":3}`, "top_logprobs", "log probabilities"},
		{"logprobs after an empty previous_response_id", `{"input":"hi","previous_response_id":"","top_logprobs":3}`, "top_logprobs", "log probabilities"},
		{"no input", `{"model":"m"}`, "input", "input must be"},
		{"wrong type", `{"input":"hi","temperature":"hot"}`, "temperature", "invalid type for `temperature`"},
		{"not an object", `[1]`, "", "not a valid JSON object"},
		{"forced built-in tool", `{"input":"hi","tools":[{"type":"web_search"}],"tool_choice":{"type":"web_search_preview"}}`,
			"tool_choice.type", "tool_choice forces web_search_preview"},
		{"required with only built-in tools", `{"input":"hi","tools":[{"type":"web_search"},{"type":"file_search"}],"tool_choice":"required"}`,
			"tool_choice", "tool_choice forces web_search, file_search"},
		{"allowed built-in tools required", `{"input":"hi","tools":[{"type":"web_search"}],"tool_choice":{"type":"allowed_tools","mode":"required","tools":[{"type":"web_search"}]}}`,
			"tool_choice.tools", "tool_choice forces web_search"},
		{"forced unknown function", `{"input":"hi","tools":[{"type":"function","name":"f"}],"tool_choice":{"type":"function","name":"g"}}`,
			"tool_choice.name", `"g", which is not among the tools`},
		{"item reference", `{"input":[{"type":"item_reference","id":"msg_1"}]}`, "input[0]", "item_reference"},
		{"built-in call item", `{"input":[{"type":"web_search_call","id":"ws_1"}]}`, "input[0].type", `"web_search_call"`},
		{"image by file id", `{"input":[{"role":"user","content":[{"type":"input_image","file_id":"file_1"}]}]}`,
			"input[0].content[0].file_id", "not as file ids"},
		{"unknown role", `{"input":[{"role":"tool","content":"x"}]}`, "input[0].role", `unknown role "tool"`},
		{"output without call", `{"input":[{"type":"function_call_output","output":"x"}]}`, "input[0].call_id", "needs the call_id"},
		{"unknown format", `{"input":"hi","text":{"format":{"type":"grammar"}}}`, "text.format.type", `unknown text.format type "grammar"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, perr := translated([]byte(tc.body))
			if perr == nil {
				t.Fatal("accepted")
			}
			if perr.Status != http.StatusBadRequest || perr.Param != tc.param || !strings.Contains(perr.Message, tc.message) {
				t.Errorf("got %d param %q %q, want 400 param %q with %q", perr.Status, perr.Param, perr.Message, tc.param, tc.message)
			}
		})
	}
}

// testTranslator is the translator of the tools request, whose Responses
// echo its function tools.
func testTranslator(t *testing.T) *translator {
	t.Helper()
	tr, perr := translated(providertest.ReadFile(t, "testdata/request/tools.responses.json"))
	if perr != nil {
		t.Fatal(perr)
	}
	return newTranslator(tr.req, tr.tools, tr.input)
}

func TestAnswer(t *testing.T) {
	goldenCases(t, "answer", ".chat.json", ".response.json", func(t *testing.T, in []byte, golden string) {
		got, err := testTranslator(t).Answer(in, "fast")
		if err != nil {
			t.Fatal(err)
		}
		if err := openaischema.Validate(openaischema.Response, got); err != nil {
			t.Errorf("%v\n%s", err, got)
		}
		providertest.Golden(t, golden, pinned(got))
	})
}

func TestAnswerUnreadable(t *testing.T) {
	for _, chat := range []string{`{"choices":[]}`, `not json`} {
		if _, err := testTranslator(t).Answer([]byte(chat), "fast"); err == nil {
			t.Errorf("%s: no error", chat)
		}
	}
}

func TestStream(t *testing.T) {
	goldenCases(t, "stream", ".chat.jsonl", ".events.jsonl", func(t *testing.T, in []byte, golden string) {
		enc := testTranslator(t).Stream("fast")
		var out []byte
		for _, chunk := range providertest.Lines(in) {
			out = enc.Chunk(out, chunk)
		}
		if strings.HasPrefix(filepath.Base(golden), "failed") {
			out = enc.Fail(out, providers.NewError(http.StatusBadGateway, "upstream_error", "the upstream provider up ended its answer before it was complete"))
		} else {
			out = enc.End(out)
		}
		if err := openaischema.ValidateResponseStream(out); err != nil {
			t.Errorf("%v\n%s", err, out)
		}
		checkItems(t, out)
		providertest.Golden(t, golden, pinned(eventData(out)))
	})
}

// eventData is the data of each event of a stream, one a line.
func eventData(stream []byte) []byte {
	var out []byte
	for _, line := range bytes.Split(stream, []byte("\n")) {
		if data, ok := bytes.CutPrefix(line, []byte("data: ")); ok {
			out = append(append(out, data...), '\n')
		}
	}
	return out
}

// pinned replaces what is random or clock-bound in Responses and their
// events, ids and times, with fixed values.
func pinned(b []byte) []byte {
	b = randomID.ReplaceAll(b, []byte(`"${1}_test"`))
	return clockTime.ReplaceAll(b, []byte(`"${1}":1700000000`))
}

var (
	randomID  = regexp.MustCompile(`"(resp|msg|fc|rs|call)_[0-9a-f]{24}"`)
	clockTime = regexp.MustCompile(`"(created_at|completed_at)":\d+`)
)

// checkItems checks that a stream's events agree on its output items:
// each output_index has one item id, named by every event about it, and
// the final response lists the items in that order.
func checkItems(t *testing.T, stream []byte) {
	t.Helper()
	ids := map[int]string{}
	for _, line := range bytes.Split(eventData(stream), []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		var ev struct {
			Type        string `json:"type"`
			OutputIndex *int   `json:"output_index"`
			ItemID      string `json:"item_id"`
			Item        *struct {
				ID string `json:"id"`
			} `json:"item"`
			Response *struct {
				Output []struct {
					ID string `json:"id"`
				} `json:"output"`
			} `json:"response"`
		}
		if err := json.Unmarshal(line, &ev); err != nil {
			t.Fatal(err)
		}
		switch {
		case ev.Type == "response.output_item.added":
			if _, dup := ids[*ev.OutputIndex]; dup || *ev.OutputIndex != len(ids) {
				t.Errorf("%s at output_index %d after %d items", ev.Type, *ev.OutputIndex, len(ids))
			}
			ids[*ev.OutputIndex] = ev.Item.ID
		case ev.Item != nil && ids[*ev.OutputIndex] != ev.Item.ID, ev.ItemID != "" && ids[*ev.OutputIndex] != ev.ItemID:
			t.Errorf("%s names another item than output_index %d's %s: %s", ev.Type, *ev.OutputIndex, ids[*ev.OutputIndex], line)
		case ev.Response != nil && ev.Type != "response.created" && ev.Type != "response.in_progress":
			if len(ev.Response.Output) != len(ids) {
				t.Fatalf("%s lists %d items, the stream added %d", ev.Type, len(ev.Response.Output), len(ids))
			}
			for i, it := range ev.Response.Output {
				if it.ID != ids[i] {
					t.Errorf("%s output[%d] is %s, the stream added %s", ev.Type, i, it.ID, ids[i])
				}
			}
		}
	}
}

// TestStreamInterleavedCalls streams calls whose argument deltas take
// turns: each call's item still ends with its whole arguments.
func TestStreamInterleavedCalls(t *testing.T) {
	chunk := func(index int, id, name, args string) []byte {
		return []byte(`{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":` +
			string(rune('0'+index)) + `,"id":"` + id + `","function":{"name":"` + name + `","arguments":` + quote(args) + `}}]},"finish_reason":null}]}`)
	}
	enc := testTranslator(t).Stream("fast")
	var out []byte
	for _, c := range [][]byte{chunk(0, "call_a", "get_weather", `{"city":`), chunk(1, "call_b", "get_time", `{`),
		chunk(0, "", "", `"Paris"}`), chunk(1, "", "", `}`)} {
		out = enc.Chunk(out, c)
	}
	out = enc.End(out)
	if err := openaischema.ValidateResponseStream(out); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	data := bytes.Split(bytes.TrimSpace(eventData(out)), []byte("\n"))
	var final struct {
		Response struct {
			Output []struct{ Arguments string }
		}
	}
	if err := json.Unmarshal(data[len(data)-1], &final); err != nil {
		t.Fatal(err)
	}
	if o := final.Response.Output; len(o) != 2 || o[0].Arguments != `{"city":"Paris"}` || o[1].Arguments != `{}` {
		t.Errorf("output %+v", o)
	}
}

func TestPreviousResponseWithoutStore(t *testing.T) {
	_, perr := parseCreate([]byte(`{"input":"hi","previous_response_id":"resp_1"}`), false)
	if perr == nil || perr.Status != http.StatusBadRequest || perr.Param != "previous_response_id" || !strings.Contains(perr.Message, "response_store off") {
		t.Errorf("got %v, want a 400 naming previous_response_id", perr)
	}
}
