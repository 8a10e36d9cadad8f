import type { Page } from 'playwright-core';

/**
 * Reading and driving the demo page (demo/page.js) from a test: what it recorded in
 * `window.demo.events`, and the files it makes in the page. Page code is passed as strings: it runs
 * in the browser, where `demo` is a global.
 */

export interface Receipt {
  storage: string;
  key: string;
  size: number;
  contentType: string;
  originalName?: string;
  /** The signed upload receipt (GET /v1/receipts/keys verifies it). */
  receipt?: string;
}

/** One entry of `window.demo.events`: `type` says which fields it has (demo/page.js `record`). */
export interface DemoEvent {
  type: string;
  client?: 'uppy' | 's3' | 'form' | 'tus' | 'page';
  method?: string;
  url?: string;
  offset?: number;
  /** `sign` events: the UploadPart being signed. */
  partNumber?: number;
  status?: number;
  code?: string;
  name?: string;
  sent?: number;
  object?: Receipt;
  link?: string;
  uploadUrl?: string;
}

export const events = (page: Page) => page.evaluate('demo.events') as Promise<DemoEvent[]>;

/** Waits until the page has recorded an event matching `predicate` (JavaScript over `e`); returns it. */
export async function eventWhere(page: Page, predicate: string): Promise<DemoEvent> {
  await page.waitForFunction(`demo.events.some((e) => ${predicate})`, undefined, { polling: 50 });
  return (await page.evaluate(`demo.events.find((e) => ${predicate})`)) as DemoEvent;
}

/** Makes a file in the page (`demo.makeFile`) as `window.file`; answers its SHA-256. */
export const makeFile = (
  page: Page,
  spec: { name: string; type: string; size: number; head?: string; seed?: number },
) =>
  page.evaluate(
    `(async () => { window.file = demo.makeFile(${JSON.stringify(spec)}); return demo.digest(window.file); })()`,
  ) as Promise<string>;
