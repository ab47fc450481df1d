// Sets `data-theme` on the root element, which app.css keys the dark palette on: the desktop's
// preference as the shell reports it (and its changes), else the page's own
// prefers-color-scheme (WebKitGTK's does not follow the desktop in every setup).
import { appearanceIpc, type Scheme } from './ipc';

export function followAppearance(
  root: HTMLElement = document.documentElement,
  media: MediaQueryList = matchMedia('(prefers-color-scheme: dark)'),
): void {
  let desktop: Scheme | null = null;
  let changed = false;
  const apply = () => {
    root.dataset.theme = desktop ?? (media.matches ? 'dark' : 'light');
  };
  apply();
  media.addEventListener('change', apply);
  void appearanceIpc.onChange((scheme) => {
    changed = true;
    desktop = scheme;
    apply();
  });
  appearanceIpc
    .current()
    .then((scheme) => {
      if (changed) return; // a change already arrived; it is newer
      desktop = scheme;
      apply();
    })
    .catch(() => {});
}
