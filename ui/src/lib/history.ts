// The account's history as the details view shows it: how, through what, which program.
import type { HistoryEntryDto } from './bindings';

const HOW: Record<string, string> = {
  token: 'latchkey token',
  refresh: 'latchkey refresh',
  exec: 'latchkey exec',
  git: 'git credential helper',
  kube: 'kubectl credential plugin',
  copy: 'copy in the app',
};

/** "copy in the app (tray)", "git credential helper, via the agent". */
export function historyHow(e: HistoryEntryDto): string {
  const how = HOW[e.how] ?? e.how;
  if (e.how === 'copy') return e.from ? `${how} (${e.from})` : how;
  return e.via === 'agent' ? `${how}, via the agent` : how;
}

/** The calling program: its file name (the full path is the title), and its pid. */
export function historyProgram(e: HistoryEntryDto): { name: string; path: string | null; pid: string } {
  const path = e.exe ?? null;
  const name = path ? path.slice(path.lastIndexOf('/') + 1) || path : 'unknown program';
  return { name, path, pid: e.pid == null ? '' : `pid ${e.pid}` };
}
