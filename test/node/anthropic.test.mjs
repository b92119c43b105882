// The official `@anthropic-ai/sdk` npm package, pointed at a running arbiter, must be
// served by any provider in Anthropic's own wire format.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import Anthropic from '@anthropic-ai/sdk';
import { startArbiter } from './harness.mjs';

let arb;
let client;
before(async () => {
  arb = await startArbiter();
  client = new Anthropic({ baseURL: arb.base, apiKey: 'not-needed-in-the-demo', maxRetries: 0 });
});
after(async () => { await arb?.stop(); });

for (const model of ['claude-3-5-haiku-latest', 'gpt-4o-mini', 'gemini-2.0-flash']) {
  test(`messages.create served by ${model}`, async () => {
    const msg = await client.messages.create({
      model, max_tokens: 256, system: 'Be brief.',
      messages: [{ role: 'user', content: 'Name a river.' }],
    });
    assert.equal(msg.type, 'message');
    assert.equal(msg.role, 'assistant');
    assert.equal(msg.content[0].type, 'text');
    assert.ok(msg.content[0].text.length > 0);
    assert.ok(msg.usage.input_tokens > 0 && msg.usage.output_tokens > 0);
  });

  test(`streamed tool use served by ${model}`, async () => {
    const stream = client.messages.stream({
      model, max_tokens: 256,
      tools: [{ name: 'get_weather', description: 'Weather for a city', input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } }],
      tool_choice: { type: 'any' },
      messages: [{ role: 'user', content: 'Weather in Oslo?' }],
    });
    let jsonDeltas = 0;
    stream.on('inputJson', () => { jsonDeltas++; });
    const msg = await stream.finalMessage();
    const tool = msg.content.find((b) => b.type === 'tool_use');
    assert.ok(tool, 'no tool_use block');
    assert.equal(tool.name, 'get_weather');
    assert.equal(typeof tool.input.city, 'string');
    assert.ok(jsonDeltas >= 1, 'tool input was not streamed');
    assert.equal(msg.stop_reason, 'tool_use');
    assert.ok(msg.usage.output_tokens > 0);
  });
}

test('unknown model is a NotFoundError in Anthropic shape', async () => {
  await assert.rejects(
    client.messages.create({ model: 'no-such-model', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }),
    (err) => {
      assert.ok(err instanceof Anthropic.NotFoundError, `got ${err?.constructor?.name}`);
      assert.equal(err.error?.type, 'error');
      assert.equal(err.error?.error?.type, 'not_found_error');
      return true;
    },
  );
});
