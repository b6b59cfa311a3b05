import { describe, expect, test } from '@jest/globals';
import { RowError, parseJsonl, parseRow } from '../../../core/eval/router-eval.js';

describe('router-eval rows', () => {
  test('reads the labelled schema, and plain {id, messages} lines', () => {
    const rows = parseJsonl(
      [
        '{"id":"g1","category":"math","messages":[{"role":"user","content":"2+2?"}],' +
          '"weak":{"model":"w","quality":0,"response":"5"},"strong":{"model":"s","quality":1}}',
        '',
        '{"id":7,"messages":[{"role":"user","content":"hi"}]}',
      ].join('\n'),
    );
    expect(rows).toEqual([
      {
        id: 'g1',
        category: 'math',
        messages: [{ role: 'user', content: '2+2?' }],
        weak: { model: 'w', quality: 0, response: '5' },
        strong: { model: 's', quality: 1 },
      },
      { id: '7', messages: [{ role: 'user', content: 'hi' }] },
    ]);
  });

  test.each([
    ['not json', /line 3: not JSON/],
    ['[1,2]', /line 3: not an object/],
    ['{"id":"x","messages":"hi"}', /line 3: 'messages' must be an array/],
    ['{"id":"x","messages":[{"content":"no role"}]}', /line 3: 'messages' must be an array/],
    ['{"id":"x","messages":[],"weak":{"quality":"high"}}', /line 3: 'weak.quality' must be a number/],
  ])('rejects %s with its line number', (text, message) => {
    expect(() => parseRow(text, 3)).toThrow(RowError);
    expect(() => parseRow(text, 3)).toThrow(message);
  });
});
