import { closeAction, errorCloseCodes, type ErrorCode } from '@tandem/protocol';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { errorStatus } from '../src/errors.js';

const DOCS = fileURLToPath(new URL('../../../docs/', import.meta.url));
const PACKAGES = fileURLToPath(new URL('../../', import.meta.url));

/** docs/architecture.md's package map: the code block under "## Packages". */
function packageMap(): string {
  const text = readFileSync(`${DOCS}architecture.md`, 'utf8');
  const section = text.slice(text.indexOf('## Packages'));
  return section.slice(section.indexOf('```') + 3, section.indexOf('```', section.indexOf('```') + 3));
}

/** Every source module of the four packages, as `<package>/<path under src>` (tests left out). */
function sourceModules(): string[] {
  return ['protocol', 'server', 'client', 'react'].flatMap((pkg) =>
    readdirSync(`${PACKAGES}${pkg}/src`, { recursive: true, encoding: 'utf8' })
      .filter((f) => /\.tsx?$/.test(f) && !/\.test\.tsx?$/.test(f))
      .map((f) => `${pkg}/${f.replaceAll('\\', '/')}`),
  );
}

/** docs/protocol.md's "Refusals" table: each row's close code and the error codes it names. */
function refusalTable(): { close: number; codes: string[] }[] {
  const text = readFileSync(`${DOCS}protocol.md`, 'utf8');
  const section = text.slice(text.indexOf('## Refusals'), text.indexOf('\n## ', text.indexOf('## Refusals') + 1));
  return section
    .split('\n')
    .filter((line) => /^\|\s*\d{4}\s*\|/.test(line))
    .map((line) => {
      const [, close, codes] = line.split('|');
      return { close: Number(close!.trim()), codes: [...codes!.matchAll(/`([a-z_]+)`/g)].map((m) => m[1]!) };
    });
}

describe('docs', () => {
  it('name every error code of the registry', () => {
    const text = readdirSync(DOCS)
      .filter((f) => f.endsWith('.md'))
      .map((f) => readFileSync(`${DOCS}${f}`, 'utf8'))
      .join('\n');
    const missing = Object.keys(errorCloseCodes).filter((code) => !text.includes(`\`${code}\``));
    expect(missing).toEqual([]);
  });

  it('the refusal table and the protocol’s error contract agree in both directions', () => {
    const rows = refusalTable();
    expect(rows.length).toBeGreaterThan(10);
    const documented = new Map<string, number>();
    for (const { close, codes } of rows) for (const code of codes) documented.set(code, close);
    // Every documented code exists, under the close code the contract gives it…
    const wrong = [...documented].filter(([code, close]) => errorCloseCodes[code as ErrorCode] !== close);
    expect(wrong).toEqual([]);
    // …and every code of the contract is in the table.
    const undocumented = Object.keys(errorCloseCodes).filter((code) => !documented.has(code));
    expect(undocumented).toEqual([]);
    // The server answers every code over HTTP with a status of its own, and no other code.
    expect(Object.keys(errorStatus).sort()).toEqual(Object.keys(errorCloseCodes).sort());
  });

  it('say what a client does for each close code, as closeAction decides it', () => {
    const text = readFileSync(`${DOCS}protocol.md`, 'utf8');
    const lines = [...text.matchAll(/^- `([a-z-]+)`[^:]*: ([\d, ]+)/gm)];
    expect(lines.map((m) => m[1])).toEqual(['stop', 'refresh-token', 'retry-slowly', 'retry-spread', 'retry']);
    const listed = lines.flatMap((m) => m[2]!.split(',').map((code) => [Number(code.trim()), m[1]] as const));
    expect(listed.filter(([code, action]) => closeAction(code) !== action)).toEqual([]);
    // Every close code the contract uses is listed.
    const unlisted = [...new Set(Object.values(errorCloseCodes))].filter((code) => !listed.some(([c]) => c === code));
    expect(unlisted).toEqual([]);
  });

  it('architecture.md names every source module (by file, or by a folder it describes) and no missing one', () => {
    const map = packageMap();
    const named = (token: string) => new RegExp(`(^|[\\s/,(])${token.replaceAll('.', '\\.')}(?=[\\s,):;]|$)`, 'm');
    const modules = sourceModules();
    const unnamed = modules.filter((module) => {
      const path = module.slice(module.indexOf('/') + 1);
      const file = path.split('/').pop()!;
      // A folder the map describes as a whole (`auth/`, `http/`) covers what is under it.
      const folders = path
        .split('/')
        .slice(0, -1)
        .map((_, i, parts) => `${parts.slice(0, i + 1).join('/')}/`);
      const folderLine = folders.some((folder) =>
        new RegExp(`^\\s+${folder.replaceAll('/', '\\/')}\\s`, 'm').test(map),
      );
      return !named(file).test(map) && !folderLine;
    });
    expect(unnamed).toEqual([]);
    const files = new Set(modules.map((m) => m.split('/').pop()!));
    const stale = [...map.matchAll(/[\w-]+\.tsx?\b/g)].map((m) => m[0]).filter((name) => !files.has(name));
    expect(stale).toEqual([]);
  });
});
