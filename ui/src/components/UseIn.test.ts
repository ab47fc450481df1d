import { describe, expect, it } from 'vitest';
import { render } from 'svelte/server';
import type { UseInDto } from '../lib/bindings';
import UseIn from './UseIn.svelte';

const useIn = (over: Partial<UseInDto> = {}): UseInDto => ({
  gitUrl: 'https://gitlab.com',
  gitUrlIsPlaceholder: false,
  git: "git config --global --replace-all credential.https://gitlab.com.helper '' && git config --global --add credential.https://gitlab.com.helper '!latchkey git-credential gl/alice'",
  kubeconfig: '- name: gl-alice\n  user:\n    exec:\n      args: [kube-credential, gl/alice]\n',
  envLine: 'GL_TOKEN=latchkey:gl/alice',
  ...over,
});

// Rendered as the server renderer does (the tests run without a DOM): the markup the window gets.
function html(dto: UseInDto): string {
  return render(UseIn, { props: { account: 'gl/alice', useIn: dto, oncopy: () => {}, ongiturl: () => {} } }).body;
}

const escaped = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');

describe('UseIn', () => {
  it('shows the three texts from the backend as they are, each with its copy button', () => {
    const dto = useIn();
    const out = html(dto);
    for (const key of ['git', 'kubeconfig', 'env']) {
      expect(out).toContain(`data-testid="use-in-${key}"`);
      expect(out).toContain(`data-testid="copy-use-in-${key}"`);
    }
    for (const text of [dto.git, dto.kubeconfig, dto.envLine]) expect(out).toContain(escaped(text));
    expect(out).toContain('value="https://gitlab.com"');
    expect(out).not.toContain('git-url-placeholder');
  });

  it('asks for the git server when the provider names none', () => {
    const out = html(useIn({ gitUrl: 'https://git.example.com', gitUrlIsPlaceholder: true }));
    expect(out).toContain('data-testid="git-url-placeholder"');
  });
});
