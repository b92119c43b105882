// The official `openai` npm package, pointed at a running arbiter, must work as it
// does against OpenAI: plain, streamed, tools, JSON schema output, errors.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { startArbiter } from './harness.mjs';

let arb;
let client;
before(async () => {
  arb = await startArbiter();
  client = new OpenAI({ baseURL: `${arb.base}/v1`, apiKey: 'not-needed-in-the-demo', maxRetries: 0 });
});
after(async () => { await arb?.stop(); });

test('chat completion, with Arbiter headers', async () => {
  const { data, response } = await client.chat.completions
    .create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Say hello from Node.' }] })
    .withResponse();
  assert.equal(data.object, 'chat.completion');
  assert.ok(data.choices[0].message.content.length > 0);
  assert.equal(data.choices[0].finish_reason, 'stop');
  assert.ok(data.usage.prompt_tokens > 0 && data.usage.completion_tokens > 0);
  assert.equal(response.headers.get('x-arbiter-model'), 'gpt-4o-mini');
  assert.match(response.headers.get('x-arbiter-cost-usd'), /^\d+\.\d+$/);
  assert.ok(response.headers.get('x-arbiter-request-id'));
});

test('streaming with include_usage ends with a usage chunk', async () => {
  const stream = await client.chat.completions.create({
    model: 'claude-3-5-haiku-latest',
    messages: [{ role: 'user', content: 'Stream a short answer about rivers.' }],
    stream: true,
    stream_options: { include_usage: true },
  });
  let text = '';
  let chunks = 0;
  let usage = null;
  for await (const chunk of stream) {
    chunks++;
    if (chunk.choices.length > 0) text += chunk.choices[0].delta.content ?? '';
    if (chunk.usage) usage = chunk.usage;
  }
  assert.ok(chunks > 3, `expected several chunks, got ${chunks}`);
  assert.ok(text.length > 0);
  assert.ok(usage && usage.completion_tokens > 0, 'usage chunk missing');
});

test('tool call round trip', async () => {
  const tools = [{
    type: 'function',
    function: {
      name: 'get_weather',
      description: 'Current weather for a city',
      parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
    },
  }];
  const messages = [{ role: 'user', content: 'What is the weather in Paris?' }];
  const first = await client.chat.completions.create({ model: 'gemini-2.0-flash', messages, tools, tool_choice: 'required' });
  const call = first.choices[0].message.tool_calls?.[0];
  assert.ok(call, 'expected a tool call');
  assert.equal(call.function.name, 'get_weather');
  assert.equal(typeof JSON.parse(call.function.arguments).city, 'string');
  const second = await client.chat.completions.create({
    model: 'gemini-2.0-flash',
    tools,
    messages: [...messages, first.choices[0].message, { role: 'tool', tool_call_id: call.id, content: '{"temp_c": 21}' }],
  });
  assert.ok(second.choices[0].message.content.length > 0);
});

test('JSON schema output parses', async () => {
  const resp = await client.chat.completions.create({
    model: 'gpt-4o-mini',
    messages: [{ role: 'user', content: 'Give me a person.' }],
    response_format: {
      type: 'json_schema',
      json_schema: { name: 'person', strict: true, schema: { type: 'object', properties: { name: { type: 'string' }, age: { type: 'integer' } }, required: ['name', 'age'], additionalProperties: false } },
    },
  });
  const obj = JSON.parse(resp.choices[0].message.content);
  assert.equal(typeof obj.name, 'string');
  assert.ok(Number.isInteger(obj.age));
});

test('unknown model is a 404 NotFoundError in OpenAI shape', async () => {
  await assert.rejects(
    client.chat.completions.create({ model: 'no-such-model', messages: [{ role: 'user', content: 'hi' }] }),
    (err) => {
      assert.ok(err instanceof OpenAI.NotFoundError, `got ${err?.constructor?.name}`);
      assert.equal(err.status, 404);
      assert.equal(err.code, 'model_not_found');
      assert.match(err.message, /no-such-model/);
      return true;
    },
  );
});

test('bad request is a 400 BadRequestError naming the field', async () => {
  await assert.rejects(
    client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 42 }] }),
    (err) => {
      assert.ok(err instanceof OpenAI.BadRequestError, `got ${err?.constructor?.name}`);
      assert.match(err.message, /messages\[0\]\.content/);
      return true;
    },
  );
});

test('models list includes every provider family', async () => {
  const ids = [];
  for await (const m of client.models.list()) ids.push(m.id);
  for (const want of ['gpt-4o-mini', 'claude-3-5-haiku-latest', 'gemini-2.0-flash']) {
    assert.ok(ids.includes(want), `${want} missing from ${ids.length} models`);
  }
});
