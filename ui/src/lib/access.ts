// The access prompt's queue and wording, kept out of the component so Vitest can check them.
// The program and the account come from other programs: they are shown as text, never as HTML.
import type { AccessAnswerDto, AccessQuestionDto } from './bindings';

/** Adds `q` at the end of the queue, once (the same question may be sent again). */
export function enqueue(queue: AccessQuestionDto[], q: AccessQuestionDto): AccessQuestionDto[] {
  return queue.some((x) => x.id === q.id) ? queue : [...queue, q];
}

/** The queue without question `id` (answered, or no longer waiting). */
export function without(queue: AccessQuestionDto[], id: number): AccessQuestionDto[] {
  return queue.filter((x) => x.id !== id);
}

/** The program's file name: the last part of its path (`serve:NAME` stays as it is). */
export function programName(program: string): string {
  const name = program.split('/').pop();
  return name ? name : program;
}

/** The sentence's tail: "(git, via agent)". */
export function circumstances(q: AccessQuestionDto): string {
  return `(${q.purpose}, via ${q.arrival})`;
}

/**
 * How long a question shows before its buttons take a click: a program that makes the window
 * pop up under the pointer must not get the user's click, meant for something else, as an answer.
 */
export const ARM_AFTER_MS = 700;

/** The four answers, in the order the buttons show them. */
export const ANSWERS: { answer: AccessAnswerDto; label: string }[] = [
  { answer: 'allow-once', label: 'Allow once' },
  { answer: 'allow-for-an-hour', label: 'Allow for 1 hour' },
  { answer: 'always-allow', label: 'Always allow' },
  { answer: 'deny', label: 'Deny' },
];
