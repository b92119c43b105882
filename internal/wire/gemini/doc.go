package gemini

// Translation notes: what this codec reshapes or does not carry.
//
// Client → neutral (DecodeRequest):
//   - The model and streaming flag come from the URL; the body has neither.
//   - systemInstruction becomes a leading RoleSystem message (text parts only).
//   - Roles user/model (and the legacy "function") map to user/assistant. A user
//     turn's functionResponse parts become RoleTool messages; {"output": x} yields x,
//     {"error": x} yields x with IsError, any other response object its JSON.
//   - Gemini history has no call ids: functionCalls without one get "call_<turn>_<part>"
//     and each functionResponse links to the earliest unanswered call of its name
//     (or to its id when the client sent one).
//   - thought parts in history are dropped (only Gemini can use them), and so is a
//     thoughtSignature on a text part; a functionCall part's thoughtSignature becomes
//     the call's Signature, verbatim.
//   - functionDeclarations.parameters (Gemini schema) is translated to JSON Schema
//     (internal/wire/schema.FromGemini); parametersJsonSchema is taken verbatim;
//     response/behavior are dropped.
//   - toolConfig allowedFunctionNames restricts the tools offered; ANY with a single
//     allowed name becomes a forced tool choice; VALIDATED is treated as AUTO.
//   - generationConfig responseMimeType application/json (+ responseSchema or
//     responseJsonSchema) becomes response_format; other MIME types (text/x.enum),
//     topK, thinkingConfig, responseModalities, responseLogprobs, logprobs,
//     speechConfig, mediaResolution and any unknown field go to
//     Extra["generationConfig"]; safetySettings, cachedContent, labels and other
//     unknown top-level fields to Extra. Extra is sent only back to Gemini.
//   - Only camelCase field names are read (what the SDKs send); snake_case aliases
//     that the REST API also accepts are treated as unknown fields.
//   - Rejected with invalid_request: executableCode, codeExecutionResult,
//     videoMetadata and other part kinds; non-image inlineData/fileData (audio,
//     video, PDF); built-in tools (googleSearch, codeExecution, urlContext, …).
//
// Neutral → Gemini (EncodeRequest):
//   - Every system message is hoisted into systemInstruction; consecutive turns of
//     one role are merged; tool results become functionResponse parts in a user
//     turn, named from ToolName or the earlier call with that id (no name:
//     invalid_request). Result text that is a JSON object is sent as is, other
//     JSON as {"output": value}, plain text as {"output": text}, failures as
//     {"error": text}; images in results follow as inlineData parts.
//   - Call ids are not sent (Gemini matches by order and name). A call's Signature
//     (Gemini's own thoughtSignature from an earlier answer, carried to OpenAI and
//     Anthropic clients inside the tool call id, see llm.JoinToolID) is sent back
//     exactly, on its functionCall part. For Gemini 3 models (names starting with
//     "gemini-3"), which refuse a step whose first functionCall is unsigned, that
//     part gets the documented placeholder "skip_thought_signature_validator" when it
//     has no signature of its own (calls from another provider, a client that lost
//     the id); later calls of the step stay unsigned, as Gemini sends them. Real
//     signatures always win, and other models never get the placeholder.
//   - Tool and response schemas are translated by schema.ToGemini (types upper-cased,
//     additionalProperties/strict/$schema dropped, $ref inlined, anyOf kept, X|null
//     as nullable, oneOf as anyOf); what cannot be translated (recursive or external
//     $ref, allOf of several, not, if/then/else, patternProperties, prefixItems,
//     non-string enums, multi-type unions) fails with invalid_request naming the
//     construct and path. Object parameters without properties are omitted.
//   - Not sent: user, metadata, parallel_tool_calls, reasoning_effort, logit_bias and
//     other OpenAI/Anthropic Extra, image detail, cache_control, tool strict.
//   - Image URLs other than data: URLs go as fileData; Gemini only fetches URLs it
//     can reach (its Files API, some public hosts).
//
// Responses and streams:
//   - finishReason STOP with function calls ↔ tool_calls; MAX_TOKENS ↔ length;
//     SAFETY, RECITATION, PROHIBITED_CONTENT, BLOCKLIST, SPII and the IMAGE_ variants →
//     content_filter (encoded back as SAFETY); OTHER, LANGUAGE,
//     MALFORMED_FUNCTION_CALL and the rest → stop. finishMessage, safetyRatings,
//     citationMetadata, groundingMetadata, avgLogprobs, logprobsResult and
//     urlContextMetadata are dropped.
//   - promptFeedback.blockReason with no candidate → content_filter error.
//   - Calls without an id get a stable id hashed from responseId, candidate, position
//     and name; ids are emitted back in functionCall.id when encoding. A
//     functionCall part's thoughtSignature is the call's Signature, read from whole
//     responses and streams and written back on the same part by both encoders; a
//     thoughtSignature on a text or thought part is dropped (Gemini does not require
//     those back).
//   - Usage: InputTokens = promptTokenCount + toolUsePromptTokenCount; cached =
//     cachedContentTokenCount; OutputTokens = candidatesTokenCount + thoughtsTokenCount;
//     ReasoningTokens = thoughtsTokenCount. The modality breakdowns are dropped.
//   - Thought parts stream as EventReasoning and are dropped from whole responses
//     and by the encoder.
//   - Gemini streams have no end marker: the body's end is the end, and
//     StreamDecoder.EndOfStream reports a stream cut before every candidate's
//     finishReason as an error; usage is the last usageMetadata, emitted at the end.
//     The encoder holds a tool call until it is whole
//     (Gemini never splits one) and puts finish reasons and usage in a last chunk.
//   - Mid-stream errors are written as a {"error":{code,message,status}} chunk.
//
// Embeddings: the client side always uses batchEmbedContents; taskType and title
// travel in Extra; Gemini reports no embedding token usage (Usage stays zero).
