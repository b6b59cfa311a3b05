import { expect, test } from '@jest/globals';
import { a } from '../../../.cache/jt/m.js';
test('json', () => { expect(a).toBe(1); });
