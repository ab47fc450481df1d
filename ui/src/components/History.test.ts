import { describe, expect, it } from 'vitest';
import { render } from 'svelte/server';
import type { HistoryEntryDto } from '../lib/bindings';
import History from './History.svelte';

const entry = (over: Partial<HistoryEntryDto> = {}): HistoryEntryDto => ({
  time: 1_700_000_000,
  account: 'github/me',
  how: 'token',
  via: 'agent',
  from: null,
  pid: 7,
  exe: '/usr/bin/kubectl',
  ...over,
});

const html = (entries: HistoryEntryDto[] | null) => render(History, { props: { entries } }).body;

describe('History', () => {
  it('lists the entries in the order given (newest first), with how and the program', () => {
    const out = html([entry({ how: 'copy', via: 'direct', from: 'tray', exe: '/opt/latchkey-desktop' }), entry({ how: 'kube' })]);
    expect(out.match(/data-testid="history-entry"/g)).toHaveLength(2);
    expect(out.indexOf('copy in the app (tray)')).toBeLessThan(out.indexOf('kubectl credential plugin, via the agent'));
    expect(out).toContain('title="/usr/bin/kubectl"');
    expect(out).toContain('pid 7');
    expect(out).toContain('data-from="tray"');
  });

  it('says when nothing was handed out, and when it is still reading', () => {
    expect(html([])).toContain('data-testid="history-empty"');
    expect(html(null)).toContain('Reading the history');
  });
});
