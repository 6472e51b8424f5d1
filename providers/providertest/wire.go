package providertest

import "net/http"

// A Wire is how one upstream API frames its answers: the content types of
// its whole answers and of its streams, how a stream divides into pieces,
// and the headers every answer carries.
type Wire struct {
	jsonType, streamType string
	header               http.Header
	pieces               func(string) []string
}

// JSON is a whole answer (or error) with status.
func (wf Wire) JSON(status int, body string) Reply {
	return Reply{Status: status, Header: wf.headerWith(wf.jsonType), Body: body}
}

// Stream is a 200 answer streamed piece by piece.
func (wf Wire) Stream(body string) Reply {
	return Reply{Status: http.StatusOK, Header: wf.headerWith(wf.streamType), Body: body, pieces: wf.pieces}
}

func (wf Wire) headerWith(contentType string) http.Header {
	h := wf.header.Clone()
	if h == nil {
		h = http.Header{}
	}
	h.Set("Content-Type", contentType)
	return h
}
