import { describe, expect, it } from 'vitest';
import { HubError } from '../../src/hub/client.js';
import { parseDirectory } from '../../src/hub/directory.js';

describe('parseDirectory: the operator directory, read tolerantly', () => {
  it('reads both casings, trims names and URLs, and keeps operators with no transfer URL', () => {
    expect(
      parseDirectory([
        {
          _id: 'a1',
          operatorName: '  Operador   Uno ',
          participants: [],
          transferAPIURL: '  https://uno.example.org/api/transferCitizen',
        },
        { OperatorId: 'b2', OperatorName: 'Dos' },
        { _id: 'c3', operatorName: 'Tres', transferAPIURL: '' },
        { _id: 'd4', operatorName: 'Cuatro', transferAPIURL: 'ftp://cuatro.example.org' },
        { _id: 'e5', operatorName: 'Cinco', transferAPIURL: 'not a url' },
      ]),
    ).toEqual({
      operators: [
        {
          operatorId: 'a1',
          name: 'Operador Uno',
          transferUrl: 'https://uno.example.org/api/transferCitizen',
        },
        { operatorId: 'b2', name: 'Dos', transferUrl: null },
        { operatorId: 'c3', name: 'Tres', transferUrl: null },
        { operatorId: 'd4', name: 'Cuatro', transferUrl: null },
        { operatorId: 'e5', name: 'Cinco', transferUrl: null },
      ],
      skipped: 0,
    });
  });

  it('tells operators apart by id: a repeated name is two operators, a repeated id is skipped', () => {
    const { operators, skipped } = parseDirectory([
      { _id: 'a1', operatorName: 'Carpeta' },
      { _id: 'b2', operatorName: 'Carpeta ' },
      { _id: 'a1', operatorName: 'Otra' },
    ]);
    expect(operators.map((o) => o.operatorId)).toEqual(['a1', 'b2']);
    expect(skipped).toBe(1);
  });

  it('skips and counts entries it cannot read, never failing for them', () => {
    const { operators, skipped } = parseDirectory([
      { operatorName: 'no id' },
      { _id: 'x1' },
      { _id: '  ', operatorName: 'blank id' },
      { _id: 'has spaces in it', operatorName: 'bad id' },
      null,
      'a string',
      42,
      { _id: 'ok', operatorName: 'Bien' },
    ]);
    expect(operators).toEqual([{ operatorId: 'ok', name: 'Bien', transferUrl: null }]);
    expect(skipped).toBe(7);
  });

  it('fails only when the answer is not a list', () => {
    expect(parseDirectory({ operators: [{ _id: 'a', operatorName: 'A' }] }).operators).toHaveLength(
      1,
    );
    for (const raw of [null, 'x', { message: 'error' }, 12]) {
      expect(() => parseDirectory(raw)).toThrow(HubError);
    }
  });
});
