package anthropic

// Translation notes: what this codec reshapes or does not carry.
//
// Client → neutral (DecodeRequest):
//   - system (string or text blocks) becomes one leading RoleSystem message; each
//     block's cache_control is kept on its part.
//   - A user turn's tool_result blocks become RoleTool messages (tool_use_id,
//     is_error, and the tool's name looked up from the earlier tool_use); the turn's
//     other blocks follow as a user message.
//   - tool_use ids and tool_result.tool_use_id are split with llm.SplitToolID: an id
//     Arbiter gave out with a Gemini call's signature folded in yields the short id
//     (what every provider gets) and, on the call, the signature.
//   - tool_choice.disable_parallel_tool_use becomes ParallelToolCalls=false.
//   - metadata.user_id becomes User.
//   - top_k, thinking, service_tier, container, mcp_servers, context_management,
//     output_format and any unknown field go to Extra: sent verbatim when the
//     request goes to Anthropic, dropped for other providers.
//   - thinking and redacted_thinking blocks in assistant history become reasoning
//     parts (llm.PartThinking with its signature, llm.PartRedactedThinking with its
//     data) ahead of the turn's text. EncodeRequest sends them back in their order,
//     before the text and tool_use blocks, exactly as received, as the API requires
//     of the last assistant turn when thinking is enabled; the OpenAI and Gemini
//     encoders drop them (a signature only means something to Anthropic). Thinking
//     that came after a tool_use (interleaved thinking) moves ahead of it. Such
//     blocks in user turns are dropped.
//   - Rejected with invalid_request (400) rather than dropped: document, search_result
//     and container_upload blocks, server tools (web_search_…, bash_…, …), image
//     sources other than base64 and url, citations requested on documents.
//
// Neutral → Anthropic (EncodeRequest):
//   - Every system message, wherever it stands, is hoisted into system, in order.
//   - Tool results are grouped into the next user turn, ahead of its text; turns of
//     the same role are merged so that roles alternate; empty text parts are dropped.
//   - max_tokens defaults to WithDefaultMaxTokens (the gateway passes the catalog's
//     max output) or DefaultMaxTokens.
//   - temperature is clamped to Anthropic's maximum of 1.
//   - response_format json_schema / json_object: the classic API has no native
//     field, so the schema becomes a tool named after it (JSONToolName) and
//     tool_choice forces it (or "any" when the client also offers real tools);
//     DecodeResponse / StreamDecoder with WithJSONTool turn that call back into the
//     answer's JSON text with finish reason stop.
//   - Unsigned reasoning parts (another provider's reasoning) are not sent: Anthropic
//     would refuse a thinking block without a valid signature.
//   - Not sent (no Anthropic equivalent): seed, presence_penalty, frequency_penalty,
//     reasoning_effort, metadata other than the user, image detail, tool strict,
//     Extra from other formats. n > 1 is refused (invalid_request).
//
// Responses and streams:
//   - Only choice 0 is encoded (the format has one).
//   - Upstream thinking and redacted_thinking blocks are decoded, whole and streamed
//     (thinking_delta, signature_delta), into signed reasoning: parts of the
//     response, and EventReasoning events marked Signed.
//   - Signed reasoning is encoded for Anthropic clients as thinking blocks (streamed
//     as thinking_delta then signature_delta) and redacted_thinking blocks, before
//     the text; unsigned reasoning (OpenAI-compatible hosts' reasoning_content,
//     Gemini thoughts) is not emitted, because the client could not send it back.
//   - A signed tool call (Gemini's thoughtSignature) is encoded with the signature
//     folded into its tool_use id (llm.JoinToolID), whole and streamed.
//   - stop_sequence (which sequence matched) is not carried: neutral has no field.
//   - Upstream stop_reason pause_turn maps to stop; model_context_window_exceeded
//     to length; refusal ↔ content_filter.
//   - Usage: input_tokens excludes cache reads and writes; neutral InputTokens
//     includes both, so the codec adds them in and takes them out. server_tool_use
//     and service_tier usage fields are dropped.
//   - citations and citations deltas are dropped.
//   - Mid-stream errors are written as overloaded_error (overload) or api_error.
