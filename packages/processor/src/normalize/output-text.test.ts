import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_PARSED_PAYLOAD_CHARS, outputFactsOf, outputFactsOfValue } from './output-text.js';

describe('outputFactsOf', () => {
  it('counts only the text of assistant messages in GenAI output messages', () => {
    const messages = [
      {
        role: 'assistant',
        parts: [
          { type: 'text', content: 'abc' },
          { type: 'tool_call', id: 'c1', name: 'get_weather', arguments: { city: 'Paris' } },
          { type: 'tool_call_response', id: 'c1', response: { forecast: 'sunny' } },
          { type: 'text', content: 'de' },
        ],
      },
      { role: 'tool', parts: [{ type: 'text', content: 'ignored' }] },
    ];
    expect(outputFactsOf(messages)).toEqual({ length: 5 });
  });

  it('takes the last assistant message of a LangChain state, with its finish reason', () => {
    const state = {
      messages: [
        {
          lc: 1,
          type: 'constructor',
          id: ['langchain_core', 'messages', 'HumanMessage'],
          kwargs: { content: 'hello?' },
        },
        {
          lc: 1,
          type: 'constructor',
          id: ['langchain_core', 'messages', 'AIMessage'],
          kwargs: { content: 'first', response_metadata: { finish_reason: 'tool_calls' } },
        },
        {
          lc: 1,
          type: 'constructor',
          id: ['langchain_core', 'messages', 'AIMessage'],
          kwargs: { content: [{ type: 'text', text: 'final' }], response_metadata: { finish_reason: 'stop' } },
        },
        { lc: 1, type: 'constructor', id: ['langchain_core', 'messages', 'ToolMessage'], kwargs: { content: 'x' } },
      ],
    };
    expect(outputFactsOf(state)).toEqual({ length: 5, finishReason: 'stop' });
  });

  it('reads Strands content blocks, plain strings and Langfuse message objects', () => {
    expect(outputFactsOf([{ text: 'abc' }, { toolUse: { name: 'x' } }])).toEqual({ length: 3 });
    expect(outputFactsOfValue('plain answer')).toEqual({ length: 12 });
    expect(outputFactsOfValue('{"role":"assistant","content":"abcd"}')).toEqual({ length: 4 });
  });

  it('gives up on unreadable or oversized JSON instead of measuring its syntax', () => {
    expect(outputFactsOfValue('{"messages": [')).toBeUndefined();
    expect(outputFactsOfValue(`"${'x'.repeat(MAX_PARSED_PAYLOAD_CHARS)}"`)).toBeUndefined();
    expect(outputFactsOfValue(42)).toBeUndefined();
  });

  it('never throws on arbitrary payloads', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.json(),
          fc.jsonValue().map((value) => JSON.stringify(value)),
        ),
        (input) => {
          const facts = outputFactsOfValue(input);
          return facts === undefined || facts.length === undefined || facts.length >= 0;
        },
      ),
    );
    fc.assert(
      fc.property(
        fc.anything(),
        (input) => outputFactsOf(input) === undefined || typeof outputFactsOf(input) === 'object',
      ),
    );
  });
});
