package gemini

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/arbiterhq/arbiter/internal/llm"
)

type wireEmbedRequest struct {
	Model                string      `json:"model,omitempty"`
	Content              wireContent `json:"content"`
	TaskType             string      `json:"taskType,omitempty"`
	Title                string      `json:"title,omitempty"`
	OutputDimensionality *int        `json:"outputDimensionality,omitempty"`
}

type wireBatchEmbedRequest struct {
	Requests []wireEmbedRequest `json:"requests"`
}

type wireEmbedding struct {
	Values []float32 `json:"values"`
}

type wireEmbedResponse struct {
	Embedding  *wireEmbedding  `json:"embedding,omitempty"`
	Embeddings []wireEmbedding `json:"embeddings,omitempty"`
}

// DecodeEmbeddingRequest parses an :embedContent body (batch=false) or a
// :batchEmbedContents body (batch=true); the model comes from the URL. taskType and
// title have no neutral field and are kept in Extra (from the first request).
func DecodeEmbeddingRequest(model string, body []byte, batch bool) (*llm.EmbeddingRequest, error) {
	req := &llm.EmbeddingRequest{Model: strings.TrimPrefix(model, "models/")}
	if req.Model == "" {
		return nil, invalid("model", "model: missing from the URL path")
	}
	var items []wireEmbedRequest
	if batch {
		var b wireBatchEmbedRequest
		if err := json.Unmarshal(body, &b); err != nil {
			return nil, invalid("requests", "request body is not a valid batchEmbedContents request: %v", err)
		}
		if len(b.Requests) == 0 {
			return nil, invalid("requests", "requests: at least one request is required")
		}
		items = b.Requests
	} else {
		var one wireEmbedRequest
		if err := json.Unmarshal(body, &one); err != nil {
			return nil, invalid("content", "request body is not a valid embedContent request: %v", err)
		}
		items = []wireEmbedRequest{one}
	}
	for i, it := range items {
		path := "content"
		if batch {
			path = fmt.Sprintf("requests[%d].content", i)
		}
		if len(it.Content.Parts) == 0 {
			return nil, invalid(path+".parts", "%s.parts: at least one text part is required", path)
		}
		var text strings.Builder
		for j, p := range it.Content.Parts {
			if p.Text == nil {
				return nil, invalid(fmt.Sprintf("%s.parts[%d]", path, j), "%s.parts[%d]: only text can be embedded", path, j)
			}
			text.WriteString(*p.Text)
		}
		req.Input = append(req.Input, text.String())
		if i == 0 {
			req.Dimensions = it.OutputDimensionality
			if it.TaskType != "" {
				setEmbedExtra(req, "taskType", it.TaskType)
			}
			if it.Title != "" {
				setEmbedExtra(req, "title", it.Title)
			}
		}
	}
	return req, nil
}

func setEmbedExtra(req *llm.EmbeddingRequest, key, val string) {
	if req.Extra == nil {
		req.Extra = map[string]json.RawMessage{}
	}
	req.Extra[key], _ = json.Marshal(val)
	req.ExtraFormat = llm.FormatGemini
}

// EncodeEmbeddingResponse writes an :embedContent (batch=false, first vector) or
// :batchEmbedContents (batch=true) response. Gemini reports no token usage here.
func EncodeEmbeddingResponse(r *llm.EmbeddingResponse, batch bool) ([]byte, error) {
	var w wireEmbedResponse
	if batch {
		w.Embeddings = make([]wireEmbedding, len(r.Vectors))
		for i, v := range r.Vectors {
			w.Embeddings[i] = wireEmbedding{Values: nonNil(v)}
		}
	} else {
		if len(r.Vectors) == 0 {
			return nil, fmt.Errorf("gemini: embedding response without a vector")
		}
		w.Embedding = &wireEmbedding{Values: nonNil(r.Vectors[0])}
	}
	b, err := json.Marshal(w)
	if err != nil {
		return nil, fmt.Errorf("gemini: encoding embedding response: %w", err)
	}
	return b, nil
}

func nonNil(v []float32) []float32 {
	if v == nil {
		return []float32{}
	}
	return v
}

// EncodeEmbeddingRequest writes a :batchEmbedContents body (one request per input),
// which serves one input as well as many.
func EncodeEmbeddingRequest(r *llm.EmbeddingRequest) ([]byte, error) {
	var taskType, title string
	if r.ExtraFormat == llm.FormatGemini {
		_ = json.Unmarshal(r.Extra["taskType"], &taskType)
		_ = json.Unmarshal(r.Extra["title"], &title)
	}
	b := wireBatchEmbedRequest{Requests: make([]wireEmbedRequest, len(r.Input))}
	for i, in := range r.Input {
		b.Requests[i] = wireEmbedRequest{Model: "models/" + strings.TrimPrefix(r.Model, "models/"),
			Content: wireContent{Parts: []wirePart{textPart(in)}}, TaskType: taskType, Title: title,
			OutputDimensionality: r.Dimensions}
	}
	body, err := json.Marshal(b)
	if err != nil {
		return nil, fmt.Errorf("gemini: encoding embedding request: %w", err)
	}
	return body, nil
}

// DecodeEmbeddingResponse parses an :embedContent or :batchEmbedContents response.
func DecodeEmbeddingResponse(body []byte) (*llm.EmbeddingResponse, error) {
	var w wireEmbedResponse
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, &llm.Error{Kind: llm.KindUpstreamServer, Message: "gemini: malformed embedding response: " + err.Error(), Err: err}
	}
	resp := &llm.EmbeddingResponse{}
	if w.Embedding != nil {
		resp.Vectors = [][]float32{w.Embedding.Values}
	}
	for _, e := range w.Embeddings {
		resp.Vectors = append(resp.Vectors, e.Values)
	}
	if len(resp.Vectors) == 0 {
		return nil, &llm.Error{Kind: llm.KindUpstreamServer, Message: "gemini: embedding response carries no vectors"}
	}
	return resp, nil
}
