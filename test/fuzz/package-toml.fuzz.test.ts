/** Seed-fixed fuzzing of package.toml parsing (test/fuzz/targets/package-toml.ts). */
import { test } from 'node:test';
import { fuzzSlice } from './harness.ts';
import { packageTomlTarget } from './targets/package-toml.ts';

test('parsePackageToml and resolveSources: every text is a package or a clear BAD_PACKAGE', () => fuzzSlice(packageTomlTarget, 1000));
