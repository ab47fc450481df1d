import { describe, expect, it } from 'vitest';
import { render } from 'svelte/server';
import type { AccessQuestionDto } from '../lib/bindings';
import { circumstances, enqueue, programName, without } from '../lib/access';
import AccessPrompt from './AccessPrompt.svelte';

const question = (over: Partial<AccessQuestionDto> = {}): AccessQuestionDto => ({
  id: 1,
  account: 'gh/alice',
  program: '/usr/bin/git',
  pid: 4242,
  purpose: 'token',
  arrival: 'agent',
  ...over,
});

// Rendered as the server renderer does (the tests run without a DOM): the markup the window gets.
function html(queue: AccessQuestionDto[]): string {
  return render(AccessPrompt, { props: { queue, onanswer: () => {} } }).body;
}

describe('access questions', () => {
  it('show their answers disabled until the question has shown a moment', () => {
    const out = html([question()]);
    expect(out).toContain('data-armed="false"');
    expect(out.match(/<button[^>]*disabled/g)).toHaveLength(4);
  });

  it('queue once each, in order, and leave when answered', () => {
    let queue = enqueue([], question({ id: 1 }));
    queue = enqueue(queue, question({ id: 2 }));
    queue = enqueue(queue, question({ id: 1 }));
    expect(queue.map((q) => q.id)).toEqual([1, 2]);
    expect(without(queue, 1).map((q) => q.id)).toEqual([2]);
    expect(without(queue, 9).map((q) => q.id)).toEqual([1, 2]);
  });

  it('name the program by its file name, and say how the request came', () => {
    expect(programName('/usr/bin/git')).toBe('git');
    expect(programName('serve:box')).toBe('serve:box');
    expect(circumstances(question({ purpose: 'git', arrival: 'forwarded' }))).toBe('(git, via forwarded)');
  });
});

describe('AccessPrompt', () => {
  it('shows nothing with no question', () => {
    expect(html([])).not.toContain('access-prompt');
  });

  it('asks about the first question, with the four answers and how many wait', () => {
    const out = html([question(), question({ id: 2, account: 'gl/bob' })]);
    expect(out).toContain('data-question="1"');
    expect(out).toContain('git');
    expect(out).toContain('git</strong> (pid 4242)');
    expect(out).toContain('gh/alice');
    expect(out).toContain('(token, via agent)');
    expect(out).not.toContain('gl/bob');
    for (const a of ['allow-once', 'allow-for-an-hour', 'always-allow', 'deny']) expect(out).toContain(`data-testid="access-${a}"`);
    expect(out).toContain('1 more question waits');
  });

  it('renders what other programs chose as text, never as markup', () => {
    const out = html([question({ program: '/tmp/<img src=x onerror=alert(1)>', account: 'p/<b>x</b>', pid: null })]);
    expect(out).not.toContain('<img');
    expect(out).not.toContain('<b>x');
    expect(out).toContain('&lt;img src=x onerror=alert(1)>');
    expect(out).not.toContain('(pid');
  });
});
