import type { Case, Target } from './case.ts';
import { authCases } from './families/auth.ts';
import { contentTypeCases } from './families/content-types.ts';
import { desyncCases } from './families/desync.ts';
import { filenameCases } from './families/filenames.ts';
import { framingCases } from './families/framing.ts';
import { headerCases } from './families/headers.ts';
import { jsonCases } from './families/json.ts';
import { keyCases } from './families/keys.ts';
import { multipartCases } from './families/multipart.ts';
import { readCases } from './families/reads.ts';
import { routeCases } from './families/routes.ts';

/** The whole hostile corpus for one Stowage, family by family (see README.md beside this file). */
export function buildCorpus(target: Target, idleTimeoutMs: number): Case[] {
  return [
    ...authCases(target),
    ...multipartCases(target),
    ...filenameCases(target),
    ...keyCases(target),
    ...jsonCases(target),
    ...contentTypeCases(target),
    ...readCases(target),
    ...framingCases(target),
    ...desyncCases(target),
    ...routeCases(target),
    ...headerCases(target, idleTimeoutMs),
  ];
}
