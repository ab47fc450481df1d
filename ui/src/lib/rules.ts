// An account's access rules as its details view shows them, kept out of the component so
// Vitest can check the wording. The order is the backend's (the door's); nothing is re-sorted.
import type { AccessRuleDto, DecisionDto } from './bindings';
import { programName } from './access';
import { formatDuration } from './view';

export const DECISION_LABEL: Record<DecisionDto, string> = {
  allow: 'Allow',
  ask: 'Ask',
  deny: 'Deny',
};

/** Whom the rule covers: the account alone, its whole profile, or every account. */
export function ruleScope(r: AccessRuleDto): string {
  switch (r.scope) {
    case 'account':
      return 'this account';
    case 'profile':
      return `every account of ${r.target}`;
    case 'everyone':
      return 'every account';
  }
}

/** The program by its file name (the full path as the title); no program: any program. */
export function ruleProgram(r: AccessRuleDto): { name: string; path: string | null } {
  if (r.program === null) return { name: 'any program', path: null };
  return { name: programName(r.program), path: r.program };
}

/** Expired by the backend's word, or since (the list stays open while the clock runs). */
export function isExpired(r: AccessRuleDto, now: number): boolean {
  return r.expired || (r.expiresAt !== null && r.expiresAt <= now);
}

/** "never", "in 59 min 10 s", "expired 3 min 02 s ago" (the date goes in the title). */
export function ruleExpiry(r: AccessRuleDto, now: number): string {
  if (r.expiresAt === null) return 'never';
  if (isExpired(r, now)) return `expired ${formatDuration(now - r.expiresAt)} ago`;
  return `in ${formatDuration(r.expiresAt - now)}`;
}
