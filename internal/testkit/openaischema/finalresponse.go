package openaischema

import (
	"encoding/json"
	"errors"
	"fmt"
)

// FinalResponse is the Response a Responses stream's last event carries
// (response.completed, response.incomplete or response.failed), as it
// was written, for tests that read the answer a stream built.
func FinalResponse(body []byte) ([]byte, error) {
	events, _ := parseSSE(body)
	if len(events) == 0 {
		return nil, errors.New("stream: no data events")
	}
	last := events[len(events)-1]
	var ev struct {
		Response json.RawMessage `json:"response"`
	}
	if err := json.Unmarshal([]byte(last.data), &ev); err != nil || len(ev.Response) == 0 {
		return nil, fmt.Errorf("stream: the last event, %s, carries no response", last.name)
	}
	return ev.Response, nil
}
