import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { expandTemplate, versionForms } from '../../../protocol/tree/template.ts';

describe('versionForms', () => {
  it('derives every form of a dotted version', () => {
    assert.deepEqual(versionForms('1.2.3'), {
      version: '1.2.3',
      version_major: '1',
      version_major_minor: '1.2',
      version_dash: '1-2-3',
      version_under: '1_2_3',
      version_strip_suffix: '1.2.3',
    });
  });
  for (const [version, stripped] of [['1.7.0-rc.1', '1.7.0'], ['6.04-pre1', '6.04'], ['3.0.11-1', '3.0.11'], ['20240808-3.1', '20240808'], ['1-2-3', '1-2']]) {
    it(`strips the last dash suffix: ${version} -> ${stripped}`, () => {
      assert.equal(versionForms(version!).version_strip_suffix, stripped);
    });
  }
  it('keeps a version without a dot whole for major_minor', () => {
    assert.equal(versionForms('20240808').version_major_minor, '20240808');
    assert.equal(versionForms('20240808').version_major, '20240808');
  });
});

describe('expandTemplate', () => {
  it('replaces every occurrence of each placeholder', () => {
    assert.deepEqual(expandTemplate('{a}-{b}/{a}', { a: 'x', b: 'y' }), { text: 'x-y/x' });
  });
  it('leaves text without placeholders as it is', () => {
    assert.deepEqual(expandTemplate('https://example.org/a{b', {}), { text: 'https://example.org/a{b' });
  });
  it('names the first placeholder without a value, known or not', () => {
    assert.deepEqual(expandTemplate('{a}{version}{nope}', { a: 'x', version: undefined }), { missing: 'version' });
    assert.deepEqual(expandTemplate('{toString}', {}), { missing: 'toString' });
  });
});
