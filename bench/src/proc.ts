import { readdirSync, readFileSync } from 'node:fs';

// Linux reports CPU times in clock ticks; 100 per second on every mainstream kernel config.
const TICKS_PER_SECOND = 100;

interface ProcStat {
  pid: number;
  ppid: number;
  userTicks: number;
  systemTicks: number;
  rssKb: number;
}

function readStat(pid: number): ProcStat | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may contain spaces; fields start after its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const rss = /VmRSS:\s+(\d+)/.exec(status);
    return {
      pid,
      ppid: Number(fields[1]),
      userTicks: Number(fields[11]),
      systemTicks: Number(fields[12]),
      rssKb: rss ? Number(rss[1]) : 0,
    };
  } catch {
    return null;
  }
}

/** CPU seconds (user + system, and each) and RSS of a process and all its descendants (worker processes count too). */
export function processTree(root: number): {
  cpuSeconds: number;
  userSeconds: number;
  systemSeconds: number;
  rssBytes: number;
} {
  const all = readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map((d) => readStat(Number(d)))
    .filter((s): s is ProcStat => s !== null);
  const children = new Map<number, ProcStat[]>();
  for (const s of all) children.set(s.ppid, [...(children.get(s.ppid) ?? []), s]);
  const rootStat = all.find((s) => s.pid === root);
  if (!rootStat) return { cpuSeconds: 0, userSeconds: 0, systemSeconds: 0, rssBytes: 0 };
  let user = 0;
  let system = 0;
  let rss = 0;
  const stack = [rootStat];
  while (stack.length > 0) {
    const s = stack.pop()!;
    user += s.userTicks;
    system += s.systemTicks;
    rss += s.rssKb * 1024;
    stack.push(...(children.get(s.pid) ?? []));
  }
  return {
    cpuSeconds: (user + system) / TICKS_PER_SECOND,
    userSeconds: user / TICKS_PER_SECOND,
    systemSeconds: system / TICKS_PER_SECOND,
    rssBytes: rss,
  };
}

/** CPU seconds of every process whose command name is one of `names` (the local database services). */
export function processesNamed(names: readonly string[]): number {
  let ticks = 0;
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      if (!names.includes(comm)) continue;
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // the process ended meanwhile
    }
  }
  return ticks / TICKS_PER_SECOND;
}

/** Established TCP connections whose server side is this local port (from /proc/net/tcp and tcp6). */
export function connectionsTo(port: number): number {
  let count = 0;
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let table: string;
    try {
      table = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of table.split('\n').slice(1)) {
      const [, local, , state] = line.trim().split(/\s+/);
      // State 01 is ESTABLISHED; the local address ends in the port, in hex.
      if (state === '01' && local && parseInt(local.slice(local.lastIndexOf(':') + 1), 16) === port) count++;
    }
  }
  return count;
}
