import { describe, expect, it } from 'vitest';
import type { HistoryEntryDto } from './bindings';
import { historyHow, historyProgram } from './history';

const entry = (over: Partial<HistoryEntryDto> = {}): HistoryEntryDto => ({
  time: 1_700_000_000,
  account: 'github/me',
  how: 'token',
  via: 'direct',
  from: null,
  pid: 4242,
  exe: '/usr/bin/bash',
  ...over,
});

describe('history', () => {
  it('says how a token was taken, the tray noted for copies in the app', () => {
    expect(historyHow(entry())).toBe('latchkey token');
    expect(historyHow(entry({ how: 'git', via: 'agent' }))).toBe('git credential helper, via the agent');
    expect(historyHow(entry({ how: 'copy', from: 'tray' }))).toBe('copy in the app (tray)');
    expect(historyHow(entry({ how: 'copy', from: 'window' }))).toBe('copy in the app (window)');
    expect(historyHow(entry({ how: 'copy' }))).toBe('copy in the app');
    expect(historyHow(entry({ how: 'future-thing' }))).toBe('future-thing');
  });

  it('names the calling program by its file, with its pid', () => {
    expect(historyProgram(entry())).toEqual({ name: 'bash', path: '/usr/bin/bash', pid: 'pid 4242' });
    expect(historyProgram(entry({ exe: null, pid: null }))).toEqual({ name: 'unknown program', path: null, pid: '' });
    // As the backend sends a line without them: the keys absent.
    const bare: HistoryEntryDto = { time: 1, account: 'github/me', how: 'serve', via: 'serve', from: 'serve:ci' };
    expect(historyProgram(bare)).toEqual({ name: 'unknown program', path: null, pid: '' });
  });
});
