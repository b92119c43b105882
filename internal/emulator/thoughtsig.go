package emulator

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"

	"github.com/arbiterhq/arbiter/internal/llm"
	"github.com/arbiterhq/arbiter/internal/wire/gemini"
)

// Thought signatures, as the Gemini route plays Gemini 3. For a model whose name
// starts with "gemini-3", the first functionCall part of each answer carries a
// thoughtSignature: an HMAC of the call's name and arguments under a fixed emulator
// key. History is checked as Gemini 3 checks it: the first functionCall of every model
// turn must carry a signature the emulator issued for that call, or the documented
// placeholder "skip_thought_signature_validator"; otherwise the request is a 400
// INVALID_ARGUMENT. Earlier models neither sign nor check.

// thoughtSigKey signs the emulator's function calls. Fixed and public: the signature
// proves a call came back with the signature it was given, not who wrote it.
var thoughtSigKey = []byte("arbiter-emulator-thought-signature-v1")

// thoughtSigDocs is where Gemini's error about missing signatures sends the reader.
const thoughtSigDocs = "https://ai.google.dev/gemini-api/docs/thought-signatures"

// SignFunctionCall returns the thoughtSignature the emulator gives a call. Arguments
// are canonicalised (keys sorted, numbers verbatim), so re-serialising them on the
// way back does not invalidate the signature.
func SignFunctionCall(name, args string) string {
	m := hmac.New(sha256.New, thoughtSigKey)
	m.Write([]byte(name))
	m.Write([]byte{0})
	m.Write(canonicalArgs(args))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// VerifyFunctionCall reports whether sig is the emulator's signature of the call.
func VerifyFunctionCall(name, args, sig string) bool {
	return hmac.Equal([]byte(sig), []byte(SignFunctionCall(name, args)))
}

func canonicalArgs(args string) []byte {
	d := json.NewDecoder(bytes.NewReader([]byte(args)))
	d.UseNumber()
	var v any
	if d.Decode(&v) != nil {
		return []byte(args)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return []byte(args)
	}
	return b
}

// signFunctionCalls signs the first function call of each choice, for Gemini 3
// models: Gemini signs only the first of parallel calls.
func signFunctionCalls(req *llm.Request, resp *llm.Response) {
	if !gemini.RequiresThoughtSignatures(req.Model) {
		return
	}
	for i := range resp.Choices {
		if calls := resp.Choices[i].Message.ToolCalls; len(calls) > 0 {
			calls[0].Signature = SignFunctionCall(calls[0].Name, calls[0].Arguments)
		}
	}
}

// checkThoughtSignatures validates a generateContent body's history as Gemini 3
// does. It reads the body itself, so what it checks is what the client sent, and the
// positions in its messages are the client's.
func checkThoughtSignatures(body []byte, req *llm.Request) *llm.Error {
	if !gemini.RequiresThoughtSignatures(req.Model) {
		return nil
	}
	var w struct {
		Contents []struct {
			Role  string `json:"role"`
			Parts []struct {
				FunctionCall *struct {
					Name string          `json:"name"`
					Args json.RawMessage `json:"args"`
				} `json:"functionCall"`
				ThoughtSignature string `json:"thoughtSignature"`
			} `json:"parts"`
		} `json:"contents"`
	}
	if json.Unmarshal(body, &w) != nil {
		return nil // the codec accepted it; nothing more to check here
	}
	for i, c := range w.Contents {
		if c.Role != "model" {
			continue
		}
		for _, p := range c.Parts {
			fc := p.FunctionCall
			if fc == nil {
				continue
			}
			args := "{}"
			if len(fc.Args) > 0 {
				args = string(fc.Args)
			}
			switch sig := p.ThoughtSignature; {
			case sig == gemini.ForeignThoughtSignature, sig != "" && VerifyFunctionCall(fc.Name, args, sig):
			case sig == "":
				// Gemini's wording, with the content's position in the request.
				return invalidf("Function call is missing a thought_signature in functionCall parts. "+
					"This is required for tools to work correctly, and missing thought_signature may lead to "+
					"degraded model performance. Additional data, function call `%s` , position %d. "+
					"Please refer to %s for more details.", fc.Name, i+1, thoughtSigDocs)
			default:
				return invalidf("Thought signature is not valid: function call `%s` , position %d. "+
					"Please refer to %s for more details.", fc.Name, i+1, thoughtSigDocs)
			}
			break // only the first call of a step is signed
		}
	}
	return nil
}

// errToolCallIDTooLong is OpenAI's 400 for a tool call id over 40 characters.
func errToolCallIDTooLong(param string, n int) *llm.Error {
	return &llm.Error{Kind: llm.KindInvalidRequest, Param: param, Code: "string_above_max_length",
		Message: fmt.Sprintf("Invalid '%s': string too long. Expected a string with maximum length %d, but got a string with length %d instead.",
			param, maxToolCallIDLen, n)}
}

// maxToolCallIDLen is the longest tool call id Chat Completions accepts.
const maxToolCallIDLen = 40

// checkToolCallIDs validates a Chat Completions body as OpenAI does for tool call
// ids: at most 40 characters, on assistant tool_calls and on tool messages. It reads
// the body itself: the neutral form may hold other ids than the client sent.
func checkToolCallIDs(body []byte, _ *llm.Request) *llm.Error {
	var w struct {
		Messages []struct {
			ToolCalls []struct {
				ID string `json:"id"`
			} `json:"tool_calls"`
			ToolCallID string `json:"tool_call_id"`
		} `json:"messages"`
	}
	if json.Unmarshal(body, &w) != nil {
		return nil
	}
	for i, m := range w.Messages {
		for j, tc := range m.ToolCalls {
			if n := len([]rune(tc.ID)); n > maxToolCallIDLen {
				return errToolCallIDTooLong(fmt.Sprintf("messages[%d].tool_calls[%d].id", i, j), n)
			}
		}
		if n := len([]rune(m.ToolCallID)); n > maxToolCallIDLen {
			return errToolCallIDTooLong(fmt.Sprintf("messages[%d].tool_call_id", i), n)
		}
	}
	return nil
}
