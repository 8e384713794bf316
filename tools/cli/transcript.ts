import type { MessageItem } from '../../src/dynamodb/messages.repository.js';
import { parseTimestamp } from '../../src/dynamodb/timestamp.js';

const PREVIEW_CHARS = 40;

/** `2023-03-28 08:43 PM` (UTC) for a stored timestamp; the raw value when it is not one. */
export function formatMessageTime(sk: string): string {
  const micros = parseTimestamp(sk);
  if (micros === undefined) return sk;
  const d = new Date(Math.floor(micros / 1000));
  const hours12 = d.getUTCHours() % 12 || 12;
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(hours12)}:${pad(d.getUTCMinutes())} ${d.getUTCHours() < 12 ? 'AM' : 'PM'}`;
}

/** The first 40 characters on one line, `...` when cut. */
export function previewMessage(text: string): string {
  const chars = Array.from(text.replace(/\s+/g, ' ').trim());
  return chars.length > PREVIEW_CHARS ? `${chars.slice(0, PREVIEW_CHARS).join('')}...` : chars.join('');
}

/** One line per message, `handle  2023-03-28 08:43 PM  first 40 chars...`, handles padded to align. */
export function transcriptLines(messages: readonly MessageItem[]): string[] {
  const width = Math.max(0, ...messages.map((m) => m.user_handle.length));
  return messages.map((m) => `${m.user_handle.padEnd(width)}  ${formatMessageTime(m.created_at)}  ${previewMessage(m.message)}`);
}
