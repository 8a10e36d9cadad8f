import { randomBytes } from 'node:crypto';
import type { SeededRandom } from '../support/seeded-random.ts';

/**
 * The soak's traffic: one client that keeps a few objects of its own and, at each step, does one of
 * the things applications do — upload (form or PUT), download (whole or a range), ask for a link and
 * follow it, list, delete — and checks the answer: the status, and the bytes against what it sent.
 * Anything else is recorded as an error. Clients are sequential; the soak runs many side by side.
 */

const KiB = 1024;
const MiB = 1024 * KiB;
/** Bodies are slices of this, so every download can be checked byte for byte without keeping copies. */
const source = randomBytes(8 * MiB);

interface Held {
  key: string;
  /** Where in `source` its bytes come from. */
  offset: number;
  size: number;
  /** PUT under the client's prefix (listable), or a form upload under a generated key. */
  named: boolean;
}

export interface Tally {
  /** Answers per operation. */
  readonly done: Map<string, number>;
  /** Every unexpected answer, as "operation: what happened". */
  readonly errors: string[];
}

export const newTally = (): Tally => ({ done: new Map(), errors: [] });

export const totalDone = (tally: Tally): number => [...tally.done.values()].reduce((a, b) => a + b, 0);

type Operation = 'form' | 'put' | 'get' | 'range' | 'link' | 'list' | 'delete';

const weights: ReadonlyArray<[Operation, number]> = [
  ['form', 2],
  ['put', 2],
  ['get', 2],
  ['range', 1.5],
  ['link', 1],
  ['list', 0.5],
  ['delete', 3],
];
const MAX_HELD = 6;

export class SoakClient {
  readonly #held: Held[] = [];
  #serial = 0;
  readonly base: string;
  readonly id: number;
  readonly random: SeededRandom;
  readonly tally: Tally;

  constructor(base: string, id: number, random: SeededRandom, tally: Tally) {
    this.base = base;
    this.id = id;
    this.random = random;
    this.tally = tally;
  }

  /** One operation, its answer checked. */
  async step(): Promise<void> {
    const operation = this.#choose();
    try {
      const problem = await this.#run(operation);
      if (problem) this.tally.errors.push(`${operation}: ${problem}`);
    } catch (error) {
      this.tally.errors.push(`${operation}: ${String(error)}`);
    }
    this.tally.done.set(operation, (this.tally.done.get(operation) ?? 0) + 1);
  }

  /** Deletes what this client still holds. */
  async clear(): Promise<void> {
    while (this.#held.length > 0) await this.#run('delete');
  }

  #choose(): Operation {
    if (this.#held.length === 0) return this.random.pick(['form', 'put'] as const);
    if (this.#held.length >= MAX_HELD) return 'delete';
    let roll = this.random.next() * weights.reduce((sum, [, weight]) => sum + weight, 0);
    for (const [operation, weight] of weights) {
      roll -= weight;
      if (roll < 0) return operation;
    }
    return 'get';
  }

  /** A size from 2 KiB to 6 MiB, spread evenly on a log scale (a few bodies take several S3 parts). */
  #size(): number {
    return Math.round(2 * KiB * ((6 * MiB) / (2 * KiB)) ** this.random.next());
  }

  #objects = (suffix = '') => `${this.base}/v1/storages/soak/objects${suffix}`;

  /** Returns a description of what went wrong, or undefined when the answer was right. */
  async #run(operation: Operation): Promise<string | undefined> {
    switch (operation) {
      case 'form':
      case 'put':
        return this.#upload(operation === 'put');
      case 'get':
      case 'range':
        return this.#download(this.random.pick(this.#held), operation === 'range');
      case 'link':
        return this.#link(this.random.pick(this.#held));
      case 'list':
        return this.#list();
      case 'delete':
        return this.#delete();
    }
  }

  async #upload(named: boolean): Promise<string | undefined> {
    const size = this.#size();
    const offset = this.random.int(0, source.length - size);
    const body = source.subarray(offset, offset + size);
    let response: Response;
    let key: string;
    if (named) {
      key = `c${this.id}/${this.#serial++}.bin`;
      response = await fetch(this.#objects(`/${key}`), {
        method: 'PUT',
        body,
        headers: { 'content-type': 'application/octet-stream' },
      });
    } else {
      const form = new FormData();
      form.append('file', new Blob([body]), 'soak.bin');
      response = await fetch(this.#objects(), { method: 'POST', body: form });
    }
    const answer = (await response.json()) as {
      key?: string;
      size?: number;
      objects?: Array<{ key: string; size: number }>;
    };
    if (response.status !== 201) return `status ${response.status} ${JSON.stringify(answer)}`;
    const stored = named ? answer : answer.objects?.[0];
    if (stored?.size !== size || !stored.key) return `stored ${JSON.stringify(stored)} for ${size} bytes`;
    this.#held.push({ key: stored.key, offset, size, named });
    return undefined;
  }

  async #download(object: Held, ranged: boolean): Promise<string | undefined> {
    const start = ranged ? this.random.int(0, object.size - 1) : 0;
    const end = ranged ? this.random.int(start, object.size - 1) : object.size - 1;
    const response = await fetch(this.#objects(`/${object.key}`), {
      headers: ranged ? { range: `bytes=${start}-${end}` } : {},
    });
    return sameBytes(response, ranged ? 206 : 200, object.offset + start, object.offset + end + 1);
  }

  async #link(object: Held): Promise<string | undefined> {
    const response = await fetch(`${this.base}/v1/storages/soak/urls`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ key: object.key, expiresIn: 300 }),
    });
    const link = (await response.json()) as { url?: string };
    if (response.status !== 200 || !link.url) return `status ${response.status} ${JSON.stringify(link)}`;
    return sameBytes(await fetch(link.url), 200, object.offset, object.offset + object.size);
  }

  async #list(): Promise<string | undefined> {
    const prefix = `c${this.id}/`;
    const response = await fetch(`${this.#objects()}?prefix=${encodeURIComponent(prefix)}`);
    const page = (await response.json()) as { objects?: Array<{ key: string }> };
    if (response.status !== 200) return `status ${response.status} ${JSON.stringify(page)}`;
    const listed = (page.objects ?? []).map((object) => object.key).sort();
    const expected = this.#held
      .filter((held) => held.named)
      .map((held) => held.key)
      .sort();
    return listed.join() === expected.join() ? undefined : `listed [${listed}], holds [${expected}]`;
  }

  async #delete(): Promise<string | undefined> {
    const [object] = this.#held.splice(this.random.int(0, this.#held.length - 1), 1);
    if (!object) return undefined;
    const response = await fetch(this.#objects(`/${object.key}`), { method: 'DELETE' });
    await response.arrayBuffer();
    return response.status === 204 ? undefined : `status ${response.status}`;
  }
}

async function sameBytes(response: Response, status: number, from: number, to: number) {
  const body = Buffer.from(await response.arrayBuffer());
  if (response.status !== status) return `status ${response.status} ${body.subarray(0, 200).toString()}`;
  return body.equals(source.subarray(from, to))
    ? undefined
    : `${body.length} bytes, not the ${to - from} sent`;
}
