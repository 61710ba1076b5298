import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

/** Debian's Chromium: `.ci/run` installs it; no browser is downloaded at install time. */
export const CHROMIUM = '/usr/bin/chromium';
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/**
 * Whether a browser suite must be skipped: in CI a missing browser is a failure (the suite runs and
 * `launchChromium` says why); on a laptop without Chromium the suite says so loudly and skips.
 */
export function skipWithoutChromium(suite: string): boolean {
  if (existsSync(CHROMIUM) || process.env.CI === 'true') return false;
  // eslint-disable-next-line no-console -- a skipped browser suite must be impossible to miss
  console.warn(`\n!!! SKIPPING ${suite}: ${CHROMIUM} not found (apt-get install chromium)\n`);
  return true;
}

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: .ci/run installs it (apt-get install chromium)`);
  return chromium.launch({ executablePath: CHROMIUM, args: FLAGS, headless: true });
}
